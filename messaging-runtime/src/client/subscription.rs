//! Event subscriptions: a `Stream` per subscriber, and callback handles.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::context::MessageContext;
use crate::contract::Event;
use crate::payload::Payload;
use crate::transport::EventFrame;

type Sink = mpsc::UnboundedSender<(Payload, MessageContext)>;
type ByEvent = HashMap<Cow<'static, str>, Vec<(u64, Sink)>>;

/// The subscribers of one client, by event name.
#[derive(Default)]
pub(crate) struct Subscriptions {
    by_event: Mutex<ByEvent>,
    next_id: AtomicU64,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, ByEvent> {
        self.by_event.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, event: &'static str, sink: Sink) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(Cow::Borrowed(event)).or_default().push((id, sink));
        id
    }

    fn remove(&self, event: &'static str, id: u64) {
        if let Some(sinks) = self.lock().get_mut(event) {
            sinks.retain(|(sink_id, _)| *sink_id != id);
        }
    }

    /// Hands a frame to every subscriber of its event.
    pub(crate) fn deliver(&self, frame: EventFrame) {
        let EventFrame { name, payload, context } = frame;
        let mut by_event = self.lock();
        let Some(sinks) = by_event.get_mut(&name) else { return };
        let payload = payload.into_shared();
        // A subscriber whose stream is gone is removed here rather than left to fill up.
        sinks.retain(|(_, sink)| sink.send((payload.share(), context.clone())).is_ok());
    }

    /// Ends every stream: the connection is gone.
    pub(crate) fn close_all(&self) {
        self.lock().clear();
    }
}

/// Every event of type `E` from the moment of subscribing, as a `Stream` of the event and
/// its context. Ends when the connection ends; dropping it unsubscribes.
pub struct EventStream<E> {
    receiver: mpsc::UnboundedReceiver<(Payload, MessageContext)>,
    subscriptions: Weak<Subscriptions>,
    id: u64,
    name: &'static str,
    event: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("id", &self.id).finish_non_exhaustive()
    }
}

impl<E: Event> EventStream<E> {
    pub(crate) fn new(subscriptions: &Arc<Subscriptions>) -> Self {
        let (sink, receiver) = mpsc::unbounded_channel();
        let id = subscriptions.add(E::NAME, sink);
        Self {
            receiver,
            subscriptions: Arc::downgrade(subscriptions),
            id,
            name: E::NAME,
            event: PhantomData,
        }
    }

    /// Waits for the next event; `None` once the connection has ended.
    pub async fn recv(&mut self) -> Option<(E, MessageContext)> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<E: Event> Stream for EventStream<E> {
    type Item = (E, MessageContext);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let Some((payload, context)) = std::task::ready!(self.receiver.poll_recv(cx)) else {
                return Poll::Ready(None);
            };
            match payload.decode::<E>() {
                Ok(event) => return Poll::Ready(Some((event, context))),
                Err(e) => {
                    tracing::warn!(event = E::NAME, reason = %e, "skipped an event that did not decode");
                }
            }
        }
    }
}

impl<E> Drop for EventStream<E> {
    fn drop(&mut self) {
        if let Some(subscriptions) = self.subscriptions.upgrade() {
            subscriptions.remove(self.name, self.id);
        }
    }
}

/// A callback subscription. Dropping it, or calling [`Subscription::unsubscribe`], stops
/// delivery.
#[must_use = "dropping a subscription unsubscribes at once"]
#[derive(Debug)]
pub struct Subscription {
    task: Option<JoinHandle<()>>,
}

impl Subscription {
    pub(crate) fn spawn<E, F, Fut>(mut stream: EventStream<E>, mut handler: F) -> Self
    where
        E: Event,
        F: FnMut(E, MessageContext) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(async move {
            while let Some((event, context)) = stream.recv().await {
                handler(event, context).await;
            }
        });
        Self { task: Some(task) }
    }

    /// Stops delivery now.
    pub fn unsubscribe(self) {
        drop(self);
    }

    /// Keeps delivering until the connection ends, without holding a handle.
    pub fn detach(mut self) {
        self.task = None;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
