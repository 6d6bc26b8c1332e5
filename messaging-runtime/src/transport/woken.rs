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

use futures_util::task::{waker, ArcWake};
use futures_util::Stream;

/// Polls `inner` on its first poll and then only after `inner` woke its waker.
pub(crate) struct Woken<F> {
    inner: F,
    flag: Arc<Flag>,
    waker: Waker,
    /// The task waker last registered in `flag`: while nothing woke, it is still there.
    registered: Option<Waker>,
}

struct Flag {
    /// Whether `inner` woke its waker since it was last polled.
    woken: AtomicBool,
    /// The task polling the [`Woken`].
    task: TaskSlot,
}

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::Release);
        flag.task.wake();
    }
}

/// The waker of the task that polls a wrapper. Woken by reference, never taken, so it stays
/// in place from one wake-up to the next: the wrapper replaces it only when another task
/// polls it, and otherwise touches nothing shared to stay registered.
#[derive(Default)]
pub(crate) struct TaskSlot {
    task: std::sync::Mutex<Option<Waker>>,
}

impl TaskSlot {
    /// Wakes the task registered last, if any.
    pub(crate) fn wake(&self) {
        let task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }

    /// Makes `waker` the one woken, unless `registered` (what the caller registered last)
    /// already wakes the same task.
    pub(crate) fn register(&self, registered: &mut Option<Waker>, waker: &Waker) {
        if registered.as_ref().is_some_and(|task| task.will_wake(waker)) {
            return;
        }
        *registered = Some(waker.clone());
        *self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(waker.clone());
    }
}

impl<F> Woken<F> {
    /// Wraps `inner`, which is polled on the first poll.
    pub(crate) fn new(inner: F) -> Self {
        let flag = Arc::new(Flag { woken: AtomicBool::new(true), task: TaskSlot::default() });
        let waker = waker(Arc::clone(&flag));
        Self { inner, flag, waker, registered: None }
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
    /// registered first, so a wake-up that comes after the check still reaches it. Polled
    /// by the task registered last and unwoken (a busy loop, polled once per frame), it
    /// costs one load.
    fn woke(&mut self, cx: &Context<'_>) -> bool {
        self.flag.task.register(&mut self.registered, cx.waker());
        self.flag.woken.load(Ordering::Acquire) && self.flag.woken.swap(false, Ordering::AcqRel)
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

    /// Counts its wake-ups.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl ArcWake for Counter {
        fn wake_by_ref(counter: &Arc<Self>) {
            counter.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_wake_up_reaches_the_task_that_polled_last_even_unwoken() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiting = Arc::clone(&notify);
        let mut woken = Woken::new(Box::pin(async move { waiting.notified().await }));
        let (first, second) = (Arc::new(Counter(0.into())), Arc::new(Counter(0.into())));
        let (first_waker, second_waker) = (waker(Arc::clone(&first)), waker(Arc::clone(&second)));
        for _ in 0..3 {
            let polled = Pin::new(&mut woken).poll(&mut Context::from_waker(&first_waker));
            assert!(polled.is_pending(), "nothing notified yet");
        }
        // Another task polls it now, with nothing woken in between: it must be the one woken.
        let polled = Pin::new(&mut woken).poll(&mut Context::from_waker(&second_waker));
        assert!(polled.is_pending(), "still nothing notified");
        notify.notify_one();
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "the task that polled before is not woken");
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "the task that polled last is");
        let polled = Pin::new(&mut woken).poll(&mut Context::from_waker(&second_waker));
        assert!(polled.is_ready(), "and the future is done");
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
