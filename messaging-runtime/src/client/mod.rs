//! The client: typed requests, event subscriptions, emitted events and connection status.

mod builder;
mod call;
mod callbacks;
mod deadlines;
mod dispatch;
mod event_set;
mod gather;
mod pipeline;
mod reconnect;
mod reply;
mod sending;
mod session;
mod status;
mod subscription;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::context::MessageContext;
use crate::contract::Event;
use crate::error::{PublishError, TransportError};
use crate::middleware::{RequestService, Template};
use crate::payload::Payload;
use crate::transport::{EventFrame, Inbound};

pub use builder::ClientBuilder;
pub use call::{Call, CallFuture};
pub use callbacks::{Awaited, CallbackResult, Plain};
use deadlines::Deadlines;
pub use event_set::AllEvents;
pub use gather::{Gather, DEFAULT_GATHER_QUIET};
pub use reconnect::Backoff;
use subscription::Subscriptions;
pub use subscription::{EventStream, Subscription, DEFAULT_EVENT_BUFFER};

/// The default time a request waits for its response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The state of a client's connection.
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
/// # let running = Server::bind("memory://doc-status").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-status").await?;
/// assert_eq!(client.status(), ConnectionStatus::Connected);
/// let mut status = client.inner().watch_status();
/// running.stop().await;
/// // A client built without `reconnect` ends up disconnected when its server goes.
/// status.wait_for(|s| *s == ConnectionStatus::Disconnected).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    /// Not connected.
    Disconnected,
    /// Connecting for the first time.
    Connecting,
    /// Connected and ready.
    Connected,
    /// Lost the connection and trying again.
    Reconnecting,
    /// Gave up: the connection cannot be (re)established.
    Error,
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disconnected => "disconnected",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Error => "error",
        })
    }
}

/// A connection to one server. Cheap to clone; the connection closes when the last clone is
/// dropped or on [`Client::close`].
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
/// # let _running = Server::bind("memory://doc-client").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// // Untyped: any contract's requests, named by their types.
/// let client = Client::connect("memory://doc-client").await?;
/// assert!(client.is_connected());
/// let echoed: String = client.call::<Echo, EchoError>(Echo { text: "untyped".into() }).await?;
/// assert_eq!(echoed, "untyped");
/// // Typed: the generated client wraps one, with a method per request.
/// let typed = EchoerClient::from_client(client);
/// assert_eq!(typed.echo(Echo { text: "typed".into() }).await?, "typed");
/// typed.close();
/// assert_eq!(typed.status(), ConnectionStatus::Disconnected);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The token of the session opened with [`Client::login`].
    token: std::sync::Mutex<Option<String>>,
    logged_in: AtomicBool,
    /// Whether calls check the contract's validation rules before sending.
    validate: bool,
    /// Whether the client reconnects after losing its connection.
    reconnects: bool,
    /// Whether requests wait for a lost connection to come back (up to their deadline).
    waits: bool,
    /// The request layers, `None` when there are none (the fast path).
    requests: Option<Template<RequestService<MessageContext>>>,
    /// Swapped for a new one when the client reconnects.
    outbound: Arc<std::sync::RwLock<mpsc::UnboundedSender<Inbound>>>,
    /// How calls encode their requests for a transport that asks for envelope text.
    /// (Without the `ws` feature no transport does.)
    #[cfg(feature = "ws")]
    encoding: sending::Encoding,
    /// The id the server knows the connection by, when the transport tells; replaced when
    /// the client reconnects.
    client_id: Arc<std::sync::RwLock<Option<String>>>,
    /// The number of the last request sent.
    last_request: std::sync::atomic::AtomicU64,
    /// The deadlines of the calls in flight, and the one timer task that enforces them.
    deadlines: Arc<Deadlines>,
    timer: JoinHandle<()>,
    subscriptions: Arc<Subscriptions>,
    status: Arc<status::StatusCell>,
    timeout: Duration,
    source: Option<String>,
    address: String,
    dispatcher: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dispatcher.abort();
        self.timer.abort();
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.inner.address)
            .field("status", &self.status())
            .finish()
    }
}

impl Client {
    /// Options for a new client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects to a server at `address` with the default options.
    pub async fn connect(address: &str) -> Result<Self, TransportError> {
        Self::builder().connect(address).await
    }

    /// The address this client connected to.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The connection status now.
    pub fn status(&self) -> ConnectionStatus {
        self.inner.status.get()
    }

    /// The id the server registered this connection under (what its handlers see as
    /// `cx.client_id()`), when the transport tells it: `memory://`, `ws://`, `wss://` and
    /// `tcp://` do; over `nats://` it is the id the client names itself with (each replica
    /// serves it under that name, in the `Mb-Client` header). `None` when the server did not
    /// say (another implementation). A reconnected client has a new id.
    pub fn client_id(&self) -> Option<String> {
        self.inner.client_id.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Whether the client is connected now.
    pub fn is_connected(&self) -> bool {
        self.status() == ConnectionStatus::Connected
    }

    /// A receiver that sees every change of the connection status from now on: the status
    /// now counts as seen, so its first `changed()` is a real change, not the connect that
    /// happened before it was asked for.
    pub fn watch_status(&self) -> watch::Receiver<ConnectionStatus> {
        self.inner.status.subscribe()
    }

    /// The connection status as a `Stream`: the status now, then every change, never the
    /// same value twice in a row. Ends when the client is dropped.
    pub fn status_stream(
        &self,
    ) -> impl futures_core::Stream<Item = ConnectionStatus> + Send + Unpin + 'static {
        let mut receiver = self.inner.status.subscribe();
        let first = *receiver.borrow_and_update();
        Box::pin(futures_util::stream::unfold(
            (receiver, Some(first), None::<ConnectionStatus>),
            |(mut receiver, pending, mut last)| async move {
                let mut next = pending;
                loop {
                    if let Some(status) = next.take() {
                        if last != Some(status) {
                            last = Some(status);
                            return Some((status, (receiver, None, last)));
                        }
                    }
                    receiver.changed().await.ok()?;
                    next = Some(*receiver.borrow_and_update());
                }
            },
        ))
    }

    /// The default timeout of this client's requests.
    pub fn default_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Starts a typed request; await it, or set `.context(..)` / `.timeout(..)` first.
    pub fn call<R: crate::Request, E: crate::ErrorCode>(&self, request: R) -> Call<'_, R, E> {
        Call::new(self, request)
    }

    /// Sends an event to the server.
    pub fn emit<E: Event>(&self, event: E) -> Result<(), PublishError> {
        self.emit_with(event, self.new_context())
    }

    /// Sends an event with an explicit context to the server.
    pub fn emit_with<E: Event>(
        &self,
        event: E,
        context: MessageContext,
    ) -> Result<(), PublishError> {
        let frame =
            EventFrame { name: Cow::Borrowed(E::NAME), payload: Payload::typed(event), context };
        if !self.send(Inbound::Event(Box::new(frame))) {
            return Err(PublishError::Closed);
        }
        Ok(())
    }

    /// Every event of type `E` from now on, as a `Stream`. Dropping the stream unsubscribes.
    pub fn subscribe<E: Event>(&self) -> EventStream<E> {
        EventStream::new(&self.inner.subscriptions)
    }

    /// Every event of the set `S` (a contract's generated `{Trait}Event` enum) from now on,
    /// in arrival order across their types, as one `Stream`; dropping it unsubscribes.
    pub fn subscribe_all<S: crate::contract::EventSet>(&self) -> AllEvents<S> {
        AllEvents::new(&self.inner.subscriptions)
    }

    /// Runs `handler` for every event of type `E`, one at a time in arrival order, until the
    /// returned [`Subscription`] is dropped or unsubscribed. The handler is a plain closure
    /// (`|event, cx| { .. }`) or an async one (`|event, cx| async move { .. }`, awaited before
    /// the next event's callbacks run).
    pub fn on<E, F, R, M>(&self, handler: F) -> Subscription
    where
        E: Event,
        F: FnMut(E, MessageContext) -> R + Send + 'static,
        R: CallbackResult<M>,
    {
        self.inner.subscriptions.on(handler)
    }

    /// Closes the connection: the server sees the client leave, later calls fail with
    /// `Disconnected`, and the client does not reconnect. Calls still waiting end as on any
    /// lost connection: over `ws://` they fail with `Disconnected` at once; in process the
    /// server answers the requests it already holds.
    pub fn close(&self) {
        self.inner.dispatcher.abort();
        // Dropping the only sender ends the connection: the transport closes it (`ws://` with
        // a close frame) and the server forgets the client.
        let (closed, _) = mpsc::unbounded_channel();
        *self.inner.outbound.write().unwrap_or_else(std::sync::PoisonError::into_inner) = closed;
        self.mark_disconnected();
    }
}
