//! The `memory://` comparison: our generated client and server over `memory://` against
//! its raw floor, a tokio `mpsc` + `oneshot` exchange of the same typed values.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use contracts::order::{GetOrderById, Order, OrderError, OrderServiceClient};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::measure::{
    best_of_rounds, concurrent, in_turn, on_worker, runtime, sequential, warm_up, Side,
};
use crate::options::{Options, Which};
use crate::orders::{request_ids, sample_orders, start_ours};
use crate::report::{check, latency, print_table, Column, Figures};
use crate::{IN_FLIGHT, ORDERS};

/// The targets the ratios are judged against.
const MAX_LATENCY_RATIO: f64 = 1.5;
/// The lowest throughput ratio (ours / raw) that passes.
const MIN_THROUGHPUT_RATIO: f64 = 0.6;

// ---------------------------------------------------------------------------------------
// Raw in-process: tokio mpsc + oneshot carrying the same typed values
// ---------------------------------------------------------------------------------------

type RawReply = Result<Order, OrderError>;

#[derive(Clone)]
struct RawClient {
    requests: mpsc::UnboundedSender<(GetOrderById, oneshot::Sender<RawReply>)>,
}

impl RawClient {
    /// Spawns the server task and returns a client of it.
    fn start(orders: HashMap<String, Order>) -> Self {
        let (requests, mut incoming) =
            mpsc::unbounded_channel::<(GetOrderById, oneshot::Sender<RawReply>)>();
        tokio::spawn(async move {
            while let Some((req, reply)) = incoming.recv().await {
                let answer = match orders.get(&req.order_id) {
                    Some(order) => Ok(order.clone()),
                    None => Err(OrderError::OrderNotFound { order_id: req.order_id }),
                };
                let _ = reply.send(answer);
            }
        });
        Self { requests }
    }

    async fn get_order_by_id(&self, req: GetOrderById) -> Result<Order, String> {
        let (reply, answer) = oneshot::channel();
        self.requests.send((req, reply)).map_err(|_| "raw server gone".to_owned())?;
        match answer.await {
            Ok(Ok(order)) => Ok(order),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("raw server dropped the reply".to_owned()),
        }
    }
}

impl Side for RawClient {
    fn call(&self, req: GetOrderById) -> impl Future<Output = Result<Order, String>> + Send {
        self.get_order_by_id(req)
    }
}

// ---------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------

/// Runs the `memory://` comparison and prints its rounds, table and PASS/MISS lines;
/// whether both ratios met their targets.
pub(crate) fn bench_memory(options: Options, order_bytes: usize) -> bool {
    let sizes = options.memory;
    let rt = runtime(options.workers);
    let ids = request_ids();

    // Both servers hold their own copy of the same orders.
    let raw = rt.block_on(async { RawClient::start(sample_orders()) });
    let (_server, ours) = rt.block_on(start_ours("memory://benchmark-orders", 1));
    let ours = ours.into_iter().next().expect("one client");

    print_header(options, order_bytes);

    if options.only != Some(Which::Ours) {
        warm_up(&rt, &raw, &ids, sizes);
    }
    if options.only != Some(Which::Raw) {
        warm_up(&rt, &ours, &ids, sizes);
    }

    let (raw, ours) = best_of_rounds(options.rounds, false, |raw_first| {
        round(&rt, options, (&raw, &ours), &ids, raw_first)
    });
    print_summary(&raw, &ours)
}

/// What is compared, and how.
fn print_header(options: Options, order_bytes: usize) {
    let sizes = options.memory;
    println!("getOrderById round trip: memory:// typed client/server vs raw tokio mpsc + oneshot");
    println!(
        "  runtime: multi-thread, {} workers | order: {order_bytes} bytes as JSON, 3 items, \
         {ORDERS} in the map",
        options.workers
    );
    println!(
        "  sequential: {} calls/round | throughput: {} calls/round, {IN_FLIGHT} in flight | \
         warm-up: {} calls/side | best of {} rounds, sides alternate first",
        sizes.iterations, sizes.requests, sizes.warmup, options.rounds
    );
    println!();
}

/// One round: sequential latency, then throughput with 64 in flight, each side in turn
/// (raw first when `raw_first`); (raw, ours).
fn round(
    rt: &Runtime,
    options: Options,
    (raw, ours): (&RawClient, &OrderServiceClient),
    ids: &Arc<Vec<String>>,
    raw_first: bool,
) -> (Figures, Figures) {
    let sizes = options.memory;
    let (raw_latency, our_latency) = in_turn(
        options.only,
        raw_first,
        || latency(on_worker(rt, sequential(raw.clone(), Arc::clone(ids), sizes.iterations))),
        || latency(on_worker(rt, sequential(ours.clone(), Arc::clone(ids), sizes.iterations))),
    );
    let (raw_throughput, our_throughput) = in_turn(
        options.only,
        raw_first,
        || on_worker(rt, concurrent(vec![raw.clone()], Arc::clone(ids), sizes.requests)),
        || on_worker(rt, concurrent(vec![ours.clone()], Arc::clone(ids), sizes.requests)),
    );
    let raw_figures = Figures { latency: raw_latency, throughput: raw_throughput, spread: 0.0 };
    let our_figures = Figures { latency: our_latency, throughput: our_throughput, spread: 0.0 };
    (raw_figures, our_figures)
}

/// The table of the best figures, then the ratios against their targets; whether both
/// passed.
fn print_summary(raw: &Figures, ours: &Figures) -> bool {
    let latency_ratio = ours.latency.p50.as_secs_f64() / raw.latency.p50.as_secs_f64();
    let throughput_ratio = ours.throughput / raw.throughput;

    println!();
    let throughput = Column {
        title: "throughput (64 in flight)".to_owned(),
        width: 25,
        figure: |f| f.throughput,
    };
    let names = ["raw tokio mpsc + oneshot", "memory:// typed client + server"];
    print_table(names, raw, ours, &[throughput]);
    println!();
    let latency_pass =
        check("latency ratio    (ours p50 / raw p50)", latency_ratio, "<=", MAX_LATENCY_RATIO);
    let throughput_pass =
        check("throughput ratio (ours / raw)", throughput_ratio, ">=", MIN_THROUGHPUT_RATIO);
    latency_pass && throughput_pass
}
