//! The `ws://` comparison: our generated client and server over `ws://127.0.0.1` against
//! the raw tokio-tungstenite floor in `raw_ws`, with one connection and 64 requests in
//! flight, and with four connections and 16 on each.

use std::hint::black_box;
use std::sync::Arc;

use contracts::order::OrderServiceClient;
use tokio::runtime::Runtime;

use crate::measure::{best_of_rounds, concurrent, in_turn, on_worker, runtime, sequential};
use crate::options::{Options, Which};
use crate::orders::{request_ids, sample_orders, start_ours};
use crate::raw_ws::{raw_ws_concurrent, raw_ws_sequential, start_raw, ws_frame_sizes, RawConns};
use crate::report::{check, latency, print_table, Column, Figures};
use crate::{IN_FLIGHT, WS_CONNECTIONS};

/// The highest latency ratio (ours p50 / raw p50) that passes.
const WS_MAX_LATENCY_RATIO: f64 = 1.15;
/// The lowest throughput ratio (ours / raw) that passes, for both throughput runs.
const WS_MIN_THROUGHPUT_RATIO: f64 = 0.8;

/// The two sides of the comparison, connected, and the ids they ask for.
struct Sides {
    /// The raw client's `WS_CONNECTIONS` connections.
    raw: RawConns,
    /// Our `WS_CONNECTIONS` clients.
    ours: Vec<OrderServiceClient>,
    /// The first of our clients, which the sequential and the 1 × 64 runs use.
    first: OrderServiceClient,
    /// The ids the clients ask for.
    ids: Arc<Vec<String>>,
}

/// Runs the `ws://` comparison and prints its rounds, table and PASS/MISS lines; whether
/// all three ratios met their targets.
pub(crate) fn bench_ws(options: Options, order_bytes: usize) -> bool {
    let rt = runtime(options.workers);
    let ids = request_ids();

    // Both servers hold their own copy of the same orders; each side has WS_CONNECTIONS
    // connections open throughout (the sequential and the 1 × 64 runs use the first).
    let raw: RawConns = rt.block_on(async { start_raw(sample_orders(), WS_CONNECTIONS).await });
    let (server, ours) = rt.block_on(start_ours("ws://127.0.0.1:0/orders", WS_CONNECTIONS));
    let first = ours[0].clone();
    let sides = Sides { raw, ours, first, ids };

    print_header(options, order_bytes, server.address());
    warm_up(&rt, options, &sides);
    let (raw, ours) =
        best_of_rounds(options.rounds, true, |raw_first| round(&rt, options, &sides, raw_first));
    let pass = print_summary(&raw, &ours);
    drop(server);
    pass
}

/// What is compared, and how; `ours` is our server's address.
fn print_header(options: Options, order_bytes: usize, ours: &str) {
    let sizes = options.ws;
    let (request_bytes, response_bytes) = ws_frame_sizes();
    println!(
        "getOrderById round trip: ws:// typed client/server vs raw tokio-tungstenite, same JSON \
         envelopes, 127.0.0.1"
    );
    println!(
        "  runtime: multi-thread, {} workers, clients and servers in this process | \
         frames: request {request_bytes} bytes, response {response_bytes} bytes (order \
         {order_bytes}) | ours: {ours}",
        options.workers
    );
    println!(
        "  sequential: {} calls/round | throughput: {} calls/round, 1 connection x {IN_FLIGHT} in \
         flight and {WS_CONNECTIONS} x {} | warm-up: {} calls/side | best of {} rounds, sides \
         alternate first",
        sizes.iterations,
        sizes.requests,
        IN_FLIGHT / WS_CONNECTIONS,
        sizes.warmup,
        options.rounds
    );
    println!(
        "  raw: one task per connection, requests pipelined, writes batched (flush when no more \
         is ready), TCP_NODELAY both ends, reads buffered as in the ws:// transport"
    );
    println!();
}

/// Warms each side up (unless `--side` leaves it out) with the runs it is measured in:
/// sequential, 1 × 64 and `WS_CONNECTIONS` × 16.
fn warm_up(rt: &Runtime, options: Options, sides: &Sides) {
    let sizes = options.ws;
    let warm_n = sizes.warmup.max(IN_FLIGHT);
    let Sides { raw, ours, first, ids } = sides;
    if options.only != Some(Which::Ours) {
        black_box(on_worker(rt, raw_ws_sequential(Arc::clone(raw), Arc::clone(ids), sizes.warmup)));
        black_box(on_worker(rt, raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), warm_n, 1)));
        let spread = raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), warm_n, WS_CONNECTIONS);
        black_box(on_worker(rt, spread));
    }
    if options.only != Some(Which::Raw) {
        black_box(on_worker(rt, sequential(first.clone(), Arc::clone(ids), sizes.warmup)));
        black_box(on_worker(rt, concurrent(vec![first.clone()], Arc::clone(ids), warm_n)));
        black_box(on_worker(rt, concurrent(ours.clone(), Arc::clone(ids), warm_n)));
    }
}

/// One round: sequential latency, throughput on one connection with 64 in flight, then
/// spread over `WS_CONNECTIONS` connections, each side in turn (raw first when
/// `raw_first`); (raw, ours).
fn round(rt: &Runtime, options: Options, sides: &Sides, raw_first: bool) -> (Figures, Figures) {
    let (sizes, only) = (options.ws, options.only);
    let Sides { raw, ours, first, ids } = sides;
    let (raw_latency, our_latency) = in_turn(
        only,
        raw_first,
        || {
            let n = sizes.iterations;
            latency(on_worker(rt, raw_ws_sequential(Arc::clone(raw), Arc::clone(ids), n)))
        },
        || latency(on_worker(rt, sequential(first.clone(), Arc::clone(ids), sizes.iterations))),
    );
    let (raw_throughput, our_throughput) = in_turn(
        only,
        raw_first,
        || {
            let n = sizes.requests;
            on_worker(rt, raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), n, 1))
        },
        || {
            let n = sizes.requests;
            on_worker(rt, concurrent(vec![first.clone()], Arc::clone(ids), n))
        },
    );
    let (raw_spread, our_spread) = in_turn(
        only,
        raw_first,
        || {
            let n = sizes.requests;
            on_worker(rt, raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), n, WS_CONNECTIONS))
        },
        || on_worker(rt, concurrent(ours.clone(), Arc::clone(ids), sizes.requests)),
    );
    let raw_figures =
        Figures { latency: raw_latency, throughput: raw_throughput, spread: raw_spread };
    let our_figures =
        Figures { latency: our_latency, throughput: our_throughput, spread: our_spread };
    (raw_figures, our_figures)
}

/// The table of the best figures, then the three ratios against their targets; whether all
/// passed.
fn print_summary(raw: &Figures, ours: &Figures) -> bool {
    let latency_ratio = ours.latency.p50.as_secs_f64() / raw.latency.p50.as_secs_f64();
    let throughput_ratio = ours.throughput / raw.throughput;
    let spread_ratio = ours.spread / raw.spread;

    let spread_title = format!("{WS_CONNECTIONS} conn x {} in flight", IN_FLIGHT / WS_CONNECTIONS);
    println!();
    let columns = [
        Column { title: "1 conn x 64 in flight".to_owned(), width: 22, figure: |f| f.throughput },
        Column { title: spread_title, width: 22, figure: |f| f.spread },
    ];
    print_table(["raw tokio-tungstenite", "ws:// typed client + server"], raw, ours, &columns);
    println!();
    let latency_pass =
        check("latency ratio    (ours p50 / raw p50)", latency_ratio, "<=", WS_MAX_LATENCY_RATIO);
    let throughput_pass = check(
        &format!("throughput ratio (ours / raw), 1 x {IN_FLIGHT}"),
        throughput_ratio,
        ">=",
        WS_MIN_THROUGHPUT_RATIO,
    );
    let spread_pass = check(
        &format!(
            "throughput ratio (ours / raw), {WS_CONNECTIONS} x {}",
            IN_FLIGHT / WS_CONNECTIONS
        ),
        spread_ratio,
        ">=",
        WS_MIN_THROUGHPUT_RATIO,
    );
    latency_pass && throughput_pass && spread_pass
}
