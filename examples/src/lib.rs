//! Services shared by the examples, the integration tests and the benchmarks: the guide's
//! product, order and notification services, and helpers that start them.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use contracts::order::{GetOrderById, OrderServiceClient};
//!
//! let services = examples::start_all("demo").await?;
//! let orders = OrderServiceClient::connect(services.orders.address()).await?;
//! let missing = orders.get_order_by_id(GetOrderById { order_id: "order-0".into() }).await;
//! assert!(missing.is_err());
//! services.stop().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod cli;
pub mod dashboard;
pub mod gateway;
pub mod notification_service;
pub mod order_service;
pub mod pipeline;
pub mod product_service;
pub mod reactive;

use core::fmt;

use contracts::order::{OrderServiceEvents, OrderServiceServer};
use contracts::product::{ProductServiceClient, ProductServiceEvents, ProductServiceServer};
use messaging_runtime::{Client, RunningServer, ServeError, Server, TransportError};

pub use notification_service::{Notification, NotificationKind, NotificationService};
pub use order_service::Orders;
pub use product_service::{seed_products, Catalog};

/// The `source` the order service's product client puts in its messages.
pub const ORDER_SERVICE_SOURCE: &str = "order-service";

/// Starting a service failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the server's address, or connecting to a service it depends on, failed.
    Transport(TransportError),
    /// The server refused to start.
    Serve(ServeError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "cannot start service: {e}"),
            Self::Serve(e) => write!(f, "cannot start service: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            Self::Serve(e) => Some(e),
        }
    }
}

impl From<TransportError> for StartError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

impl From<ServeError> for StartError {
    fn from(e: ServeError) -> Self {
        Self::Serve(e)
    }
}

/// Starts the product service, with the seeded catalogue, at `address`.
pub async fn start_product_service(address: &str) -> Result<RunningServer, StartError> {
    let server = Server::bind(address).await?;
    let catalog = Catalog::seeded(ProductServiceEvents::new(server.broadcaster()));
    Ok(server.serve(ProductServiceServer::new(catalog)).start().await?)
}

/// How a service reaches a service it depends on: under its own name (`source`), and
/// reconnecting for as long as it runs (after 50 ms at first, then at most every 2 s), so a
/// dependency that restarts is used again within seconds. Meanwhile its calls fail at once
/// with `Disconnected`, which the caller turns into an error that names the dependency.
pub fn dependency_link(source: &str) -> messaging_runtime::client::ClientBuilder {
    let backoff = messaging_runtime::client::Backoff {
        initial_delay: std::time::Duration::from_millis(50),
        factor: 2.0,
        max_delay: std::time::Duration::from_secs(2),
        max_attempts: None,
    };
    Client::builder().source(source).reconnect(backoff)
}

/// Starts the order service at `address`, using the product service at `products_address`.
pub async fn start_order_service(
    address: &str,
    products_address: &str,
) -> Result<RunningServer, StartError> {
    let products = dependency_link(ORDER_SERVICE_SOURCE).connect(products_address).await?;
    let server = Server::bind(address).await?;
    let orders = Orders::new(
        ProductServiceClient::from_client(products),
        OrderServiceEvents::new(server.broadcaster()),
    );
    Ok(server.serve(OrderServiceServer::new(orders)).start().await?)
}

/// The product and order services, running.
#[derive(Debug)]
pub struct Services {
    /// The product service.
    pub products: RunningServer,
    /// The order service.
    pub orders: RunningServer,
}

impl Services {
    /// Stops the order service, then the product service.
    pub async fn stop(self) {
        self.orders.stop().await;
        self.products.stop().await;
    }
}

/// Starts the product service at `memory://{prefix}-products` and the order service at
/// `memory://{prefix}-orders`. The memory hub is process-wide, so each concurrent instance
/// (each test) needs its own prefix.
pub async fn start_all(prefix: &str) -> Result<Services, StartError> {
    let products = start_product_service(&format!("memory://{prefix}-products")).await?;
    let orders =
        start_order_service(&format!("memory://{prefix}-orders"), products.address()).await?;
    Ok(Services { products, orders })
}
