//! Event subscriptions: a `Stream` per subscriber, and callback handles.
//!
//! Each subscriber has a bounded buffer ([`super::ClientBuilder::event_buffer`]). A subscriber
//! whose buffer is full makes the client's dispatcher wait for it rather than grow its
//! buffer or drop the event: the events then wait in the connection's queue, which its owner
//! bounds (the server closes a client that lets it fill as a slow consumer).

use std::borrow::Cow;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use super::callbacks::Lane;
use super::event_set::Inbox;
use crate::context::MessageContext;
use crate::contract::Event;
use crate::payload::Payload;
use crate::transport::EventFrame;

/// An event for one subscriber: which of the events it subscribed to (the index of its
/// name in the subscriber's list), the payload and the context.
pub(super) type Item = (usize, Payload, MessageContext);
type Sink = mpsc::Sender<Item>;
/// The subscribers of each event: their id, the event's index in their list, their sink.
type ByEvent = HashMap<Cow<'static, str>, Vec<(u64, usize, Sink)>>;

/// How many events wait for one subscriber unless the client says otherwise
/// ([`super::ClientBuilder::event_buffer`]).
pub const DEFAULT_EVENT_BUFFER: usize = 1024;

/// The subscribers of one client, by event name, and its callbacks.
pub(crate) struct Subscriptions {
    by_event: Mutex<ByEvent>,
    /// The callbacks, run in arrival order across event types.
    lane: Arc<Lane>,
    next_id: AtomicU64,
    /// How many events wait for one subscriber (at least 1).
    buffer: usize,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Self::with_buffer(DEFAULT_EVENT_BUFFER)
    }
}

impl Subscriptions {
    /// Subscribers of which each buffers up to `buffer` events (0 is taken as 1).
    pub(crate) fn with_buffer(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        let lane = Arc::new(Lane::new(buffer));
        Self { by_event: Mutex::default(), lane, next_id: AtomicU64::new(0), buffer }
    }

    fn lock(&self) -> MutexGuard<'_, ByEvent> {
        self.by_event.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes one sink to every event in `events`, under one id; an event delivered to
    /// it comes with its index in `events`.
    pub(super) fn add(&self, events: &[&'static str], sink: &Sink) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut by_event = self.lock();
        for (index, event) in events.iter().enumerate() {
            by_event.entry(Cow::Borrowed(*event)).or_default().push((id, index, sink.clone()));
        }
        id
    }

    pub(super) fn remove(&self, events: &[&'static str], id: u64) {
        let mut by_event = self.lock();
        for event in events {
            if let Some(sinks) = by_event.get_mut(*event) {
                sinks.retain(|(sink_id, _, _)| *sink_id != id);
            }
        }
    }

    /// How many events wait for one subscriber.
    pub(super) fn buffer(&self) -> usize {
        self.buffer
    }

    /// Hands a frame to every subscriber of its event: at once to those with room, then,
    /// without holding the lock, waits for room in the buffers of those that are full (so a
    /// subscriber that does not read holds the dispatcher back, and loses nothing while its
    /// stream lives). A subscriber whose stream is gone is removed.
    pub(crate) async fn deliver(&self, frame: EventFrame) {
        let EventFrame { name, payload, context } = frame;
        let payload = payload.into_shared();
        self.lane.deliver(&name, &payload, &context).await;
        let full = self.offer(EventFrame { name, payload, context });
        for (sink, item) in full {
            // `Err` only when the stream was dropped meanwhile; its `Drop` unsubscribed it.
            let _ = sink.send(item).await;
        }
    }

    /// Gives the frame to every subscriber that has room; returns the ones that are full,
    /// each with its copy.
    fn offer(&self, frame: EventFrame) -> Vec<(Sink, Item)> {
        let EventFrame { name, payload, context } = frame;
        let mut full = Vec::new();
        let mut by_event = self.lock();
        let Some(sinks) = by_event.get_mut(&name) else { return full };
        let payload = payload.into_shared();
        sinks.retain(|(_, index, sink)| {
            match sink.try_send((*index, payload.share(), context.clone())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(item)) => {
                    full.push((sink.clone(), item));
                    true
                }
                // A subscriber whose stream is gone is removed here rather than left to fill up.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        full
    }

    /// Ends every stream and drops every callback: the connection is gone.
    pub(crate) fn close_all(&self) {
        self.lock().clear();
        self.lane.clear();
    }

    /// Runs `handler` on every event of type `E`, in arrival order with the client's other
    /// callbacks.
    pub(crate) fn on<E, F, R, M>(&self, handler: F) -> Subscription
    where
        E: Event,
        F: FnMut(E, MessageContext) -> R + Send + 'static,
        R: super::CallbackResult<M>,
    {
        let id = self.lane.add(handler);
        Subscription { lane: Arc::downgrade(&self.lane), name: E::NAME, id, detached: false }
    }
}

/// Every event of type `E` from the moment of subscribing, as a `Stream` of the event and
/// its context. Ends when the connection ends; dropping it unsubscribes.
///
/// Up to [`super::ClientBuilder::event_buffer`] events wait for the stream to be read; while
/// that many do, the client delivers no further event (to any subscriber) and lets them wait
/// in the connection's queue, and a client that falls that far behind is disconnected as a
/// slow consumer (the stream then ends, unless the client reconnects). Nothing is dropped
/// while the stream lives.
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
/// # let _running = Server::bind("memory://doc-stream").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-stream").await?;
/// let mut echoed = client.echoed(); // or `client.subscribe::<Echoed>()`
/// client.echo(Echo { text: "heard".into() }).await?;
/// let (event, context) = echoed.recv().await.expect("the event");
/// assert_eq!(event.text, "heard");
/// assert!(context.timestamp.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EventStream<E> {
    inbox: Inbox,
    event: PhantomData<fn() -> E>,
}

impl<E: Event> EventStream<E> {
    pub(crate) fn new(subscriptions: &Arc<Subscriptions>) -> Self {
        let names: &'static [&'static str] = &[E::NAME];
        Self { inbox: Inbox::new(subscriptions, names), event: PhantomData }
    }

    /// Waits for the next event; `None` once the connection has ended.
    pub async fn recv(&mut self) -> Option<(E, MessageContext)> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<E: Event> Stream for EventStream<E> {
    type Item = (E, MessageContext);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inbox.poll_decoded(cx, |_, payload| payload.decode::<E>())
    }
}

/// A callback subscription. Dropping it, or calling [`Subscription::unsubscribe`], stops
/// delivery.
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
/// # let _running = Server::bind("memory://doc-callback").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-callback").await?;
/// let (heard, mut texts) = tokio::sync::mpsc::unbounded_channel();
/// // A plain closure; an async one (`|event, cx| async move { .. }`) is awaited in turn.
/// let subscription = client.on_echoed(move |event, _cx| {
///     let _ = heard.send(event.text);
/// });
/// client.echo(Echo { text: "one".into() }).await?;
/// assert_eq!(texts.recv().await.as_deref(), Some("one"));
/// subscription.unsubscribe();
/// # Ok(()) }
/// ```
#[must_use = "dropping a subscription unsubscribes at once"]
#[derive(Debug)]
pub struct Subscription {
    lane: Weak<Lane>,
    name: &'static str,
    id: u64,
    detached: bool,
}

impl Subscription {
    /// Stops delivery now.
    pub fn unsubscribe(self) {
        drop(self);
    }

    /// Keeps delivering until the connection ends, without holding a handle.
    pub fn detach(mut self) {
        self.detached = true;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        if let Some(lane) = self.lane.upgrade() {
            lane.remove(self.name, self.id);
        }
    }
}
