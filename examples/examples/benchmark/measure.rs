//! Measuring: the runtime both sides run on, the sequential and concurrent loops over a
//! `Side`, the warm-up, and the rounds that alternate which side goes first.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contracts::order::{GetOrderById, Order, OrderServiceClient};

use crate::options::{Sizes, Which};
use crate::report::{best, print_round, Figures};
use crate::IN_FLIGHT;

/// One side of the comparison: makes one `getOrderById` call.
pub(crate) trait Side: Clone + Send + Sync + 'static {
    /// One `getOrderById` call; the order, or why the call failed.
    fn call(&self, req: GetOrderById) -> impl Future<Output = Result<Order, String>> + Send;
}

impl Side for OrderServiceClient {
    async fn call(&self, req: GetOrderById) -> Result<Order, String> {
        self.get_order_by_id(req).await.map_err(|e| e.to_string())
    }
}

/// Whether each measured run prints its scheduler figures (`--scheduler`).
pub(crate) static SCHEDULER_STATS: AtomicBool = AtomicBool::new(false);

/// Whether our side's throughput calls come from one task per connection
/// (`--task-per-connection`) rather than from `IN_FLIGHT` caller tasks.
pub(crate) static TASK_PER_CONNECTION: AtomicBool = AtomicBool::new(false);

/// The runtime both sides run on: multi-thread, `workers` worker threads.
pub(crate) fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// One call; checks the answer so a broken side cannot look fast.
async fn checked_call<S: Side>(side: &S, ids: &[String], i: usize) {
    let id = &ids[i % ids.len()];
    match side.call(GetOrderById { order_id: black_box(id.clone()) }).await {
        Ok(order) => {
            assert_eq!(&order.id, id, "the answer is the order asked for");
            black_box(order);
        }
        Err(e) => panic!("benchmark call failed: {e}"),
    }
}

/// `n` calls one after another from one task on the runtime; per-call times in ns.
pub(crate) async fn sequential<S: Side>(side: S, ids: Arc<Vec<String>>, n: usize) -> Vec<u64> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        checked_call(&side, &ids, i).await;
        let elapsed = start.elapsed();
        samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    samples
}

/// `total` calls made by 64 tasks at once, spread evenly over `sides` (64 / `sides.len()`
/// tasks each); requests per second. With `--task-per-connection`, one task per side makes
/// that side's share, its 64 / `sides.len()` loops of calls joined on it.
pub(crate) async fn concurrent<S: Side>(sides: Vec<S>, ids: Arc<Vec<String>>, total: usize) -> f64 {
    if TASK_PER_CONNECTION.load(Ordering::Relaxed) {
        return concurrent_per_side(sides, ids, total).await;
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|t| {
            let (side, ids) = (sides[t % sides.len()].clone(), Arc::clone(&ids));
            tokio::spawn(async move { call_loop(&side, &ids, t, total).await })
        })
        .collect();
    rate(tasks, total, start).await
}

/// [`concurrent`] with one task per side, each making that side's loops of calls at once
/// (the loops, and the calls they make, are those of [`concurrent`]).
async fn concurrent_per_side<S: Side>(sides: Vec<S>, ids: Arc<Vec<String>>, total: usize) -> f64 {
    let start = Instant::now();
    let count = sides.len();
    let tasks: Vec<_> = (0..count)
        .map(|c| {
            let (side, ids) = (sides[c].clone(), Arc::clone(&ids));
            tokio::spawn(async move {
                // The loops `concurrent` gives this side's tasks.
                let loops = (c..IN_FLIGHT).step_by(count).map(|t| call_loop(&side, &ids, t, total));
                futures_util::future::join_all(loops).await;
            })
        })
        .collect();
    rate(tasks, total, start).await
}

/// Loop `t` of the `IN_FLIGHT` that make `total` calls: its even share of them (the first
/// loops take the remainder), one after another.
async fn call_loop<S: Side>(side: &S, ids: &[String], t: usize, total: usize) {
    let calls = total / IN_FLIGHT + usize::from(t < total % IN_FLIGHT);
    for i in 0..calls {
        checked_call(side, ids, t * 7919 + i).await;
    }
}

/// Waits for the measuring `tasks`; `total` calls since `start`, in requests per second.
async fn rate(tasks: Vec<tokio::task::JoinHandle<()>>, total: usize, start: Instant) -> f64 {
    for task in tasks {
        task.await.expect("a throughput task panicked");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// Runs `fut` as a task on a worker thread (not on the thread blocking on the runtime), so
/// both sides are measured under the same scheduling.
pub(crate) fn on_worker<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl Future<Output = T> + Send + 'static,
) -> T {
    let before = SCHEDULER_STATS.load(Ordering::Relaxed).then(|| worker_figures(rt));
    let started = Instant::now();
    let output =
        rt.block_on(async move { tokio::spawn(fut).await.expect("a measuring task panicked") });
    if let Some(before) = before {
        print_scheduler(&before, &worker_figures(rt), started.elapsed());
    }
    output
}

/// What the scheduler counted so far: each worker's parks and time spent busy, and (in a
/// build with `--cfg tokio_unstable`, whose metrics they are) the tasks stolen and the yields
/// tokio's cooperative budget forced.
struct SchedulerFigures {
    workers: Vec<(u64, Duration)>,
    steals: u64,
    forced_yields: u64,
}

fn worker_figures(rt: &tokio::runtime::Runtime) -> SchedulerFigures {
    let metrics = rt.metrics();
    let workers = (0..metrics.num_workers())
        .map(|w| (metrics.worker_park_count(w), metrics.worker_total_busy_duration(w)))
        .collect();
    #[cfg(tokio_unstable)]
    let (steals, forced_yields) = (
        (0..metrics.num_workers()).map(|w| metrics.worker_steal_count(w)).sum(),
        metrics.budget_forced_yield_count(),
    );
    #[cfg(not(tokio_unstable))]
    let (steals, forced_yields) = (0, 0);
    SchedulerFigures { workers, steals, forced_yields }
}

/// What each worker did during one run of `elapsed`: how often it parked (went idle, to be
/// woken again), and how much of the run it was busy; with `--cfg tokio_unstable`, the
/// steals and forced yields too.
fn print_scheduler(before: &SchedulerFigures, after: &SchedulerFigures, elapsed: Duration) {
    let workers: Vec<String> = before
        .workers
        .iter()
        .zip(&after.workers)
        .enumerate()
        .map(|(w, ((parks, busy), (parks_after, busy_after)))| {
            let share = (*busy_after - *busy).as_secs_f64() / elapsed.as_secs_f64();
            format!("worker {w}: {} parks, busy {:.0}%", parks_after - parks, 100.0 * share)
        })
        .collect();
    let unstable = if cfg!(tokio_unstable) {
        format!(
            "; {} steals, {} forced yields",
            after.steals - before.steals,
            after.forced_yields - before.forced_yields
        )
    } else {
        String::new()
    };
    println!(
        "    scheduler over {:.0} ms: {}{unstable}",
        elapsed.as_secs_f64() * 1e3,
        workers.join(", ")
    );
}

/// Warms `side` up: `sizes.warmup` sequential calls, then as many (at least 64) with 64 in
/// flight.
pub(crate) fn warm_up<S: Side>(
    rt: &tokio::runtime::Runtime,
    side: &S,
    ids: &Arc<Vec<String>>,
    sizes: Sizes,
) {
    black_box(on_worker(rt, sequential(side.clone(), Arc::clone(ids), sizes.warmup)));
    let n = sizes.warmup.max(IN_FLIGHT);
    black_box(on_worker(rt, concurrent(vec![side.clone()], Arc::clone(ids), n)));
}

/// Runs `a` and `b` one after the other, `a` first when `a_first`; returns (a, b). With
/// `--side`, only the chosen side runs and the other reads as zero (for profiling one side).
pub(crate) fn in_turn<T: Default>(
    only: Option<Which>,
    a_first: bool,
    a: impl FnOnce() -> T,
    b: impl FnOnce() -> T,
) -> (T, T) {
    match only {
        Some(Which::Raw) => return (a(), T::default()),
        Some(Which::Ours) => return (T::default(), b()),
        None => {}
    }
    if a_first {
        let a = a();
        (a, b())
    } else {
        let b = b();
        (a(), b)
    }
}

/// Runs `rounds` rounds, each measuring (raw, ours) with `round`, which is told whether the
/// raw side goes first (it does in odd rounds, so the sides alternate); prints each round's
/// figures (`ws`: with the spread column) and returns the best of each figure over the
/// rounds, (raw, ours).
pub(crate) fn best_of_rounds(
    rounds: usize,
    ws: bool,
    mut round: impl FnMut(bool) -> (Figures, Figures),
) -> (Figures, Figures) {
    let mut raw_rounds = Vec::with_capacity(rounds);
    let mut our_rounds = Vec::with_capacity(rounds);
    for n in 1..=rounds {
        let raw_first = n % 2 == 1;
        let (raw_figures, our_figures) = round(raw_first);
        print_round(n, "raw", &raw_figures, ws);
        print_round(n, "ours", &our_figures, ws);
        raw_rounds.push(raw_figures);
        our_rounds.push(our_figures);
    }
    (best(&raw_rounds), best(&our_rounds))
}
