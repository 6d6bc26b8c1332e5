//! Wake-ups a connection's task does not need to send itself (and see
//! [`crate::transport::woken`], for the futures a busy loop polls only when they woke).
//!
//! [`SelfWaking`]: a task whose parts wake each other (a socket read hands a request to
//! dispatch, whose answer goes back to the socket's write) is polled again at once when it
//! woke itself while it was being polled, instead of being sent back through the scheduler,
//! which queues it behind other tasks and wakes a parked worker to steal it: on every
//! request.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::task::{waker, ArcWake};

use crate::transport::woken::TaskSlot;

/// Polls a future again, in the same poll, when it woke itself while being polled (up to
/// [`SelfWaking::TURNS`] times, then it yields like any task); wake-ups from elsewhere
/// reach the task as usual.
pub(super) struct SelfWaking<F> {
    inner: F,
    flag: Arc<Turn>,
    waker: Waker,
    /// The task waker last registered in `flag`.
    registered: Option<Waker>,
}

/// Set in [`Turn::state`] while the future is being polled.
const RUNNING: u8 = 1;
/// Set in [`Turn::state`] when anything woke the future since its poll began.
const WOKEN: u8 = 2;

struct Turn {
    /// [`RUNNING`] and [`WOKEN`]: one atomic, so a wake-up and the end of a poll are
    /// ordered, and each costs one atomic write.
    state: AtomicU8,
    /// The task it runs on.
    task: TaskSlot,
}

impl ArcWake for Turn {
    fn wake_by_ref(turn: &Arc<Self>) {
        // A wake-up that finds the poll running is seen by that poll when it ends (the
        // `fetch_and` below); one that does not wakes the task.
        if turn.state.fetch_or(WOKEN, Ordering::AcqRel) & RUNNING == 0 {
            turn.task.wake();
        }
    }
}

impl<F: Future + Unpin> SelfWaking<F> {
    /// How many times one poll polls the future at most.
    const TURNS: usize = 32;

    /// Wraps `inner`.
    pub(super) fn new(inner: F) -> Self {
        let flag = Arc::new(Turn { state: AtomicU8::new(0), task: TaskSlot::default() });
        let waker = waker(Arc::clone(&flag));
        Self { inner, flag, waker, registered: None }
    }
}

impl<F: Future + Unpin> Future for SelfWaking<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.flag.task.register(&mut this.registered, cx.waker());
        for _ in 0..Self::TURNS {
            // Running, and not woken since this turn began.
            this.flag.state.swap(RUNNING, Ordering::AcqRel);
            let polled = Pin::new(&mut this.inner).poll(&mut Context::from_waker(&this.waker));
            let during = this.flag.state.fetch_and(!RUNNING, Ordering::AcqRel);
            if polled.is_ready() || during & WOKEN == 0 {
                return polled;
            }
        }
        // Still waking itself: let other tasks run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_future_that_wakes_itself_is_polled_again_in_the_same_poll() {
        use std::sync::atomic::AtomicUsize;
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&polls);
        // Wakes itself twice, then is done: three polls of the inner future.
        let inner = std::future::poll_fn(move |cx| {
            if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(7)
            }
        });
        let mut wrapped = SelfWaking::new(Box::pin(inner));
        let noop = &mut Context::from_waker(Waker::noop());
        assert_eq!(Pin::new(&mut wrapped).poll(noop), Poll::Ready(7), "done in one outer poll");
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_wake_up_from_elsewhere_reaches_the_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let wrapped = SelfWaking::new(Box::pin(rx));
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            let _ = tx.send(3);
        });
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), wrapped).await;
        assert_eq!(got.ok().and_then(Result::ok), Some(3), "the send woke the waiting task");
        sender.await.expect("sender task");
    }
}
