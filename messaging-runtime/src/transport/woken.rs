//! Futures and streams polled again only once they asked to be (a stream also after each
//! item it gave): for the rare events a busy loop waits for beside its work (the client
//! left, the server stops, the heartbeat is due), whose futures register a waker, or take
//! a lock, on every poll. The loop turns once per frame; the rare ones are polled once per
//! wake-up of their own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::task::{waker, ArcWake, AtomicWaker};
use futures_util::Stream;

/// Polls `inner` on its first poll and then only after `inner` woke its waker.
pub(crate) struct Woken<F> {
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

impl<F> Woken<F> {
    /// Wraps `inner`, which is polled on the first poll.
    pub(crate) fn new(inner: F) -> Self {
        let flag = Arc::new(Flag { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        let waker = waker(Arc::clone(&flag));
        Self { inner, flag, waker }
    }

    /// The wrapped future.
    pub(crate) fn inner(&self) -> &F {
        &self.inner
    }

    /// The wrapped future, to change.
    pub(crate) fn inner_mut(&mut self) -> &mut F {
        &mut self.inner
    }

    /// Whether `inner` woke since it was last polled (or was never polled). The task is
    /// registered first, so a wake-up that comes after the check still reaches it.
    fn woke(&self, cx: &Context<'_>) -> bool {
        self.flag.task.register(cx.waker());
        self.flag.woken.swap(false, Ordering::AcqRel)
    }
}

impl<F: Future + Unpin> Future for Woken<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if !this.woke(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll(&mut Context::from_waker(&this.waker))
    }
}

impl<S: Stream + Unpin> Stream for Woken<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        if !this.woke(cx) {
            return Poll::Pending;
        }
        let next = Pin::new(&mut this.inner).poll_next(&mut Context::from_waker(&this.waker));
        if next.is_ready() {
            // A stream that gave an item has not asked to be woken for the next one: it
            // is polled again next time, when it registers for it.
            this.flag.woken.store(true, Ordering::Release);
        }
        next
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

    #[tokio::test]
    async fn a_stream_gives_every_item_already_queued_without_a_new_wake_up() {
        use futures_util::StreamExt;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u8>();
        let mut items = Woken::new(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        for n in [1, 2, 3] {
            tx.send(n).expect("receiver alive");
        }
        let wait = std::time::Duration::from_secs(5);
        for n in [1, 2, 3] {
            let item = tokio::time::timeout(wait, items.next()).await;
            assert_eq!(item, Ok(Some(n)), "queued items come without another send");
        }
        drop(tx);
        assert_eq!(tokio::time::timeout(wait, items.next()).await, Ok(None), "then its end");
    }
}
