//! The guide's real-time dashboard: a server that is a client of the order service and
//! serves browsers.
//!
//! - It subscribes to `orderCreated`, `orderStatusChanged` and `orderShipped`, fetches each
//!   order it hears of with `getOrderById`, and keeps its own view of them.
//! - It serves the [dashboard contract](contracts::dashboard) over WebSocket
//!   (`ws://HOST:PORT/dashboard`): `getRecentOrders`, `getOrderById` and
//!   `getDashboardStats` are answered from that view, and each order event is forwarded to
//!   every browser once applied, followed by `statsUpdated`. Only its own page may open
//!   that WebSocket from a browser (`allowed_origins`): a page of any other site is refused
//!   with 403, so it cannot read the orders through the user's browser.
//! - It serves a page over HTTP (`examples/dashboard/`: HTML and plain JavaScript, no build
//!   step) whose script speaks the wire protocol with the browser's `WebSocket`.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use examples::dashboard::{self, DashboardOptions};
//!
//! let services = examples::start_all("dashboard-doc").await?;
//! let options = DashboardOptions::new("127.0.0.1:0", services.orders.address());
//! let dashboard = dashboard::start(options).await?;
//! println!("open {}", dashboard.page_url());
//! dashboard.stop().await;
//! services.stop().await;
//! # Ok(()) }
//! ```

mod http;
mod service;
pub mod simulator;
mod view;

use core::fmt;
use std::io;
use std::net::SocketAddr;

use contracts::dashboard::{DashboardServiceEvents, DashboardServiceServer, DashboardStats};
use messaging_runtime::auth::AuthError;
use messaging_runtime::transport::ws::WsTransport;
use messaging_runtime::{CallError, RunningServer, ServeError, Server, TransportError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use service::SOURCE;

use crate::auth::ServiceAccount;
pub use simulator::Simulator;

use service::{Follower, Handlers, SharedBook, Subscribed};

/// The path the dashboard's WebSocket server is announced under.
pub const WS_PATH: &str = "/dashboard";

/// Where the dashboard listens and which order service it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardOptions {
    /// The page's HTTP address, `HOST:PORT` (port 0 picks a free one); an `http://` prefix
    /// and a trailing `/` are accepted.
    pub listen: String,
    /// The WebSocket server's address; `None` means `ws://HOST:0/dashboard` on the page's
    /// host, with a free port.
    pub ws: Option<String>,
    /// The order service to follow, e.g. `memory://dashboard-orders` or `ws://…`.
    pub orders: String,
    /// The account the dashboard logs in to the order service with (it looks each order up
    /// with `getOrderById`, which needs `orders:read`); `None` for an order service that
    /// asks for no login.
    pub account: Option<ServiceAccount>,
}

impl DashboardOptions {
    /// The page on `listen`, the WebSocket server on a free port of the same host,
    /// following the order service at `orders` without logging in.
    pub fn new(listen: impl Into<String>, orders: impl Into<String>) -> Self {
        Self { listen: listen.into(), ws: None, orders: orders.into(), account: None }
    }

    /// Logs in to the order service as `account` (e.g. [`crate::auth::DASHBOARD`]), again
    /// after each reconnection.
    #[must_use]
    pub fn logged_in_as(mut self, account: ServiceAccount) -> Self {
        self.account = Some(account);
        self
    }
}

/// Starting the dashboard failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DashboardStartError {
    /// The page's HTTP address could not be bound.
    Listen {
        /// The address asked for.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The order service could not be reached.
    OrderService {
        /// Its address.
        address: String,
        /// Why.
        source: TransportError,
    },
    /// The order service refused the dashboard's login.
    Login {
        /// The order service's address.
        address: String,
        /// The account.
        account: &'static str,
        /// Why.
        source: CallError<AuthError>,
    },
    /// The WebSocket server could not be bound.
    WebSocket(TransportError),
    /// The WebSocket server refused to start.
    Serve(ServeError),
}

impl fmt::Display for DashboardStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Listen { address, source } => {
                write!(f, "cannot serve the page on `{address}`: {source}")
            }
            Self::OrderService { address, source } => {
                write!(f, "cannot reach the order service at `{address}`: {source}")
            }
            Self::Login { address, account, source } => write!(
                f,
                "cannot log in to the order service at `{address}` as `{account}`: {source}"
            ),
            Self::WebSocket(e) => write!(f, "cannot start the dashboard's WebSocket server: {e}"),
            Self::Serve(e) => write!(f, "cannot start the dashboard's WebSocket server: {e}"),
        }
    }
}

impl std::error::Error for DashboardStartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Listen { source, .. } => Some(source),
            Self::OrderService { source, .. } | Self::WebSocket(source) => Some(source),
            Self::Login { source, .. } => Some(source),
            Self::Serve(e) => Some(e),
        }
    }
}

/// A running dashboard. Dropping it stops it, as does [`RunningDashboard::stop`].
#[derive(Debug)]
pub struct RunningDashboard {
    page_url: String,
    server: Option<RunningServer>,
    book: SharedBook,
    follower: JoinHandle<()>,
    http: JoinHandle<()>,
    http_stop: Option<oneshot::Sender<()>>,
}

impl RunningDashboard {
    /// The page to open: `http://HOST:PORT/` with the port really bound.
    pub fn page_url(&self) -> &str {
        &self.page_url
    }

    /// The WebSocket address the page (or any client of the dashboard contract) uses.
    pub fn ws_address(&self) -> &str {
        self.server.as_ref().map_or("", RunningServer::address)
    }

    /// The figures now, as `getDashboardStats` would answer.
    pub fn stats(&self) -> DashboardStats {
        self.book.lock().stats()
    }

    /// How many browsers (or other clients) are connected to the WebSocket server.
    pub fn connected_clients(&self) -> usize {
        self.server.as_ref().map_or(0, |s| s.clients().len())
    }

    /// Stops following the order service, closes every browser connection and stops
    /// serving the page.
    pub async fn stop(mut self) {
        self.follower.abort();
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for open page requests; a browser's keep-alive
        // connection must not hold the stop up for long.
        let http = &mut self.http;
        if tokio::time::timeout(std::time::Duration::from_secs(2), http).await.is_err() {
            self.http.abort();
        }
    }
}

impl Drop for RunningDashboard {
    fn drop(&mut self) {
        self.follower.abort();
        self.http.abort();
    }
}

/// Starts the dashboard: connects to the order service, starts the WebSocket server and
/// serves the page.
pub async fn start(options: DashboardOptions) -> Result<RunningDashboard, DashboardStartError> {
    let listen = http_authority(&options.listen);
    let listener = TcpListener::bind(listen).await.map_err(|source| {
        DashboardStartError::Listen { address: options.listen.clone(), source }
    })?;
    let local = listener.local_addr().map_err(|source| DashboardStartError::Listen {
        address: options.listen.clone(),
        source,
    })?;

    let orders = Follower::connect(&options.orders, options.account).await?;

    let ws = options
        .ws
        .clone()
        .unwrap_or_else(|| format!("ws://{}{WS_PATH}", SocketAddr::new(local.ip(), 0)));
    let server = if ws.starts_with("ws://") {
        let page = WsTransport::new().allowed_origins(page_origins(shown(local)));
        Server::bind_with(page, &ws).await
    } else {
        Server::bind(&ws).await
    };
    let server = server.map_err(DashboardStartError::WebSocket)?;
    let book = SharedBook::default();
    let events = DashboardServiceEvents::new(server.broadcaster());
    let server = server
        .serve(DashboardServiceServer::new(Handlers { book: book.clone() }))
        .start()
        .await
        .map_err(DashboardStartError::Serve)?;

    let subscribed = Subscribed::to(&orders);
    let follower = Follower {
        address: options.orders.clone(),
        account: options.account,
        book: book.clone(),
        events,
    };
    let follower = tokio::spawn(follower.run(orders, subscribed));

    let router = http::router(&http::PageConfig { ws_address: server.address().to_owned() });
    let (http_stop, stopped) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serving.await {
            eprintln!("dashboard: serving the page failed: {e}");
        }
    });

    Ok(RunningDashboard {
        page_url: format!("http://{}/", shown(local)),
        server: Some(server),
        book,
        follower,
        http,
        http_stop: Some(http_stop),
    })
}

/// The origins of the dashboard's own page, whose script may open the WebSocket (the server
/// refuses other browser pages with 403): the page as announced, and by `localhost` when it
/// is served on loopback.
pub(crate) fn page_origins(page: SocketAddr) -> Vec<String> {
    let mut origins = vec![format!("http://{page}")];
    if page.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", page.port()));
    }
    origins
}

/// `HOST:PORT` out of `HOST:PORT`, `http://HOST:PORT` or `http://HOST:PORT/`.
pub(crate) fn http_authority(listen: &str) -> &str {
    let rest = listen.strip_prefix("http://").unwrap_or(listen);
    rest.strip_suffix('/').unwrap_or(rest)
}

/// The address to print for a browser: a wildcard bind is reachable on loopback.
pub(crate) fn shown(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
        }
        ip if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), local.port())
        }
        _ => local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_take_an_optional_scheme_and_slash() {
        assert_eq!(http_authority("127.0.0.1:0"), "127.0.0.1:0");
        assert_eq!(http_authority("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(http_authority("localhost:8080/"), "localhost:8080");
    }

    #[test]
    fn wildcard_binds_are_shown_on_loopback() {
        let shown = |addr: &str| shown(addr.parse().expect("a socket address")).to_string();
        assert_eq!(shown("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(shown("[::]:8080"), "[::1]:8080");
        assert_eq!(shown("10.1.2.3:8080"), "10.1.2.3:8080");
    }
}
