//! The answers a server connection's read side hands to its write side. Both sides run in
//! one task, the read side polled first (`server.rs`), so the write side sees every answer
//! queued in the same poll: no wake-up is needed, and none is made. A task that woke itself
//! would be re-queued behind other tasks, and wake a parked worker to steal it, on every
//! answer.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use tokio_tungstenite::tungstenite::Message;

/// A bounded queue of encoded answers (and pings), from the read side to the write side.
pub(super) struct Outbox {
    inner: Mutex<Inner>,
    limit: usize,
}

struct Inner {
    queue: VecDeque<Message>,
    /// The read side will queue nothing more.
    closed: bool,
    /// The read side, waiting for room.
    reader: Option<Waker>,
}

impl Outbox {
    /// An empty outbox that holds at most `limit` messages.
    pub(super) fn new(limit: usize) -> Self {
        let inner = Inner { queue: VecDeque::new(), closed: false, reader: None };
        Self { inner: Mutex::new(inner), limit }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `message`, waiting while the outbox is full.
    pub(super) async fn push(&self, message: Message) {
        let mut message = Some(message);
        poll_fn(|cx| {
            let mut inner = self.lock();
            if inner.queue.len() < self.limit {
                inner.queue.extend(message.take());
                Poll::Ready(())
            } else {
                inner.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }

    /// Tells the write side that nothing more comes once the queue is empty.
    pub(super) fn close(&self) {
        self.lock().closed = true;
    }

    /// The next message, or `None` once the outbox is closed and empty; otherwise waits
    /// (for the read side's next turn in the same task, see the module docs).
    pub(super) async fn next(&self) -> Option<Message> {
        poll_fn(|_| {
            let mut inner = self.lock();
            match inner.queue.pop_front() {
                Some(message) => {
                    wake_reader(&mut inner);
                    Poll::Ready(Some(message))
                }
                None if inner.closed => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// The next message, if one is queued.
    pub(super) fn try_next(&self) -> Option<Message> {
        let mut inner = self.lock();
        let message = inner.queue.pop_front();
        wake_reader(&mut inner);
        message
    }
}

/// Wakes the read side when it waits for room: only ever when the outbox was full.
fn wake_reader(inner: &mut Inner) {
    if let Some(reader) = inner.reader.take() {
        reader.wake();
    }
}
