//! Who is connected, and the [`Broadcaster`] that reaches them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::context::{now_millis, MessageContext};
use crate::contract::Event;
use crate::error::PublishError;
use crate::payload::Payload;
use crate::transport::EventFrame;

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
    outbound: mpsc::UnboundedSender<EventFrame>,
}

/// The connected clients of one server.
#[derive(Default)]
pub(crate) struct Registry {
    clients: Mutex<HashMap<ClientId, Entry>>,
    next_id: AtomicU64,
}

impl Registry {
    pub(crate) fn add(
        &self,
        peer: String,
        outbound: mpsc::UnboundedSender<EventFrame>,
    ) -> ClientId {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let id = ClientId(Arc::from(format!("client-{n}")));
        let info = ClientInfo { id: id.clone(), peer, connected_at: now_millis() };
        self.lock().insert(id.clone(), Entry { info, outbound });
        id
    }

    pub(crate) fn remove(&self, id: &ClientId) {
        self.lock().remove(id);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
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

    /// Sends `event` to every connected client; returns how many it reached.
    pub fn broadcast<E: Event>(&self, event: E) -> usize {
        self.broadcast_with(event, MessageContext::new())
    }

    /// Sends `event` with `context` to every connected client; returns how many it reached.
    pub fn broadcast_with<E: Event>(&self, event: E, context: MessageContext) -> usize {
        let payload = Payload::shared(event);
        let clients = self.registry.lock();
        let mut reached = 0;
        for entry in clients.values() {
            let frame = EventFrame {
                name: Cow::Borrowed(E::NAME),
                payload: payload.share(),
                context: context.clone(),
            };
            reached += usize::from(entry.outbound.send(frame).is_ok());
        }
        reached
    }

    /// Sends `event` to one client.
    pub fn send_to<E: Event>(&self, client: &ClientId, event: E) -> Result<(), PublishError> {
        let context = MessageContext::new().with_target(client.as_str());
        let outbound = self
            .registry
            .lock()
            .get(client)
            .map(|e| e.outbound.clone())
            .ok_or_else(|| PublishError::UnknownClient(client.to_string()))?;
        let frame =
            EventFrame { name: Cow::Borrowed(E::NAME), payload: Payload::typed(event), context };
        outbound.send(frame).map_err(|_| PublishError::Closed)
    }

    /// The clients connected right now.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.registry.list()
    }
}
