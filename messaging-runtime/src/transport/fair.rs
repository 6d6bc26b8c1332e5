//! Fairness for the transports' connection tasks: they run outside tokio's cooperative
//! budget and count their own turns, many more per poll than the budget allows.

/// How many turns (frames read, or batches written) a connection's task takes in one poll
/// before it lets the runtime's other tasks run.
///
/// A connection's task runs outside tokio's cooperative budget
/// ([`tokio::task::unconstrained`]), because the budget's forced yields (every few dozen
/// frames at full load) put the task at the back of its worker's queue and woke the other,
/// idle worker to steal it: on a 2-worker runtime the connection hopped between workers
/// (770 forced yields per 50,000 requests on one `ws://` connection, measured with tokio's
/// runtime metrics). These turns bound what one busy connection takes instead, counted per
/// poll as the budget is, so a task that goes idle between frames never yields.
const TURNS_PER_POLL: u32 = 512;

std::thread_local! {
    /// The turns the connection task being polled on this thread has taken in this poll.
    static TURNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs a connection's future outside tokio's cooperative budget, with the turns of
/// [`turn`] counted from the start of each poll instead.
pub(crate) async fn fair<F: std::future::Future>(future: F) -> F::Output {
    use std::future::Future as _;
    let mut future = std::pin::pin!(tokio::task::unconstrained(future));
    std::future::poll_fn(move |cx| {
        TURNS.with(|turns| turns.set(0));
        future.as_mut().poll(cx)
    })
    .await
}

/// Takes one turn of a loop in a [`fair`] future; once the task has taken
/// [`TURNS_PER_POLL`] in this poll, lets other tasks run first.
pub(crate) async fn turn() {
    let taken = TURNS.with(|turns| {
        let taken = turns.get() + 1;
        turns.set(taken);
        taken
    });
    if taken >= TURNS_PER_POLL {
        tokio::task::yield_now().await;
    }
}

/// Steps aside once: wakes its own task and returns `Pending`, so that the futures polled
/// beside this one in the same task take their step before this one goes on. A task that
/// polls itself again when it woke itself (a server's connection) pays no trip through the
/// scheduler for it.
#[cfg_attr(not(feature = "ws"), allow(dead_code, reason = "only the socket engine steps aside"))]
pub(crate) fn step_aside() -> StepAside {
    StepAside { stepped: false }
}

/// The future of [`step_aside`].
pub(crate) struct StepAside {
    stepped: bool,
}

impl std::future::Future for StepAside {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.stepped {
            return std::task::Poll::Ready(());
        }
        self.stepped = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
