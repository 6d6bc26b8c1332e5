//! The client: typed requests, event subscriptions, emitted events and connection status.

mod call;
mod deadlines;
mod pipeline;
mod reconnect;
mod subscription;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::auth::{AuthError, Credentials, LogoutRequest, Session};
use crate::context::MessageContext;
use crate::contract::Event;
use crate::error::CallError;
use crate::error::{PublishError, TransportError};
use crate::middleware::{
    BoxError, ClientEvent, ClientRequest, EventService, RequestService, Template,
};
use crate::payload::Payload;
use crate::transport::{transport_for, CloseReason, EventFrame, EventReceiver, Inbound};
use tower::util::BoxCloneService;
use tower::{Layer, Service as TowerService, ServiceExt};

pub use call::{Call, CallFuture};
use deadlines::Deadlines;
pub use reconnect::Backoff;
use subscription::Subscriptions;
pub use subscription::{EventStream, Subscription, DEFAULT_EVENT_BUFFER};

/// The default time a request waits for its response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The state of a client's connection.
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

/// How a client behaves; build with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    source: Option<String>,
    layers: pipeline::ClientLayers,
    validate: bool,
    reconnect: Option<Backoff>,
    wait_for_connection: bool,
    event_buffer: usize,
}

impl ClientBuilder {
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
    /// [`Call::wait_for_connection`]). A request that waits still fails with `Disconnected`
    /// when its deadline passes first, or when the client gives up reconnecting or is closed.
    #[must_use]
    pub fn wait_for_connection(mut self, wait: bool) -> Self {
        self.wait_for_connection = wait;
        self
    }

    /// How many events may wait for each subscriber ([`EventStream`] or [`Client::on`]) to
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

    /// Connects to a server at `address`.
    pub async fn connect(self, address: &str) -> Result<Client, TransportError> {
        let (status_tx, status) = watch::channel(ConnectionStatus::Connecting);
        let link = match transport_for(address) {
            Ok(transport) => transport.connect(address).await,
            Err(e) => Err(e),
        };
        let link = link.inspect_err(|_| {
            status_tx.send_replace(ConnectionStatus::Error);
        })?;
        status_tx.send_replace(ConnectionStatus::Connected);
        let status_tx = Arc::new(status_tx);
        let subscriptions = Arc::new(Subscriptions::with_buffer(self.event_buffer));
        let outbound = Arc::new(std::sync::RwLock::new(link.outbound));
        let dispatcher = tokio::spawn(dispatch_events(
            Connection { events: link.events, outbound: Arc::clone(&outbound) },
            Arc::clone(&subscriptions),
            self.layers.events(&subscriptions),
            Arc::clone(&status_tx),
            self.reconnect.map(|backoff| (address.to_owned(), backoff)),
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
            deadlines,
            timer,
            subscriptions,
            status,
            status_tx,
            timeout: self.timeout,
            source: self.source,
            address: address.to_owned(),
            dispatcher,
        });
        Ok(Client { inner })
    }
}

/// A connection to one server. Cheap to clone; the connection closes when the last clone is
/// dropped or on [`Client::close`].
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
    /// The deadlines of the calls in flight, and the one timer task that enforces them.
    deadlines: Arc<Deadlines>,
    timer: JoinHandle<()>,
    subscriptions: Arc<Subscriptions>,
    status: watch::Receiver<ConnectionStatus>,
    status_tx: Arc<watch::Sender<ConnectionStatus>>,
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
        ClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            source: None,
            layers: pipeline::ClientLayers::default(),
            validate: true,
            reconnect: None,
            wait_for_connection: false,
            event_buffer: DEFAULT_EVENT_BUFFER,
        }
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
        *self.inner.status.borrow()
    }

    /// A receiver that sees every change of the connection status.
    pub fn watch_status(&self) -> watch::Receiver<ConnectionStatus> {
        self.inner.status.clone()
    }

    /// The connection status as a `Stream`: the status now, then every change, never the
    /// same value twice in a row. Ends when the client is dropped.
    pub fn status_stream(
        &self,
    ) -> impl futures_core::Stream<Item = ConnectionStatus> + Send + Unpin + 'static {
        let mut receiver = self.inner.status.clone();
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
        if !self.send(Inbound::Event(frame)) {
            return Err(PublishError::Closed);
        }
        Ok(())
    }

    /// Every event of type `E` from now on, as a `Stream`. Dropping the stream unsubscribes.
    pub fn subscribe<E: Event>(&self) -> EventStream<E> {
        EventStream::new(&self.inner.subscriptions)
    }

    /// Runs `handler` for every event of type `E`, one at a time in arrival order, until the
    /// returned [`Subscription`] is dropped or unsubscribed.
    pub fn on<E, F, Fut>(&self, handler: F) -> Subscription
    where
        E: Event,
        F: FnMut(E, MessageContext) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        Subscription::spawn(self.subscribe::<E>(), handler)
    }

    /// Closes the connection: the server sees the client leave, and later calls fail with
    /// a disconnection error.
    pub fn close(&self) {
        self.inner.dispatcher.abort();
        self.mark_disconnected();
    }

    pub(crate) fn new_context(&self) -> MessageContext {
        let mut cx = MessageContext::new();
        cx.source.clone_from(&self.inner.source);
        // Checked without the lock first: a client that never logged in pays nothing.
        if self.inner.logged_in.load(Ordering::Acquire) {
            if let Some(token) = self.token() {
                cx = cx.with_token(token);
            }
        }
        cx
    }

    fn token(&self) -> Option<String> {
        self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Logs in with `$login`; every later request carries the session's token.
    ///
    /// # Errors
    /// `CallError::Contract(AuthError::InvalidCredentials)` for a wrong username or password,
    /// or any runtime error of the call.
    pub async fn login(&self, credentials: Credentials) -> Result<Session, CallError<AuthError>> {
        let session = self.call::<Credentials, AuthError>(credentials).await?;
        *self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(session.token.clone());
        self.inner.logged_in.store(true, Ordering::Release);
        Ok(session)
    }

    /// Logs out with `$logout`: the server ends the session, and later requests carry no
    /// token.
    ///
    /// # Errors
    /// `CallError::Contract(AuthError::MissingToken)` when not logged in, or any runtime
    /// error of the call.
    pub async fn logout(&self) -> Result<(), CallError<AuthError>> {
        let token =
            self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        self.inner.logged_in.store(false, Ordering::Release);
        self.call::<LogoutRequest, AuthError>(LogoutRequest { token }).await
    }

    fn outbound(&self) -> std::sync::RwLockReadGuard<'_, mpsc::UnboundedSender<Inbound>> {
        self.inner.outbound.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a frame on the current connection; `false` at once while not connected.
    pub(crate) fn send(&self, frame: Inbound) -> bool {
        if self.status() != ConnectionStatus::Connected {
            return false;
        }
        let sent = self.outbound().send(frame).is_ok();
        // A client that reconnects leaves the status to its reconnect loop.
        if !sent && !self.inner.reconnects {
            self.mark_disconnected();
        }
        sent
    }

    /// Tells the transport that a caller stopped waiting for its reply, so that the server
    /// cancels the handler (see [`Inbound::Abandoned`]).
    pub(crate) fn abandoned(&self) {
        if self.status() == ConnectionStatus::Connected {
            let _ = self.outbound().send(Inbound::Abandoned);
        }
    }

    fn mark_disconnected(&self) {
        self.inner.status_tx.send_if_modified(|s| {
            let changed = *s != ConnectionStatus::Disconnected;
            *s = ConnectionStatus::Disconnected;
            changed
        });
    }
}

/// One connection's event stream, and the slot its outbound sender lives in.
struct Connection {
    /// Bounded by its owner (the server over `memory://`, the connection's task over
    /// `ws://`), which closes the connection when it fills: a slow consumer.
    events: EventReceiver,
    outbound: Arc<std::sync::RwLock<mpsc::UnboundedSender<Inbound>>>,
}

/// Delivers the server's events to subscribers, in arrival order (through the event layers
/// when there are any), until the connection ends; then reconnects if the client was built
/// to, keeping every subscription.
async fn dispatch_events(
    mut connection: Connection,
    subscriptions: Arc<Subscriptions>,
    mut layers: Option<EventService<MessageContext>>,
    status: Arc<watch::Sender<ConnectionStatus>>,
    reconnect: Option<(String, Backoff)>,
) {
    loop {
        pump(&mut connection.events, &subscriptions, &mut layers).await;
        let Some((address, backoff)) = &reconnect else { break };
        status.send_replace(ConnectionStatus::Reconnecting);
        match reconnect::reconnect(address, backoff).await {
            Ok(link) => {
                *connection.outbound.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    link.outbound;
                connection.events = link.events;
                status.send_replace(ConnectionStatus::Connected);
                tracing::info!(%address, "reconnected");
            }
            Err(e) => {
                tracing::warn!(%address, error = %e, "gave up reconnecting");
                status.send_replace(ConnectionStatus::Error);
                subscriptions.close_all();
                return;
            }
        }
    }
    status.send_replace(ConnectionStatus::Disconnected);
    subscriptions.close_all();
}

/// Delivers one connection's events until they end, then logs why the connection was closed
/// if it was told. A connection closed at once (a slow consumer) ends even while a delivery
/// waits for room in a subscriber's buffer.
async fn pump(
    events: &mut EventReceiver,
    subscriptions: &Subscriptions,
    layers: &mut Option<EventService<MessageContext>>,
) {
    let closed = events.close_signal();
    while let Some(frame) = events.recv().await {
        // Polled in order: the signal only once the delivery has to wait.
        tokio::select! {
            biased;
            () = deliver(frame, subscriptions, layers) => {}
            _ = closed.wait() => break,
        }
    }
    match events.close_reason() {
        Some(CloseReason::ShuttingDown) => {
            tracing::info!("the connection was closed: {}", CloseReason::ShuttingDown);
        }
        Some(reason) => tracing::warn!("the connection was closed: {reason}"),
        None => {}
    }
}

/// Hands one event to the subscribers (through the event layers when there are any); waits
/// while a subscriber's buffer is full.
async fn deliver(
    frame: EventFrame,
    subscriptions: &Subscriptions,
    layers: &mut Option<EventService<MessageContext>>,
) {
    let Some(pipeline) = layers else {
        subscriptions.deliver(frame).await;
        return;
    };
    let event = ClientEvent { name: frame.name, payload: frame.payload, context: frame.context };
    let outcome = match pipeline.ready().await {
        Ok(ready) => ready.call(event).await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "an event layer failed; the event was not delivered");
    }
}
