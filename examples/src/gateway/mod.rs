//! The guide's API gateway: an HTTP front (axum) for the order service, forwarding each
//! call through the typed [`OrderServiceClient`].
//!
//! | route | order-service request | answer |
//! |---|---|---|
//! | `POST /orders` with a `createOrder` body | `createOrder` | 201, the order, `Location: /orders/{id}` |
//! | `GET /orders/{id}` | `getOrderById` | 200, the order |
//! | `PUT /orders/{id}/status` with `{"status", "trackingInfo"?}` | `updateOrderStatus` | 200, the order |
//! | `POST /orders/{id}/cancel` with `{"reason"?}` or no body | `cancelOrder` | 200, the order |
//! | `POST /login` with `{"username", "password"}` | `$login` | 200, `{"token", "actor", "expiresAt"}` |
//! | `POST /logout` with `Authorization: Bearer <token>` | `$logout` | 204 |
//!
//! When the order service asks for a login ([`GatewayOptions::logged_in_as`]), the gateway
//! logs in to it with its own service account, which may only read: `GET /orders/{id}`
//! without a token is answered on the gateway's behalf. The routes that change orders need
//! the caller's own login: without `Authorization: Bearer <token>` they answer 401
//! `UNAUTHENTICATED`, with one the order service checks the caller's token and permissions.
//! `POST /login` and `POST /logout` go through a link of their own, so a caller's login
//! never replaces the gateway's. Without a login (the default), `/login` and `/logout` are
//! 404 and every route is forwarded as it comes.
//!
//! - Each request is sent with a message context built from the HTTP request
//!   ([`message_context`]): `Authorization: Bearer <token>` goes into `auth.token`, and the
//!   metadata carries `requestId` (the request's `x-request-id`, or a fresh one),
//!   `ipAddress` and `userAgent`. Every answer carries `x-request-id`.
//! - Every error answers `{"error": {"code", "message", "details"}}` ([`ApiError`]): a
//!   contract error with the status of the contract's error map, a runtime failure with a
//!   gateway status (see [`ApiError::from_call`]), a body that is not JSON, not declared
//!   JSON or of the wrong shape with 400 or 415 and a message that says what was wrong.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use examples::gateway::{self, GatewayOptions};
//!
//! let services = examples::start_all("gateway-doc").await?;
//! let gateway = gateway::start(GatewayOptions::new("127.0.0.1:0", services.orders.address())).await?;
//! println!("try: curl {}/orders/order-1", gateway.url());
//! gateway.stop().await;
//! services.stop().await;
//! # Ok(()) }
//! ```

mod body;
mod context;
mod error;
mod routes;

use core::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use contracts::order::OrderServiceClient;
use messaging_runtime::auth::AuthError;
use messaging_runtime::{CallError, Client, TransportError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use context::{bearer_token, message_context, REQUEST_ID_HEADER, SOURCE, TARGET};
pub use error::{gateway_codes, ApiError};

use crate::auth::{ServiceAccount, StayLoggedIn};
use crate::dashboard::{http_authority, shown};

/// How long a call to the order service may take unless [`GatewayOptions::timeout`] says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`RunningGateway::stop`] waits for open connections before closing them.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Where the gateway listens and which order service it fronts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOptions {
    /// `HOST:PORT` (port 0 picks a free one); an `http://` prefix and a trailing `/` are
    /// accepted.
    pub listen: String,
    /// The order service, e.g. `memory://gateway-orders` or `ws://127.0.0.1:40001/`.
    pub orders: String,
    /// How long a call to the order service may take before the gateway answers 504.
    pub timeout: Duration,
    /// The account the gateway logs in to the order service with; `None` for an order
    /// service that asks for no login.
    pub account: Option<ServiceAccount>,
}

impl GatewayOptions {
    /// Listens on `listen`, fronts the order service at `orders`, with [`DEFAULT_TIMEOUT`]
    /// and no login.
    pub fn new(listen: impl Into<String>, orders: impl Into<String>) -> Self {
        Self {
            listen: listen.into(),
            orders: orders.into(),
            timeout: DEFAULT_TIMEOUT,
            account: None,
        }
    }

    /// Logs in to the order service as `account` (e.g. [`crate::auth::GATEWAY`]), and asks
    /// callers that change orders for a login of their own.
    #[must_use]
    pub fn logged_in_as(mut self, account: ServiceAccount) -> Self {
        self.account = Some(account);
        self
    }
}

/// Starting the gateway failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum GatewayStartError {
    /// The HTTP address could not be bound.
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
    /// The order service refused the gateway's login.
    Login {
        /// The order service's address.
        address: String,
        /// The account.
        account: &'static str,
        /// Why.
        source: CallError<AuthError>,
    },
}

impl fmt::Display for GatewayStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Listen { address, source } => write!(f, "cannot listen on `{address}`: {source}"),
            Self::OrderService { address, source } => {
                write!(f, "cannot reach the order service at `{address}`: {source}")
            }
            Self::Login { address, account, source } => write!(
                f,
                "cannot log in to the order service at `{address}` as `{account}`: {source}"
            ),
        }
    }
}

impl std::error::Error for GatewayStartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Listen { source, .. } => Some(source),
            Self::OrderService { source, .. } => Some(source),
            Self::Login { source, .. } => Some(source),
        }
    }
}

/// A running gateway. Dropping it stops serving at once; [`RunningGateway::stop`] lets
/// requests in flight finish first.
#[derive(Debug)]
pub struct RunningGateway {
    address: SocketAddr,
    url: String,
    orders: OrderServiceClient,
    /// The link `POST /login` goes through, and the gateway's own login.
    logins: Option<(Client, StayLoggedIn)>,
    http: JoinHandle<()>,
    http_stop: Option<oneshot::Sender<()>>,
}

impl RunningGateway {
    /// The address really bound (with the port picked when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL, `http://HOST:PORT` with no trailing slash (a wildcard bind shows as
    /// loopback).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting connections, waits (briefly) for requests in flight, and closes the
    /// connection to the order service.
    pub async fn stop(mut self) {
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for open connections; a client's idle keep-alive
        // connection must not hold the stop up for long.
        if tokio::time::timeout(STOP_GRACE, &mut self.http).await.is_err() {
            self.http.abort();
        }
        self.orders.inner().close();
        if let Some((logins, _)) = self.logins.take() {
            logins.close();
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        self.http.abort();
    }
}

/// Starts the gateway: binds the HTTP address, connects to the order service (as
/// source `api-gateway`) and serves the routes.
pub async fn start(options: GatewayOptions) -> Result<RunningGateway, GatewayStartError> {
    let listen_error =
        |source| GatewayStartError::Listen { address: options.listen.clone(), source };
    let listener =
        TcpListener::bind(http_authority(&options.listen)).await.map_err(listen_error)?;
    let address = listener.local_addr().map_err(listen_error)?;

    let client = crate::dependency_link(SOURCE, crate::ORDER_CONTRACT)
        .timeout(options.timeout)
        .connect(&options.orders)
        .await
        .map_err(|source| GatewayStartError::OrderService {
            address: options.orders.clone(),
            source,
        })?;
    let logins = match options.account {
        Some(account) => Some(log_in(&client, account, &options).await?),
        None => None,
    };
    let orders = OrderServiceClient::from_client(client);

    let gateway = routes::Gateway {
        orders: orders.clone(),
        timeout: options.timeout,
        logins: logins.as_ref().map(|(link, _)| link.clone()),
    };
    let app = routes::router(gateway).into_make_service_with_connect_info::<SocketAddr>();
    let (http_stop, stopped) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let serving = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serving.await {
            eprintln!("api-gateway: serving HTTP failed: {e}");
        }
    });

    Ok(RunningGateway {
        address,
        url: format!("http://{}", shown(address)),
        orders,
        logins,
        http,
        http_stop: Some(http_stop),
    })
}

/// Logs `client` in as `account` (again after each reconnection) and opens the link the
/// callers' logins go through.
async fn log_in(
    client: &Client,
    account: ServiceAccount,
    options: &GatewayOptions,
) -> Result<(Client, StayLoggedIn), GatewayStartError> {
    let address = || options.orders.clone();
    let (login, _) =
        StayLoggedIn::start(client, account.credentials()).await.map_err(|source| {
            GatewayStartError::Login { address: address(), account: account.username, source }
        })?;
    let logins = crate::dependency_link(SOURCE, crate::ORDER_CONTRACT)
        .timeout(options.timeout)
        .connect(&options.orders)
        .await
        .map_err(|source| GatewayStartError::OrderService { address: address(), source })?;
    Ok((logins, login))
}
