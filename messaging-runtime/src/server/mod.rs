//! The server: bind an address, serve contracts, start, publish events, stop.

mod authenticate;
mod connection;
pub(crate) mod context;
mod dispatch;
mod driver;
mod gate;
mod layers;
mod pipeline;
pub(crate) mod registry;
pub(crate) mod router;
mod running;
mod throttle;
mod woken;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::contract::Event;
use crate::error::TransportError;
use crate::middleware::{EventEnvelope, RequestEnvelope};
use crate::transport::{check_scheme, transport_for, Listener, Transport};

pub use context::Context;
pub use throttle::LoginThrottle;

/// A request passing a server's pipeline, after the caller was authenticated.
pub type ServerRequest = RequestEnvelope<Context>;
/// An event a client emitted, passing a server's pipeline.
pub type ServerEvent = EventEnvelope<Context>;
pub use registry::{Broadcaster, ClientId, ClientInfo};
pub use router::Service;
pub use running::RunningServer;
// What only generated code uses: reachable for it, out of the documentation.
#[doc(hidden)]
pub use router::{BoxFuture, Router};

/// A server that is bound but not yet started: add contracts and event handlers, then
/// [`Server::start`].
///
/// # Examples
///
/// ```
/// # use messaging_runtime::prelude::*;
/// # #[request("echo", response = String)]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echo { pub text: String }
/// # #[event]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echoed { pub text: String }
/// # #[error_code]
/// # #[derive(Debug, Clone, PartialEq)]
/// # pub enum EchoError {
/// #     #[error(status = 400, message = "nothing to echo")]
/// #     Empty,
/// # }
/// # #[contract(name = "echo", version = "1.0.0", error = EchoError, events(Echoed))]
/// # pub trait Echoer {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError>;
/// # }
/// # struct Parrot;
/// # impl Echoer for Parrot {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError> {
/// #         if req.text.is_empty() {
/// #             return Err(EchoError::empty());
/// #         }
/// #         cx.events::<EchoerEvents>().echoed(Echoed { text: req.text.clone() });
/// #         Ok(req.text)
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Server::bind("memory://doc-server")
///     .await?
///     .serve(EchoerServer::new(Parrot))
///     .max_in_flight(64)
///     .start()
///     .await?;
/// let client = EchoerClient::connect(running.address()).await?;
/// assert_eq!(client.echo(Echo { text: "hi".into() }).await?, "hi");
/// running.stop().await;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: Box<dyn Listener>,
    router: Router,
    registry: Arc<registry::Registry>,
    layers: pipeline::Layers,
    gate: gate::Gate,
    limits: Limits,
}

/// How long [`RunningServer::stop`] lets requests in flight finish by default: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How many clients a server serves at once by default: 10 000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// How many requests of one connection may wait for their answer at once by default: 1024.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// How many metadata keys an incoming message context may carry by default: 64.
pub const DEFAULT_MAX_CONTEXT_KEYS: usize = 64;
/// How many bytes of metadata (keys and JSON values) an incoming context may carry by
/// default: 16 KiB.
pub const DEFAULT_MAX_CONTEXT_BYTES: usize = 16 * 1024;
/// How many events may wait to be sent to one client by default: 1024.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024;

/// The server's limits (the queue limit lives in the registry, which broadcasters share).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) shutdown_grace: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("address", &self.listener.local_addr()).finish()
    }
}

/// Starting a server failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeError {
    /// Two served contracts answer the same request type.
    DuplicateRequestType(&'static str),
    /// A limit is set to a value the server cannot work with.
    InvalidLimit {
        /// The limit, as the builder names it (e.g. `max_in_flight`).
        limit: &'static str,
        /// What was wrong, and what is accepted.
        reason: String,
    },
    /// The transport could not announce the served contracts (over `nats://`: a subject the
    /// broker refused, or a name that cannot be part of a subject).
    Transport(TransportError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateRequestType(name) => write!(
                f,
                "request type `{name}` is served by two contracts; each wire name may be served once"
            ),
            Self::InvalidLimit { limit, reason } => {
                write!(f, "invalid server limit `{limit}`: {reason}")
            }
            Self::Transport(e) => write!(f, "the transport could not announce the server: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl Server {
    /// Every limit must let at least one client, request and event through.
    fn check_limits(&self) -> Result<(), ServeError> {
        let counts = [
            ("max_connections", self.limits.max_connections),
            ("max_in_flight", self.limits.max_in_flight),
            ("outbound_queue", self.registry.queue_limit()),
        ];
        match counts.into_iter().find(|(_, value)| *value == 0) {
            Some((limit, _)) => Err(ServeError::InvalidLimit {
                limit,
                reason: "must be at least 1, found 0".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

impl Server {
    /// Binds `address` (`memory://name`, or any registered scheme).
    pub async fn bind(address: &str) -> Result<Self, TransportError> {
        let listener = transport_for(address)?.bind(address).await?;
        Ok(Self::on(listener))
    }

    /// Binds `address` with `transport` and its options, for this server only (rather than
    /// the transport registered for the scheme): for example
    /// `Server::bind_with(WsTransport::new().allowed_origins([page]), "ws://0.0.0.0:8080/app")`.
    ///
    /// # Errors
    /// An address whose scheme is not the transport's, then whatever the transport says.
    pub async fn bind_with(
        transport: impl Transport,
        address: &str,
    ) -> Result<Self, TransportError> {
        check_scheme(&transport, address)?;
        Ok(Self::on(transport.bind(address).await?))
    }

    fn on(listener: Box<dyn Listener>) -> Self {
        let registry = Arc::new(registry::Registry::with_fanout(listener.fanout()));
        Self {
            listener,
            router: Router::default(),
            registry,
            layers: pipeline::Layers::default(),
            gate: gate::Gate::default(),
            limits: Limits::default(),
        }
    }

    /// How long [`RunningServer::stop`] lets requests in flight finish before it closes
    /// their connections anyway (their callers then see `Disconnected`). Default
    /// [`DEFAULT_SHUTDOWN_GRACE`], 5 s.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.limits.shutdown_grace = grace;
        self
    }

    /// How many clients the server serves at once. One more is refused: over `ws://` its
    /// connection is closed right after the handshake with close code 1013 ("try again
    /// later") and a reason; over `memory://` `connect` fails with
    /// [`TransportError::Refused`]. Clients already connected are not affected. Default
    /// [`DEFAULT_MAX_CONNECTIONS`], 10 000.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// How many requests of one connection may wait for their answer at once. One more is
    /// answered `OVERLOADED` (503) at once, without reaching its handler; the connection
    /// stays up. Requests answered without waiting do not count. Default
    /// [`DEFAULT_MAX_IN_FLIGHT`], 1024.
    #[must_use]
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.limits.max_in_flight = requests;
        self
    }

    /// How many events may wait to be sent to one client. A client that does not take its
    /// events (a slow consumer) and lets its queue fill is disconnected with a reason (over
    /// `ws://`, close code 1008 and "slow consumer: ..."), and the publisher moves on: other
    /// clients are not slowed. Default [`DEFAULT_OUTBOUND_QUEUE`], 1024 events.
    ///
    /// The limit applies where the transport reports what it has sent on: `ws://`,
    /// `memory://` (whose client takes events only as fast as its subscribers do, see
    /// [`crate::client::ClientBuilder::event_buffer`]), or any transport that uses
    /// [`crate::transport::event_queue`].
    ///
    /// The largest message a `ws://` peer may send is the transport's own limit:
    /// [`crate::transport::ws::WsTransport::max_message_size`], 1 MiB by default; a larger
    /// one closes that connection with 1009.
    #[must_use]
    pub fn outbound_queue(self, events: usize) -> Self {
        self.registry.set_queue_limit(events);
        self
    }

    /// Serves a contract: `server.serve(OrderServiceServer::new(orders))`.
    #[must_use]
    pub fn serve<S: Service>(mut self, service: S) -> Self {
        self.router.add_contract(service.descriptor());
        service.register(&mut self.router);
        self
    }

    /// Handles events of type `E` that clients emit.
    #[must_use]
    pub fn on_event<E, F, Fut>(mut self, handler: F) -> Self
    where
        E: Event,
        F: Fn(E, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.router.event(handler);
        self
    }

    /// Publishes events to this server's clients; usable before [`Server::start`], so the
    /// service being served can hold one.
    pub fn broadcaster(&self) -> Broadcaster {
        Broadcaster::new(Arc::clone(&self.registry))
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> String {
        self.listener.local_addr()
    }

    /// Starts accepting clients.
    pub async fn start(self) -> Result<RunningServer, ServeError> {
        if let Some(name) = self.router.duplicates().first() {
            return Err(ServeError::DuplicateRequestType(name));
        }
        self.check_limits()?;
        let address = self.listener.local_addr();
        let contracts = self.router.contracts().iter().map(|c| c.name).collect::<Vec<_>>();
        let broadcaster = self.broadcaster();
        let mut listener = self.listener;
        let reserved: &[&'static str] = if self.gate.provider.is_some() {
            &[crate::contract::handshake::HANDSHAKE, crate::auth::LOGIN, crate::auth::LOGOUT]
        } else {
            &[crate::contract::handshake::HANDSHAKE]
        };
        let served =
            self.router.contracts().iter().map(|c| served(c, reserved)).collect::<Vec<_>>();
        listener.announce(&served).await.map_err(ServeError::Transport)?;
        tracing::info!(%address, ?contracts, "server started");
        let router = Arc::new(self.router);
        let pipelines = Arc::new(self.layers.build(&router, self.gate));
        let (shutdown, stopping) = watch::channel(false);
        let acceptor = tokio::spawn(connection::accept_loop(
            listener,
            router,
            pipelines,
            Arc::clone(&self.registry),
            self.limits,
            stopping,
        ));
        Ok(RunningServer {
            address,
            broadcaster,
            registry: self.registry,
            acceptor: Some(acceptor),
            shutdown,
        })
    }
}

/// What a transport needs to know of a served contract.
/// The reserved requests the server answers itself (`$handshake`, `$login`, ...) are listed
/// with the contract's own, after them.
fn served(
    descriptor: &'static crate::contract::ContractDescriptor,
    reserved: &[&'static str],
) -> crate::transport::ServedContract {
    crate::transport::ServedContract {
        name: descriptor.name.to_owned(),
        version: descriptor.version.to_owned(),
        hash: crate::contract::snapshot::descriptor_hash(descriptor),
        requests: descriptor
            .requests
            .iter()
            .map(|r| r.name)
            .chain(reserved.iter().copied())
            .map(str::to_owned)
            .collect(),
        events: descriptor.events.iter().map(|e| e.name.to_owned()).collect(),
    }
}
