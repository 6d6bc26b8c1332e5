//! Callback subscriptions run in one lane per client: one task takes the client's events in
//! the order they arrived, whatever their type, and runs each event's callbacks one after
//! the other, so callbacks see the events in the order the server published them. (A task
//! per callback would let two types overtake each other.)

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use tokio::sync::mpsc;

use crate::context::MessageContext;
use crate::contract::Event;
use crate::payload::Payload;

type Ready = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What an event callback returns: nothing (a plain closure, `|event, cx| { .. }`, done when
/// it returns) or a future (`|event, cx| async move { .. }`, awaited before the next event's
/// callbacks run). `M` tells the two apart; it is always inferred.
#[diagnostic::on_unimplemented(
    message = "an event callback returns `()` or a future of `()`, not `{Self}`",
    label = "this callback's result",
    note = "write `|event, cx| {{ .. }}` or `|event, cx| async move {{ .. }}`"
)]
pub trait CallbackResult<M>: Send + 'static {
    /// The work left to do, if any.
    fn into_work(self) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>>;
}

/// The kind of a callback that returns `()`.
#[derive(Debug)]
pub enum Plain {}

/// The kind of a callback that returns a future.
#[derive(Debug)]
pub enum Awaited {}

impl CallbackResult<Plain> for () {
    fn into_work(self) -> Option<Ready> {
        None
    }
}

impl<Fut: Future<Output = ()> + Send + 'static> CallbackResult<Awaited> for Fut {
    fn into_work(self) -> Option<Ready> {
        Some(Box::pin(self))
    }
}
/// A callback, given an event's payload: `None` when the payload does not decode into its
/// type (logged), else the callback's own result: the future left to run, if any.
type Handler = Box<dyn FnMut(Payload, MessageContext) -> Option<Option<Ready>> + Send>;
type Handlers = HashMap<Cow<'static, str>, Vec<(u64, Handler)>>;
type Queued = (Cow<'static, str>, Payload, MessageContext);

/// The callbacks of one client, and the lane that runs them.
pub(crate) struct Lane {
    handlers: Mutex<Handlers>,
    next_id: AtomicU64,
    /// The lane's queue, made (and its task started) with the first callback.
    queue: OnceLock<mpsc::Sender<Queued>>,
    /// How many events wait for the lane before the dispatcher waits for it.
    buffer: usize,
}

impl Lane {
    pub(crate) fn new(buffer: usize) -> Self {
        let handlers = Mutex::default();
        Self { handlers, next_id: AtomicU64::new(0), queue: OnceLock::new(), buffer }
    }

    fn lock(&self) -> MutexGuard<'_, Handlers> {
        self.handlers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `handler` for events of type `E`; the id to remove it by.
    pub(crate) fn add<E, F, R, M>(self: &Arc<Self>, mut handler: F) -> u64
    where
        E: Event,
        F: FnMut(E, MessageContext) -> R + Send + 'static,
        R: CallbackResult<M>,
    {
        self.queue.get_or_init(|| {
            let (queue, events) = mpsc::channel(self.buffer);
            tokio::spawn(run(Arc::downgrade(self), events));
            queue
        });
        let boxed: Handler = Box::new(move |payload, context| match payload.decode::<E>() {
            Ok(event) => Some(handler(event, context).into_work()),
            Err(e) => {
                tracing::warn!(event = E::NAME, reason = %e, "skipped an event that did not decode");
                None
            }
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(Cow::Borrowed(E::NAME)).or_default().push((id, boxed));
        id
    }

    pub(crate) fn remove(&self, event: &'static str, id: u64) {
        if let Some(handlers) = self.lock().get_mut(event) {
            handlers.retain(|(handler_id, _)| *handler_id != id);
        }
    }

    /// Queues an event for its callbacks, if it has any, waiting while the lane is full.
    #[allow(
        clippy::ptr_arg,
        reason = "the name is queued as it is: a clone of a borrowed name is free, of a `&str` not"
    )]
    pub(crate) async fn deliver(
        &self,
        name: &Cow<'static, str>,
        payload: &Payload,
        cx: &MessageContext,
    ) {
        let Some(queue) = self.queue.get() else { return };
        if self.lock().get(name).is_none_or(Vec::is_empty) {
            return;
        }
        let _ = queue.send((name.clone(), payload.share(), cx.clone())).await;
    }

    /// Drops every callback: the connection is gone for good.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// Runs the callbacks of each queued event in turn, until the client is gone.
async fn run(lane: Weak<Lane>, mut events: mpsc::Receiver<Queued>) {
    while let Some((name, payload, context)) = events.recv().await {
        let Some(lane) = lane.upgrade() else { return };
        let ready: Vec<Ready> = match lane.lock().get_mut(&name) {
            Some(handlers) => handlers
                .iter_mut()
                .filter_map(|(_, handler)| handler(payload.share(), context.clone()).flatten())
                .collect(),
            None => Vec::new(),
        };
        drop(lane);
        for callback in ready {
            callback.await;
        }
    }
}
