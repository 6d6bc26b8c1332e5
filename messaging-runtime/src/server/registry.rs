//! Who is connected, and the [`Broadcaster`] that reaches them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::context::{now_millis, MessageContext};
use crate::contract::Event;
use crate::error::PublishError;
use crate::payload::Payload;
use crate::transport::{CloseReason, EventFrame, EventSender, Fanout, QueueError};

/// An id the server assigned to a connected client. Never taken from anything the client
/// sent, so a client cannot pose as another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the server knows about a connected client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The id the server assigned.
    pub id: ClientId,
    /// Where the client connects from, as the transport describes it.
    pub peer: String,
    /// When the client connected, in milliseconds since the Unix epoch.
    pub connected_at: u64,
}

struct Entry {
    info: ClientInfo,
    outbound: EventSender,
}

/// The connected clients of one server.
pub(crate) struct Registry {
    clients: Mutex<HashMap<ClientId, Entry>>,
    next_id: AtomicU64,
    /// How many events may wait for one client; see [`crate::Server::outbound_queue`].
    queue_limit: AtomicUsize,
    /// How the transport reaches every client with one publish, when it can.
    fanout: OnceLock<Arc<dyn Fanout>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            clients: Mutex::default(),
            next_id: AtomicU64::new(0),
            queue_limit: AtomicUsize::new(super::DEFAULT_OUTBOUND_QUEUE),
            fanout: OnceLock::new(),
        }
    }
}

impl Registry {
    /// A registry whose broadcasts go through the transport's `fanout`, when it has one.
    pub(crate) fn with_fanout(fanout: Option<Arc<dyn Fanout>>) -> Self {
        let registry = Self::default();
        if let Some(fanout) = fanout {
            let _ = registry.fanout.set(fanout);
        }
        registry
    }

    pub(crate) fn set_queue_limit(&self, events: usize) {
        self.queue_limit.store(events, Ordering::Relaxed);
    }

    pub(crate) fn queue_limit(&self) -> usize {
        self.queue_limit.load(Ordering::Relaxed)
    }

    /// Registers a client under the id it named itself with, when it has one no other
    /// client of this server holds, or else under the next `client-{n}`.
    pub(crate) fn add(
        &self,
        peer: String,
        outbound: EventSender,
        named: Option<String>,
    ) -> ClientId {
        let mut clients = self.lock();
        let id = match named.map(|name| ClientId(Arc::from(name))) {
            Some(id) if !clients.contains_key(&id) => id,
            _ => {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                ClientId(Arc::from(format!("client-{n}")))
            }
        };
        let info = ClientInfo { id: id.clone(), peer, connected_at: now_millis() };
        clients.insert(id.clone(), Entry { info, outbound });
        id
    }

    pub(crate) fn remove(&self, id: &ClientId) {
        self.lock().remove(id);
    }

    /// Lets go of every client, telling each that the server is shutting down.
    pub(crate) fn clear(&self) {
        for (_, entry) in self.lock().drain() {
            entry.outbound.finish(CloseReason::ShuttingDown);
        }
    }

    /// Queues `frame` for one client; a client whose queue is full is disconnected at once
    /// (a slow consumer) and removed. `Ok(false)` when the connection is closed.
    fn send(
        clients: &mut HashMap<ClientId, Entry>,
        id: &ClientId,
        frame: EventFrame,
        limit: usize,
    ) -> Result<bool, PublishError> {
        let Some(entry) = clients.get(id) else {
            return Err(PublishError::UnknownClient(id.to_string()));
        };
        match entry.outbound.try_send(frame, limit) {
            Ok(()) => Ok(true),
            Err(QueueError::Closed) => Ok(false),
            Err(QueueError::Full) => {
                tracing::warn!(client = %id, queued = limit, "disconnecting a client that does not take its events");
                if let Some(entry) = clients.remove(id) {
                    entry.outbound.close_now(CloseReason::SlowConsumer);
                }
                Err(PublishError::SlowConsumer(id.to_string()))
            }
        }
    }

    pub(crate) fn list(&self) -> Vec<ClientInfo> {
        let mut all: Vec<_> = self.lock().values().map(|e| e.info.clone()).collect();
        all.sort_by_key(|c| c.connected_at);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Entry>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Publishes events to the clients of a server. Cheap to clone; obtainable before the
/// server starts, so a service can hold one.
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
/// let running = Server::bind("memory://doc-broadcast").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect(running.address()).await?;
/// let mut echoed = client.echoed();
/// // Outside a handler: the server's broadcaster, through the contract's typed publisher
/// // (inside one: `cx.events::<EchoerEvents>()`).
/// let reached = EchoerEvents::from(running.broadcaster()).echoed(Echoed { text: "to all".into() });
/// assert_eq!(reached, 1);
/// let (event, _context) = echoed.recv().await.expect("the event");
/// assert_eq!(event.text, "to all");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Broadcaster {
    registry: Arc<Registry>,
}

impl fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcaster").field("clients", &self.registry.lock().len()).finish()
    }
}

impl Broadcaster {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    /// Sends `event` to every connected client; returns how many it reached. A client whose
    /// event queue is full ([`crate::Server::outbound_queue`]) is disconnected instead.
    ///
    /// Only generated publishers call it (through `__private`), each checking at compile time
    /// that the event is one of its contract's: there is no unchecked way to publish.
    pub(crate) fn broadcast<E: Event>(&self, event: E) -> usize {
        self.broadcast_with(event, MessageContext::new())
    }

    /// Sends `event` with `context` to every connected client; returns how many it reached.
    /// Over a transport that reaches every client with one publish (a broker), that is one
    /// publish, and the count is the transport's.
    pub(crate) fn broadcast_with<E: Event>(&self, event: E, context: MessageContext) -> usize {
        if let Some(fanout) = self.registry.fanout.get() {
            let frame = EventFrame {
                name: Cow::Borrowed(E::NAME),
                payload: Payload::typed(event),
                context,
            };
            return fanout.publish(frame);
        }
        let payload = Payload::shared(event);
        let limit = self.registry.queue_limit.load(Ordering::Relaxed);
        let mut clients = self.registry.lock();
        let mut reached = 0;
        let mut slow = Vec::new();
        for (id, entry) in clients.iter() {
            let frame = EventFrame {
                name: Cow::Borrowed(E::NAME),
                payload: payload.share(),
                context: context.clone(),
            };
            match entry.outbound.try_send(frame, limit) {
                Ok(()) => reached += 1,
                Err(QueueError::Closed) => {}
                Err(QueueError::Full) => slow.push(id.clone()),
            }
        }
        for id in slow {
            tracing::warn!(client = %id, queued = limit, "disconnecting a client that does not take its events");
            if let Some(entry) = clients.remove(&id) {
                entry.outbound.close_now(CloseReason::SlowConsumer);
            }
        }
        reached
    }

    /// Sends `event` to one client. A client whose event queue is full is disconnected
    /// ([`PublishError::SlowConsumer`]).
    pub(crate) fn send_to<E: Event>(
        &self,
        client: &ClientId,
        event: E,
    ) -> Result<(), PublishError> {
        let context = MessageContext::new().with_target(client.as_str());
        let frame =
            EventFrame { name: Cow::Borrowed(E::NAME), payload: Payload::typed(event), context };
        let limit = self.registry.queue_limit.load(Ordering::Relaxed);
        match Registry::send(&mut self.registry.lock(), client, frame, limit)? {
            true => Ok(()),
            false => Err(PublishError::Closed),
        }
    }

    /// The clients connected right now.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.registry.list()
    }
}
