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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::task::{waker, ArcWake, AtomicWaker};

/// Polls a future again, in the same poll, when it woke itself while being polled (up to
/// [`SelfWaking::TURNS`] times, then it yields like any task); wake-ups from elsewhere
/// reach the task as usual.
pub(super) struct SelfWaking<F> {
    inner: F,
    flag: Arc<Turn>,
    waker: Waker,
}

struct Turn {
    /// Whether the future is being polled right now.
    running: AtomicBool,
    /// Whether anything woke it since its poll began.
    woken: AtomicBool,
    /// The task it runs on.
    task: AtomicWaker,
}

impl ArcWake for Turn {
    fn wake_by_ref(turn: &Arc<Self>) {
        // Sequentially consistent with the poll loop below: a wake-up that sees the poll
        // running is seen by that poll once it stops running.
        turn.woken.store(true, Ordering::SeqCst);
        if !turn.running.load(Ordering::SeqCst) {
            turn.task.wake();
        }
    }
}

impl<F: Future + Unpin> SelfWaking<F> {
    /// How many times one poll polls the future at most.
    const TURNS: usize = 32;

    /// Wraps `inner`.
    pub(super) fn new(inner: F) -> Self {
        let flag = Arc::new(Turn {
            running: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        let waker = waker(Arc::clone(&flag));
        Self { inner, flag, waker }
    }
}

impl<F: Future + Unpin> Future for SelfWaking<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.flag.task.register(cx.waker());
        for _ in 0..Self::TURNS {
            this.flag.woken.store(false, Ordering::SeqCst);
            this.flag.running.store(true, Ordering::SeqCst);
            let polled = Pin::new(&mut this.inner).poll(&mut Context::from_waker(&this.waker));
            this.flag.running.store(false, Ordering::SeqCst);
            if polled.is_ready() || !this.flag.woken.load(Ordering::SeqCst) {
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
