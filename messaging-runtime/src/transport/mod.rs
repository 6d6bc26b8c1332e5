//! The seam between the runtime and the wire.
//!
//! A transport only moves frames. The runtime owns dispatch, timeouts, subscriptions and
//! the typed API; a transport turns an address into a [`Listener`] (server side) or a
//! [`ClientLink`] (client side). The seam is message-oriented: a request frame carries its
//! own reply channel, so a transport that has no socket per client (a broker) fits as well
//! as one that has.

mod encoded;
#[cfg(feature = "ws")]
mod engine;
#[cfg_attr(
    not(any(feature = "ws", feature = "nats")),
    allow(dead_code, reason = "only the socket and broker transports have connection tasks")
)]
mod fair;
pub mod memory;
#[cfg(feature = "nats")]
pub mod nats;
mod queue;
#[cfg(feature = "ws")]
pub mod tcp;
pub(crate) mod woken;
#[cfg(feature = "ws")]
pub mod ws;

pub use encoded::EncodedRequest;
pub use queue::{event_queue, CloseReason, CloseSignal, EventReceiver, EventSender, QueueError};

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::context::MessageContext;
use crate::error::{TransportError, WireError};
use crate::payload::Payload;

/// What a server answers to one request.
pub type Reply = Result<Payload, WireError>;

/// A request on its way to a server.
#[derive(Debug)]
pub struct RequestFrame {
    /// The number the client gave the request, unique among its requests: a transport that
    /// correlates answers on a wire may send it as the request id, and a cancel names it
    /// ([`Inbound::Cancel`]). Requests a server receives carry 0: the reply channel
    /// correlates them.
    pub id: u64,
    /// The wire name (`requestType`).
    pub name: Cow<'static, str>,
    /// The request body.
    pub payload: Payload,
    /// The sender's context.
    pub context: MessageContext,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

/// A request that collects the replies of every server that serves it
/// ([`crate::Client::request_many`]).
#[derive(Debug)]
pub struct GatherFrame {
    /// The number the client gave the request, as [`RequestFrame::id`].
    pub id: u64,
    /// The wire name (`requestType`).
    pub name: Cow<'static, str>,
    /// The request body.
    pub payload: Payload,
    /// The sender's context.
    pub context: MessageContext,
    /// Where each answer goes; the client closes it when it has collected enough.
    pub replies: mpsc::UnboundedSender<Reply>,
}

impl GatherFrame {
    /// The same request with one reply: what a transport with one server behind each
    /// connection sends (the server's answer is the one reply collected).
    pub fn into_request(self) -> RequestFrame {
        let (reply, answer) = oneshot::channel();
        let replies = self.replies;
        tokio::spawn(async move {
            if let Ok(answer) = answer.await {
                let _ = replies.send(answer);
            }
        });
        RequestFrame {
            id: self.id,
            name: self.name,
            payload: self.payload,
            context: self.context,
            reply,
        }
    }
}

/// An event, in either direction.
#[derive(Debug)]
pub struct EventFrame {
    /// The wire name.
    pub name: Cow<'static, str>,
    /// The event body.
    pub payload: Payload,
    /// The sender's context.
    pub context: MessageContext,
}

/// A frame a client sends to a server. Frames are boxed so that a channel of them costs
/// little before its first frame (a channel allocates a block of 32 slots when it is made;
/// by value that would be 12 KiB per connection).
#[derive(Debug)]
pub enum Inbound {
    /// A request that expects one reply.
    Request(Box<RequestFrame>),
    /// An event emitted by the client.
    Event(Box<EventFrame>),
    /// A request to every server that serves it. A transport with one server per connection
    /// sends it as a plain request ([`GatherFrame::into_request`]); a broker publishes it
    /// once to every replica.
    Gather(Box<GatherFrame>),
    /// The caller of request `id` stopped waiting for its reply (its call was dropped or
    /// timed out): its reply channel is closed already. In process that alone tells the
    /// server to cancel the handler; a transport that forwards requests over a wire tells the
    /// server on the other side (`ws://` sends a `cancel` frame). Servers ignore it.
    Cancel(u64),
    /// A request its caller encoded already, sent to a transport that asked for them
    /// ([`ClientLink::encoded_requests`]). One that reaches a transport or a server that
    /// takes frames is read back with [`EncodedRequest::into_frame`].
    Encoded(EncodedRequest),
}

/// The client's end of a connection.
#[derive(Debug)]
pub struct ClientLink {
    /// Requests and events to the server.
    pub outbound: mpsc::UnboundedSender<Inbound>,
    /// Events from the server, made with [`event_queue`]; they end when the connection is
    /// lost, or at once when the connection is closed for a reason
    /// ([`EventSender::close_now`], e.g. [`CloseReason::SlowConsumer`]), which
    /// [`EventReceiver::close_reason`] then tells. The client's dispatcher takes them only as
    /// fast as its subscribers do, so the queue's owner bounds it: the server
    /// ([`crate::Server::outbound_queue`]) over `memory://`, the connection's task over
    /// `ws://`; a full queue closes the connection as a slow consumer.
    pub events: EventReceiver,
    /// The id the server knows this connection by, when the transport learns it: from the
    /// registration (`memory://`), the handshake (`ws://`, `wss://`: the `Mb-Client-Id`
    /// header of the `101` answer; `tcp://`: the first pong's payload), or the client's own
    /// (`nats://`). `None` where the server does not say (a peer of another implementation).
    pub client_id: Option<String>,
    /// Whether the transport writes requests as JSON envelope text and would have them
    /// encoded by their callers ([`Inbound::Encoded`]) rather than handed over as frames:
    /// the caller's task then does the encoding, and frees the typed request on the thread
    /// that made it (see [`EncodedRequest`]).
    pub encoded_requests: bool,
}

/// The server's end of one client's connection.
#[derive(Debug)]
pub struct ServerLink {
    /// Requests and events from the client; closed when the client goes away.
    pub inbound: mpsc::UnboundedReceiver<Inbound>,
    /// Events to the client: made with [`event_queue`] when the transport takes them off
    /// itself (the server then bounds the client's backlog), or [`EventSender::uncounted`].
    pub outbound: EventSender,
    /// Where the client connects from, as the transport describes it.
    pub peer: String,
    /// Fired by the server once the client is registered (it then receives broadcasts).
    /// A transport waits for it before reporting the connection as established, so a
    /// client never misses an event published right after it connected. Dropped unfired when
    /// the server refuses the client; [`EventSender::close_reason`] then tells why (for
    /// example [`CloseReason::TooManyConnections`]), or nothing when the server is gone.
    /// It carries the id the server registered the client under, for the transport to
    /// tell the client ([`ClientLink::client_id`]).
    pub registered: Option<oneshot::Sender<String>>,
    /// Whether a `$login` on this link authenticates the link's later requests that carry
    /// no token: true where the link is one client's own connection (a socket, a channel).
    /// False where anyone could claim the link (a broker, whose clients name themselves in a
    /// header): every request must then carry its token.
    pub sessions: bool,
    /// The id the client names itself with, for the server to register it under where the
    /// transport has one per client that is unique and stable across replicas (a broker's
    /// client header); `None` (a socket): the server numbers its clients itself.
    pub client_id: Option<String>,
    /// Where the transport hands over the work of this connection (a socket's read and
    /// write loops) once the client is registered, for the server to run on the task that
    /// dispatches the client's requests: a request, its handler and its answer then cross no
    /// task. The server runs it to its end, also after it stops serving the client. `None`
    /// where the transport has no work per connection (a channel) or runs it itself (a
    /// broker); a transport whose driver the server dropped unreceived runs it itself.
    pub driver: Option<oneshot::Receiver<ConnectionDriver>>,
}

/// The work of one connection a transport hands its server ([`ServerLink::driver`]): a
/// future that ends when the connection is closed.
pub struct ConnectionDriver(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>);

impl ConnectionDriver {
    /// The connection's work.
    pub fn new(work: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Self(Box::pin(work))
    }
}

impl std::future::Future for ConnectionDriver {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for ConnectionDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionDriver")
    }
}

/// Accepts connections for a server.
#[async_trait]
pub trait Listener: Send {
    /// Waits for the next client; `None` once the listener is closed.
    async fn accept(&mut self) -> Option<ServerLink>;
    /// The address clients connect to (with the real port where the transport picks one).
    fn local_addr(&self) -> String;
    /// How this listener reaches every client at once, when it can do so itself (a broker
    /// publishes once, whatever the number of subscribers). `None`, the default: the server
    /// queues a broadcast for each client it registered.
    fn fanout(&self) -> Option<Arc<dyn Fanout>> {
        None
    }
    /// Tells the listener which contracts its server serves, once, when the server starts
    /// and before the first [`Listener::accept`]. A socket transport needs nothing of it (the
    /// default does nothing); a broker transport subscribes to each request's subject and
    /// registers the service for discovery.
    ///
    /// # Errors
    /// What the transport could not set up (a subscription the broker refused, a name that
    /// cannot be part of a subject); the server then does not start.
    async fn announce(&mut self, contracts: &[ServedContract]) -> Result<(), TransportError> {
        let _ = contracts;
        Ok(())
    }
    /// Stops taking new clients and requests, when the server stops; the listener is dropped
    /// right after. Over a socket, dropping closes the listening socket (the default does
    /// nothing more); a broker transport unsubscribes and waits until the broker knows, so
    /// that the next request goes to another replica (or fails `NO_RESPONDERS`) at once.
    async fn close(&mut self) {}
}

/// A contract a server serves, as a transport sees it: names only, no types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedContract {
    /// The contract name, e.g. `order-service`.
    pub name: String,
    /// The contract version, `major.minor.patch`.
    pub version: String,
    /// The hash of the contract's descriptor (what the version handshake compares).
    pub hash: String,
    /// The wire names of the requests it answers, in declaration order.
    pub requests: Vec<String>,
    /// The wire names of the events it publishes, in declaration order.
    pub events: Vec<String>,
}

/// Reaches every client of a listener with one publish: what a broker transport offers, so
/// that a broadcast is one message on the wire. Sending to one client still goes through
/// that client's own queue.
pub trait Fanout: Send + Sync + 'static {
    /// Publishes `event` to every client; how many it reached, as far as the transport
    /// knows (a broker may not, and then says 0).
    fn publish(&self, event: EventFrame) -> usize;
}

/// A way of moving frames, chosen by the scheme of an address (`memory://`, `ws://`, ...).
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The scheme this transport serves, without `://`.
    fn scheme(&self) -> &'static str;
    /// Starts listening at `address`.
    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError>;
    /// Connects to a server listening at `address`.
    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError>;
    /// Connects to a server of contract `contract` at `address`. A transport that routes by
    /// contract rather than by address (a broker: many services behind one address) needs
    /// the name; the default ignores it and calls [`Transport::connect`]. Generated clients
    /// (`{Trait}Client::connect`) and [`crate::client::ClientBuilder::contract`] pass it.
    async fn connect_to(
        &self,
        address: &str,
        contract: Option<&str>,
    ) -> Result<ClientLink, TransportError> {
        let _ = contract;
        self.connect(address).await
    }
}

/// The transports found by scheme: the built-in ones, registered like any other when the
/// process first looks one up, then whatever [`register_transport`] adds or replaces.
fn registry() -> &'static RwLock<Vec<Arc<dyn Transport>>> {
    static TRANSPORTS: OnceLock<RwLock<Vec<Arc<dyn Transport>>>> = OnceLock::new();
    TRANSPORTS.get_or_init(|| {
        RwLock::new(vec![
            memory::transport(),
            #[cfg(feature = "ws")]
            ws::transport(),
            #[cfg(feature = "ws")]
            ws::secure_transport(),
            #[cfg(feature = "ws")]
            tcp::transport(),
            #[cfg(feature = "nats")]
            nats::transport(),
        ])
    })
}

/// Makes a transport available to [`crate::Server::bind`] and [`crate::Client::connect`]
/// for its scheme, replacing any transport registered for the same scheme before (including
/// the built-in `memory://`, `ws://` and `wss://` ones). This applies to the whole process;
/// to give one server or client its own transport (and options), use
/// [`crate::Server::bind_with`] or [`crate::client::ClientBuilder::transport`].
pub fn register_transport(transport: Arc<dyn Transport>) {
    let mut all = registry().write().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.retain(|t| t.scheme() != transport.scheme());
    all.push(transport);
}

/// Finds the transport for an address's scheme.
pub fn transport_for(address: &str) -> Result<Arc<dyn Transport>, TransportError> {
    let Some((scheme, _)) = address.split_once("://") else {
        return Err(TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: "expected `scheme://...`, for example `memory://orders`".to_owned(),
        });
    };
    let all = registry().read().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = all.iter().find(|t| t.scheme() == scheme) {
        return Ok(Arc::clone(found));
    }
    if let Some(feature) = compiled_out(scheme) {
        return Err(TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: format!(
                "the `{scheme}://` transport is not compiled in: enable the `{feature}` feature of \
                 messaging-runtime"
            ),
        });
    }
    let supported = all.iter().map(|t| t.scheme()).collect();
    Err(TransportError::UnsupportedScheme { address: address.to_owned(), supported })
}

/// The feature that would compile in the built-in transport for `scheme`, when it is off.
fn compiled_out(scheme: &str) -> Option<&'static str> {
    let built_in: [(&str, &str, bool); 4] = [
        ("ws", "ws", cfg!(feature = "ws")),
        ("wss", "ws", cfg!(feature = "ws")),
        ("tcp", "ws", cfg!(feature = "ws")),
        ("nats", "nats", cfg!(feature = "nats")),
    ];
    built_in.iter().find(|(s, _, on)| *s == scheme && !on).map(|(_, feature, _)| *feature)
}

/// Checks that `address` is one `transport` serves (its scheme), for a transport given to one
/// server or client rather than found by scheme.
pub(crate) fn check_scheme(transport: &dyn Transport, address: &str) -> Result<(), TransportError> {
    let scheme = transport.scheme();
    match address.split_once("://") {
        Some((found, _)) if found == scheme => Ok(()),
        _ => Err(TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: format!("the transport given serves `{scheme}://` addresses"),
        }),
    }
}
