//! The queue of events from the server to one client, and why a connection is closed.
//!
//! The server bounds how many events may wait for one client ([`crate::Server::outbound_queue`]);
//! it can only do so when the transport reports what it has taken off the queue, which an
//! [`EventReceiver`] does. Both built-in transports use one: `ws://` takes the events off to
//! write them on the socket, and `memory://` hands the receiver to the client, whose
//! dispatcher takes them only as fast as its subscribers do, so a client that does not read
//! is closed as a slow consumer over either. [`EventSender::uncounted`] remains for a
//! transport whose consumer takes every event at once; no backlog is measured there.
//!
//! Events wait boxed: a channel allocates its first block of 32 slots when it is made, so a
//! queue of frames by value would cost every connection 12 KiB before its first event.
//!
//! The client side uses the same queue between a `ws://` connection's task and the client's
//! dispatcher ([`super::ClientLink::events`]).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::{mpsc, Notify};

use super::EventFrame;

/// Why the server closes a connection; a transport turns it into its own form (a WebSocket
/// close code and reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The server is shutting down (`ws://`: 1001 "going away").
    ShuttingDown,
    /// The client did not take its events fast enough and its queue filled (`ws://`: 1008).
    SlowConsumer,
    /// The server has as many connections as it allows (`ws://`: 1013 "try again later").
    TooManyConnections,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ShuttingDown => "the server is shutting down",
            Self::SlowConsumer => "slow consumer: the client's event queue is full",
            Self::TooManyConnections => "too many connections: try again later",
        })
    }
}

/// Sending an event to one client failed; the event was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The client's queue holds as many events as allowed.
    Full,
    /// The connection is closed.
    Closed,
}

struct State {
    /// Events sent and not yet taken by the transport (only when `counted`).
    queued: AtomicUsize,
    counted: bool,
    /// Set once: why the server closes the connection.
    reason: OnceLock<CloseReason>,
    /// Whether the connection must close now, without sending what is still queued.
    now: AtomicBool,
    wake: Notify,
    /// The task waiting in [`EventReceiver::recv`], woken by [`EventSender::close_now`].
    receiver: AtomicWaker,
}

/// The server's end of one client's event queue. Cheap to clone.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::UnboundedSender<Box<EventFrame>>,
    state: Arc<State>,
}

impl fmt::Debug for EventSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSender").field("queued", &self.queued()).finish()
    }
}

/// The transport's end of one client's event queue: each event taken counts off the backlog.
pub struct EventReceiver {
    rx: mpsc::UnboundedReceiver<Box<EventFrame>>,
    state: Arc<State>,
}

impl fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver").finish_non_exhaustive()
    }
}

fn state(counted: bool) -> Arc<State> {
    Arc::new(State {
        queued: AtomicUsize::new(0),
        counted,
        reason: OnceLock::new(),
        now: AtomicBool::new(false),
        wake: Notify::new(),
        receiver: AtomicWaker::new(),
    })
}

/// A new event queue whose backlog the server can bound.
pub fn event_queue() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = state(true);
    (EventSender { tx, state: Arc::clone(&state) }, EventReceiver { rx, state })
}

impl EventSender {
    /// A queue whose backlog is not measured, for a transport that hands events straight to
    /// a consumer that takes each at once; the server's queue limit does not apply to it.
    pub fn uncounted() -> (Self, EventReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = state(false);
        (Self { tx, state: Arc::clone(&state) }, EventReceiver { rx, state })
    }

    /// Queues `frame` unless `limit` events are already waiting.
    pub fn try_send(&self, frame: EventFrame, limit: usize) -> Result<(), QueueError> {
        if self.state.counted && self.state.queued.fetch_add(1, Ordering::Relaxed) >= limit {
            self.state.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(QueueError::Full);
        }
        self.tx.send(Box::new(frame)).map_err(|_| {
            if self.state.counted {
                self.state.queued.fetch_sub(1, Ordering::Relaxed);
            }
            QueueError::Closed
        })
    }

    /// How many events wait (always 0 when uncounted).
    pub fn queued(&self) -> usize {
        self.state.queued.load(Ordering::Relaxed)
    }

    /// Whether the transport let go of the queue (the client is gone).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves once the transport let go of the queue.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Records why the connection ends, to be reported once every sender is dropped and the
    /// events already queued are delivered. The first reason recorded wins.
    pub fn finish(&self, reason: CloseReason) {
        let _ = self.state.reason.set(reason);
    }

    /// Closes the connection now, for `reason`: events still queued are not delivered, and
    /// [`EventReceiver::recv`] ends at once (as a closed socket would).
    pub fn close_now(&self, reason: CloseReason) {
        self.finish(reason);
        self.state.now.store(true, Ordering::Release);
        self.state.wake.notify_one();
        self.state.receiver.wake();
    }

    /// Why the server closes (or closed) the connection, if it said.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.reason.get().copied()
    }
}

impl EventReceiver {
    /// The next event; `None` once every sender is dropped, or at once after
    /// [`EventSender::close_now`]: the events still queued are not delivered, as on a socket
    /// that was closed.
    pub async fn recv(&mut self) -> Option<EventFrame> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<EventFrame>> {
        if self.closed_now() {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(frame)) => {
                self.state.queued.fetch_sub(1, Ordering::Relaxed);
                Poll::Ready(Some(*frame))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                self.state.receiver.register(cx.waker());
                // `close_now` may have run before the waker was registered.
                if self.closed_now() {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// The next event if one is ready; `Disconnected` once every sender is dropped, or
    /// after [`EventSender::close_now`] (like [`EventReceiver::recv`]).
    pub fn try_recv(&mut self) -> Result<EventFrame, mpsc::error::TryRecvError> {
        if self.closed_now() {
            return Err(mpsc::error::TryRecvError::Disconnected);
        }
        let frame = self.rx.try_recv()?;
        self.state.queued.fetch_sub(1, Ordering::Relaxed);
        Ok(*frame)
    }

    fn closed_now(&self) -> bool {
        self.state.now.load(Ordering::Acquire)
    }

    /// Why the server closes the connection, if it said.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.reason.get().copied()
    }

    /// A handle that resolves when the server closes the connection at once
    /// ([`EventSender::close_now`]).
    pub fn close_signal(&self) -> CloseSignal {
        CloseSignal { state: Arc::clone(&self.state) }
    }
}

/// Resolves when the server closes a connection at once; see [`EventReceiver::close_signal`].
pub struct CloseSignal {
    state: Arc<State>,
}

impl fmt::Debug for CloseSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseSignal").finish_non_exhaustive()
    }
}

impl CloseSignal {
    /// Waits until the server closes the connection at once, and tells why.
    pub async fn wait(&self) -> CloseReason {
        loop {
            if self.state.now.load(Ordering::Acquire) {
                if let Some(reason) = self.state.reason.get() {
                    return *reason;
                }
            }
            self.state.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use super::*;
    use crate::context::MessageContext;
    use crate::payload::Payload;

    fn frame(n: u32) -> EventFrame {
        EventFrame {
            name: Cow::Borrowed("tick"),
            payload: Payload::typed(n),
            context: MessageContext::new(),
        }
    }

    #[tokio::test]
    async fn the_receiver_stops_at_once_when_the_server_closes_now() {
        let (tx, mut rx) = event_queue();
        for n in 0..3 {
            tx.try_send(frame(n), 3).expect("room for 3");
        }
        assert_eq!(tx.try_send(frame(3), 3), Err(QueueError::Full), "the 4th is over the limit");
        assert!(rx.recv().await.is_some(), "events are delivered until the server closes");
        tx.close_now(CloseReason::SlowConsumer);
        assert!(rx.recv().await.is_none(), "2 queued events are not delivered after close_now");
        assert!(matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)));
        assert_eq!(rx.close_reason(), Some(CloseReason::SlowConsumer));
        assert!(!tx.is_closed(), "a sender is still alive: only close_now ended the stream");
    }

    #[tokio::test]
    async fn a_receiver_waiting_on_an_empty_queue_is_woken_by_close_now() {
        let (tx, mut rx) = event_queue();
        let waiting = tokio::spawn(async move { rx.recv().await.is_none() });
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.close_now(CloseReason::SlowConsumer);
        let ended = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(ended.expect("woken in time").expect("task"), "recv ends with `None`");
    }

    #[tokio::test]
    async fn a_graceful_finish_still_delivers_what_is_queued() {
        let (tx, mut rx) = event_queue();
        tx.try_send(frame(1), 8).expect("room");
        tx.finish(CloseReason::ShuttingDown);
        drop(tx);
        assert!(rx.recv().await.is_some(), "the queued event is delivered");
        assert!(rx.recv().await.is_none(), "then the stream ends");
        assert_eq!(rx.close_reason(), Some(CloseReason::ShuttingDown));
    }
}
