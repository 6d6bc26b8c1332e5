//! A future that is polled again only once it asked to be: for the rare events a busy loop
//! waits for beside its work (the client left, the server stops), whose futures take a lock
//! on every poll. The loop turns once per frame; the rare futures are polled once per
//! wake-up of their own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::task::{waker, ArcWake, AtomicWaker};

/// Polls `inner` on its first poll and then only after `inner` woke its waker.
pub(super) struct Woken<F> {
    inner: F,
    flag: Arc<Flag>,
    waker: Waker,
}

struct Flag {
    /// Whether `inner` woke its waker since it was last polled.
    woken: AtomicBool,
    /// The task polling the [`Woken`].
    task: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::Release);
        flag.task.wake();
    }
}

impl<F: Future + Unpin> Woken<F> {
    /// Wraps `inner`, which is polled on the first poll.
    pub(super) fn new(inner: F) -> Self {
        let flag = Arc::new(Flag { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        let waker = waker(Arc::clone(&flag));
        Self { inner, flag, waker }
    }
}

impl<F: Future + Unpin> Future for Woken<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.flag.task.register(cx.waker());
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll(&mut Context::from_waker(&this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_once_the_inner_future_wakes_it() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiting = Arc::clone(&notify);
        let notified = Box::pin(async move { waiting.notified().await });
        let mut woken = Woken::new(notified);
        let noop = &mut Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut woken).poll(noop).is_pending(), "nothing notified yet");
        assert!(Pin::new(&mut woken).poll(noop).is_pending(), "not polled again unwoken");
        notify.notify_one();
        let done = tokio::time::timeout(std::time::Duration::from_secs(5), woken).await;
        assert!(done.is_ok(), "the notification reaches the wrapped future");
    }
}
