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
pub mod clock;
pub mod dashboard;
pub mod gateway;
pub mod notification_service;
pub mod order_service;
pub mod pipeline;
pub mod product_service;
pub mod reactive;
pub mod signed_tokens;

use core::fmt;

use auth::{DemoAuth, StayLoggedIn};
use contracts::order::{OrderServiceEvents, OrderServiceServer};
use contracts::product::{ProductServiceClient, ProductServiceEvents, ProductServiceServer};
use messaging_runtime::auth::AuthError;
use messaging_runtime::{CallError, Client, RunningServer, ServeError, Server, TransportError};

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
    /// Logging in to a service it depends on failed (as `account`).
    Login {
        /// The service account.
        account: &'static str,
        /// The service logged in to.
        address: String,
        /// Why.
        error: CallError<AuthError>,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "cannot start service: {e}"),
            Self::Serve(e) => write!(f, "cannot start service: {e}"),
            Self::Login { account, address, error } => {
                write!(
                    f,
                    "cannot start service: logging in as `{account}` to {address} failed: {error}"
                )
            }
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            Self::Serve(e) => Some(e),
            Self::Login { error, .. } => Some(error),
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

/// Starts the product service, with the seeded catalogue, at `address`; anyone may reserve
/// and release stock (see [`start_product_service_with`] for the secured one).
pub async fn start_product_service(address: &str) -> Result<RunningServer, StartError> {
    start_product_service_with(address, None).await
}

/// Starts the product service at `address`; with `auth`, reserving and releasing stock
/// need a login with `products:write` (the `order-service` account has it).
pub async fn start_product_service_with(
    address: &str,
    auth: Option<&DemoAuth>,
) -> Result<RunningServer, StartError> {
    let server = secured(Server::bind(address).await?, auth);
    let catalog = Catalog::seeded(ProductServiceEvents::new(server.broadcaster()));
    Ok(server.serve(ProductServiceServer::new(catalog)).start().await?)
}

/// `server`, secured by `auth` when given.
fn secured(server: Server, auth: Option<&DemoAuth>) -> Server {
    match auth {
        Some(auth) => auth.secure(server),
        None => server,
    }
}

/// The order service's contract name (`order-service`).
pub const ORDER_CONTRACT: &str =
    <contracts::order::OrderServiceContract as messaging_runtime::contract::Contract>::DESCRIPTOR
        .name;
/// The product service's contract name (`product-service`).
pub const PRODUCT_CONTRACT: &str =
    <contracts::product::ProductServiceContract as messaging_runtime::contract::Contract>::DESCRIPTOR
        .name;

/// How a service reaches a service it depends on, one of contract `contract` (which a
/// `nats://` address needs to pick the subjects): under its own name (`source`), and
/// reconnecting for as long as it runs (after 50 ms at first, then at most every 2 s), so a
/// dependency that restarts is used again within seconds. Meanwhile its calls fail at once
/// with `Disconnected`, which the caller turns into an error that names the dependency.
pub fn dependency_link(source: &str, contract: &str) -> messaging_runtime::client::ClientBuilder {
    let backoff = messaging_runtime::client::Backoff {
        initial_delay: std::time::Duration::from_millis(50),
        factor: 2.0,
        max_delay: std::time::Duration::from_secs(2),
        max_attempts: None,
    };
    Client::builder().source(source).contract(contract).reconnect(backoff)
}

/// Starts the order service at `address`, using the product service at `products_address`;
/// no request needs a login (see [`start_order_service_with`] for the secured one).
pub async fn start_order_service(
    address: &str,
    products_address: &str,
) -> Result<RunningServer, StartError> {
    start_order_service_with(address, products_address, None).await
}

/// Starts the order service at `address`, using the product service at `products_address`.
/// With `auth`, every order request needs a login (`orders:read` to look one up,
/// `orders:write` for the rest), and the service logs in to the product service as
/// [`auth::ORDER_SERVICE`] (again after each reconnection): it reserves stock on its own
/// behalf, never with its caller's token.
pub async fn start_order_service_with(
    address: &str,
    products_address: &str,
    auth: Option<&DemoAuth>,
) -> Result<RunningServer, StartError> {
    start_order_replica(address, products_address, auth, None).await
}

/// [`start_order_service_with`], as replica `replica` of the service when given: its order
/// ids start with the replica's name, so that replicas behind one `nats://` address (each
/// with its own in-memory store) never hand out the same id.
pub async fn start_order_replica(
    address: &str,
    products_address: &str,
    auth: Option<&DemoAuth>,
    replica: Option<&str>,
) -> Result<RunningServer, StartError> {
    let products =
        dependency_link(ORDER_SERVICE_SOURCE, PRODUCT_CONTRACT).connect(products_address).await?;
    let login = match auth {
        Some(_) => Some(log_in(&products, auth::ORDER_SERVICE).await?),
        None => None,
    };
    let server = secured(Server::bind(address).await?, auth);
    let orders = Orders::new(
        ProductServiceClient::from_client(products),
        OrderServiceEvents::new(server.broadcaster()),
    )
    .staying_logged_in(login);
    let orders = match replica {
        Some(replica) => orders.replica(replica),
        None => orders,
    };
    Ok(server.serve(OrderServiceServer::new(orders)).start().await?)
}

/// Logs `link` in as `account`, and again after each reconnection.
pub async fn log_in(
    link: &Client,
    account: auth::ServiceAccount,
) -> Result<StayLoggedIn, StartError> {
    match StayLoggedIn::start(link, account.credentials()).await {
        Ok((login, _session)) => Ok(login),
        Err(error) => Err(StartError::Login {
            account: account.username,
            address: link.address().to_owned(),
            error,
        }),
    }
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
/// `memory://{prefix}-orders`, neither asking for a login. The memory hub is process-wide,
/// so each concurrent instance (each test) needs its own prefix.
pub async fn start_all(prefix: &str) -> Result<Services, StartError> {
    start_all_with(prefix, None).await
}

/// [`start_all`], both services secured by `auth` when given (one provider: a login on one
/// verifies on the other).
pub async fn start_all_with(prefix: &str, auth: Option<&DemoAuth>) -> Result<Services, StartError> {
    let products = start_product_service_with(&format!("memory://{prefix}-products"), auth).await?;
    let orders =
        start_order_service_with(&format!("memory://{prefix}-orders"), products.address(), auth)
            .await?;
    Ok(Services { products, orders })
}
