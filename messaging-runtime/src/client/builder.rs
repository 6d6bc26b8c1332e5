//! The client's options, and connecting with them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tower::util::BoxCloneService;
use tower::{Layer, Service as TowerService};

use super::deadlines::Deadlines;
use super::dispatch::{dispatch_events, Connection};
use super::reconnect::Redial;
use super::status::StatusCell;
use super::subscription::Subscriptions;
use super::{pipeline, Backoff, Client, ConnectionStatus, Inner};
use super::{DEFAULT_EVENT_BUFFER, DEFAULT_TIMEOUT};
use crate::context::MessageContext;
use crate::error::TransportError;
use crate::middleware::{BoxError, ClientEvent, ClientRequest, EventService, RequestService};
use crate::payload::Payload;
use crate::transport::{check_scheme, transport_for, Transport};

/// How a client behaves; build with [`Client::builder`].
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
/// use std::time::Duration;
/// use messaging_runtime::Backoff;
/// # let _running = Server::bind("memory://doc-builder").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = Client::builder()
///     .timeout(Duration::from_secs(2)) // each call's default
///     .source("billing") // the `source` of every message it sends
///     .reconnect(Backoff { max_attempts: Some(5), ..Backoff::default() })
///     .wait_for_connection(true) // calls made while reconnecting wait instead of failing
///     .connect("memory://doc-builder")
///     .await?;
/// assert_eq!(client.default_timeout(), Duration::from_secs(2));
/// let client = EchoerClient::from_client(client);
/// assert_eq!(client.echo(Echo { text: "hi".into() }).await?, "hi");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    source: Option<String>,
    layers: pipeline::ClientLayers,
    validate: bool,
    reconnect: Option<Backoff>,
    wait_for_connection: bool,
    event_buffer: usize,
    transport: Option<OwnTransport>,
    contract: Option<String>,
}

/// A transport given to one client.
#[derive(Clone)]
struct OwnTransport(Arc<dyn Transport>);

impl std::fmt::Debug for OwnTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://", self.0.scheme())
    }
}

impl ClientBuilder {
    /// The default options.
    pub(super) fn new() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            source: None,
            layers: pipeline::ClientLayers::default(),
            validate: true,
            reconnect: None,
            wait_for_connection: false,
            event_buffer: DEFAULT_EVENT_BUFFER,
            transport: None,
            contract: None,
        }
    }

    /// Connects (and reconnects) with `transport` and its options, for this client only,
    /// rather than the transport registered for the address's scheme: for example
    /// `.transport(WsTransport::new().heartbeat(Duration::from_secs(5)))`, or a
    /// `wss://` transport that trusts a private CA. The address must have its scheme.
    #[must_use]
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(OwnTransport(Arc::new(transport)));
        self
    }

    /// Runs every outgoing request through `layer` (any [`tower::Layer`], or
    /// [`crate::middleware::from_fn`]); layers run in registration order, the first one
    /// registered seeing the request first. The call's deadline covers the whole pipeline.
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<RequestService<MessageContext>> + Send + Sync + 'static,
        L::Service: TowerService<ClientRequest, Response = Payload, Error = BoxError>
            + Clone
            + Send
            + 'static,
        <L::Service as TowerService<ClientRequest>>::Future: Send + 'static,
    {
        self.layers.requests.push(Arc::new(move |inner| BoxCloneService::new(layer.layer(inner))));
        self
    }

    /// Runs every incoming event through `layer` before it reaches subscribers, in arrival
    /// order; a layer that does not call on drops the event.
    #[must_use]
    pub fn event_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<EventService<MessageContext>> + Send + Sync + 'static,
        L::Service:
            TowerService<ClientEvent, Response = (), Error = BoxError> + Clone + Send + 'static,
        <L::Service as TowerService<ClientEvent>>::Future: Send + 'static,
    {
        self.layers.events.push(Arc::new(move |inner| BoxCloneService::new(layer.layer(inner))));
        self
    }

    /// How long a request waits for its response unless the call overrides it (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `source` put in the context of every request and event this client sends
    /// unless the call supplies its own context.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Whether requests are checked against the contract's validation rules before they are
    /// sent (default `true`: bad input fails fast with `CallError::Validation`, no round
    /// trip). The server checks them either way.
    #[must_use]
    pub fn validate(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// Reconnects automatically after the connection is lost, waiting as `backoff` says
    /// (off unless set). Meanwhile the status is `reconnecting` and requests fail at once
    /// with `CallError::Disconnected` (unless they wait, see
    /// [`ClientBuilder::wait_for_connection`]); afterwards every subscription carries on.
    /// When the attempts are used up the status becomes `error`.
    #[must_use]
    pub fn reconnect(mut self, backoff: Backoff) -> Self {
        self.reconnect = Some(backoff);
        self
    }

    /// Whether a request made while the client is reconnecting waits for the connection to
    /// come back, up to the request's own deadline, instead of failing at once with
    /// `CallError::Disconnected` (default `false`; one call can opt in with
    /// [`Call::wait_for_connection`](super::Call::wait_for_connection)). A request that waits still fails with `Disconnected`
    /// when its deadline passes first, or when the client gives up reconnecting or is closed.
    #[must_use]
    pub fn wait_for_connection(mut self, wait: bool) -> Self {
        self.wait_for_connection = wait;
        self
    }

    /// How many events may wait for each subscriber ([`EventStream`](super::EventStream) or [`Client::on`]) to
    /// take them (default [`DEFAULT_EVENT_BUFFER`], 1024; 0 is taken as 1). While one
    /// subscriber's buffer is full the client delivers no further event to anyone, and the
    /// events wait in the connection's queue instead: nothing grows without bound and nothing
    /// is dropped. A client that stays that far behind lets that queue fill too, and is then
    /// disconnected as a slow consumer (see [`crate::Server::outbound_queue`]); a
    /// reconnecting client reconnects.
    #[must_use]
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events;
        self
    }

    /// The contract this client calls, by name (`order-service`). Transports that route by
    /// contract rather than by address need it: over `nats://` the contract name is part of
    /// every subject. Generated clients (`{Trait}Client::connect`) set it themselves; an
    /// untyped client over `memory://`, `ws://` or `tcp://` does not need it.
    #[must_use]
    pub fn contract(mut self, name: impl Into<String>) -> Self {
        self.contract = Some(name.into());
        self
    }

    /// Connects to a server at `address`.
    ///
    /// # Errors
    /// An option the client cannot work with ([`TransportError::InvalidOption`]: a zero
    /// timeout, or a backoff that would not back off), then whatever the transport says.
    pub async fn connect(self, address: &str) -> Result<Client, TransportError> {
        self.check()?;
        let status = Arc::new(StatusCell::new(ConnectionStatus::Connecting));
        let own = self.transport.map(|own| own.0);
        let transport = match &own {
            Some(transport) => {
                check_scheme(transport.as_ref(), address).map(|()| Arc::clone(transport))
            }
            None => transport_for(address),
        };
        let link = match transport {
            Ok(transport) => transport.connect_to(address, self.contract.as_deref()).await,
            Err(e) => Err(e),
        };
        let link = link.inspect_err(|_| {
            status.set(ConnectionStatus::Error);
        })?;
        status.set(ConnectionStatus::Connected);
        let subscriptions = Arc::new(Subscriptions::with_buffer(self.event_buffer));
        let outbound = Arc::new(std::sync::RwLock::new(link.outbound));
        let encoded_requests = Arc::new(AtomicBool::new(link.encoded_requests));
        let client_id = Arc::new(std::sync::RwLock::new(link.client_id));
        let dispatcher = tokio::spawn(dispatch_events(
            Connection {
                events: link.events,
                outbound: Arc::clone(&outbound),
                encoded_requests: Arc::clone(&encoded_requests),
                client_id: Arc::clone(&client_id),
            },
            Arc::clone(&subscriptions),
            self.layers.events(&subscriptions),
            Arc::clone(&status),
            self.reconnect.map(|backoff| Redial {
                address: address.to_owned(),
                transport: own,
                backoff,
                contract: self.contract.clone(),
            }),
        ));
        let deadlines = Arc::new(Deadlines::default());
        let timer = tokio::spawn(Arc::clone(&deadlines).run());
        let layers = self.layers;
        let inner = Arc::new_cyclic(|me| Inner {
            token: std::sync::Mutex::new(None),
            validate: self.validate,
            reconnects: self.reconnect.is_some(),
            waits: self.wait_for_connection,
            logged_in: AtomicBool::new(false),
            requests: layers.requests(me.clone()),
            outbound,
            #[cfg(feature = "ws")]
            encoding: super::sending::Encoding::new(encoded_requests),
            client_id,
            last_request: std::sync::atomic::AtomicU64::new(0),
            deadlines,
            timer,
            subscriptions,
            status,
            timeout: self.timeout,
            source: self.source,
            address: address.to_owned(),
            dispatcher,
        });
        Ok(Client { inner })
    }
}

impl ClientBuilder {
    /// Every option must describe a client that works: calls that can be answered, and
    /// reconnection attempts that wait longer each time (not a tight loop).
    fn check(&self) -> Result<(), TransportError> {
        let invalid =
            |option, reason: String| Err(TransportError::InvalidOption { option, reason });
        if self.timeout.is_zero() {
            return invalid("timeout", "must be more than zero, found 0 s".to_owned());
        }
        if self.event_buffer == 0 {
            return invalid("event_buffer", "must be at least 1, found 0".to_owned());
        }
        let Some(backoff) = &self.reconnect else { return Ok(()) };
        if backoff.initial_delay.is_zero() {
            let reason = "must be more than zero, found 0 s".to_owned();
            return invalid("reconnect.initial_delay", reason);
        }
        if !(backoff.factor.is_finite() && backoff.factor >= 1.0) {
            let reason =
                format!("must be a finite number of at least 1.0, found {}", backoff.factor);
            return invalid("reconnect.factor", reason);
        }
        if backoff.max_delay < backoff.initial_delay {
            let reason = format!(
                "must be at least `initial_delay` ({:?}), found {:?}",
                backoff.initial_delay, backoff.max_delay
            );
            return invalid("reconnect.max_delay", reason);
        }
        if backoff.max_attempts == Some(0) {
            let reason = "must be at least 1, or `None` for no limit; found 0".to_owned();
            return invalid("reconnect.max_attempts", reason);
        }
        Ok(())
    }
}
