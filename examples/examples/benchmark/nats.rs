//! The `nats://` comparison: our generated client and server through a local nats-server
//! against raw `async-nats` request/reply of the same JSON payload, same run. The raw server
//! subscribes to one subject, parses each request body (`{"orderId":..}`), looks the order
//! up, clones and serialises it, and publishes the reply; the raw client serialises the
//! request and parses the reply into an `Order`. Ours adds the context headers and the
//! contract's subjects, queue group and ADR-32 statistics.

use std::collections::HashMap;
use std::sync::Arc;

use contracts::order::{GetOrderById, Order};
use futures_util::StreamExt;

use crate::measure::{best_of_rounds, concurrent, in_turn, on_worker, runtime, sequential, Side};
use crate::nats_server::NatsServer;
use crate::options::Options;
use crate::orders::{request_ids, sample_orders, start_ours};
use crate::report::{check, latency, print_table, Column, Figures};
use crate::IN_FLIGHT;

/// The highest latency ratio (ours p50 / raw p50) that passes.
const NATS_MAX_LATENCY_RATIO: f64 = 1.15;
/// The lowest throughput ratio (ours / raw) that passes.
const NATS_MIN_THROUGHPUT_RATIO: f64 = 0.8;
/// The raw side's subject.
const RAW_SUBJECT: &str = "bench.getOrderById";

/// The raw client: one `async-nats` connection.
#[derive(Clone)]
struct RawNats(async_nats::Client);

impl Side for RawNats {
    async fn call(&self, req: GetOrderById) -> Result<Order, String> {
        let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        let reply = self.0.request(RAW_SUBJECT, body.into()).await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&reply.payload).map_err(|e| e.to_string())
    }
}

/// The raw server: answers each request on its subscription's task.
async fn start_raw(address: &str) -> async_nats::Client {
    let broker = async_nats::connect(address).await.expect("the raw server connects");
    let mut requests =
        broker.queue_subscribe(RAW_SUBJECT, "q".to_owned()).await.expect("subscribes");
    broker.flush().await.expect("flushes");
    let orders: HashMap<String, Order> = sample_orders();
    let replier = broker.clone();
    tokio::spawn(async move {
        while let Some(message) = requests.next().await {
            let Some(reply) = message.reply else { continue };
            let Ok(req) = serde_json::from_slice::<GetOrderById>(&message.payload) else {
                continue;
            };
            let order = orders.get(&req.order_id).cloned();
            let body = serde_json::to_vec(&order).unwrap_or_default();
            let _ = replier.publish(reply, body.into()).await;
        }
    });
    broker
}

/// Runs the `nats://` comparison and prints its rounds, table and PASS/MISS lines; whether
/// both ratios met their targets.
pub(crate) fn bench_nats(options: Options, order_bytes: usize) -> bool {
    let broker = NatsServer::start();
    let rt = runtime(options.workers);
    let ids = request_ids();
    let url = broker.url();
    let _raw_server = rt.block_on(start_raw(&url));
    let raw =
        RawNats(rt.block_on(async_nats::connect(url.as_str())).expect("the raw client connects"));
    let (server, ours) = rt.block_on(start_ours(&url, 1));
    let ours = ours[0].clone();
    let sizes = options.ws;
    println!(
        "getOrderById round trip: nats:// typed client/server vs raw async-nats request/reply, \
         same JSON payload, local nats-server at {url}"
    );
    println!(
        "  runtime: multi-thread, {} workers, clients and servers in this process | order \
         {order_bytes} bytes | sequential: {} calls/round | throughput: {} calls/round, \
         {IN_FLIGHT} in flight | warm-up: {} calls/side | best of {} rounds",
        options.workers, sizes.iterations, sizes.requests, sizes.warmup, options.rounds
    );
    println!();
    let warm = sizes.warmup.max(IN_FLIGHT);
    on_worker(&rt, sequential(raw.clone(), Arc::clone(&ids), sizes.warmup));
    on_worker(&rt, concurrent(vec![raw.clone()], Arc::clone(&ids), warm));
    on_worker(&rt, sequential(ours.clone(), Arc::clone(&ids), sizes.warmup));
    on_worker(&rt, concurrent(vec![ours.clone()], Arc::clone(&ids), warm));
    let (raw_best, our_best) = best_of_rounds(options.rounds, false, |raw_first| {
        let (raw_latency, our_latency) = in_turn(
            options.only,
            raw_first,
            || latency(on_worker(&rt, sequential(raw.clone(), Arc::clone(&ids), sizes.iterations))),
            || {
                latency(on_worker(
                    &rt,
                    sequential(ours.clone(), Arc::clone(&ids), sizes.iterations),
                ))
            },
        );
        let (raw_throughput, our_throughput) = in_turn(
            options.only,
            raw_first,
            || on_worker(&rt, concurrent(vec![raw.clone()], Arc::clone(&ids), sizes.requests)),
            || on_worker(&rt, concurrent(vec![ours.clone()], Arc::clone(&ids), sizes.requests)),
        );
        (
            Figures { latency: raw_latency, throughput: raw_throughput, spread: 0.0 },
            Figures { latency: our_latency, throughput: our_throughput, spread: 0.0 },
        )
    });
    println!();
    let columns =
        [Column { title: format!("{IN_FLIGHT} in flight"), width: 22, figure: |f| f.throughput }];
    print_table(
        ["raw async-nats", "nats:// typed client + server"],
        &raw_best,
        &our_best,
        &columns,
    );
    println!();
    let latency_ratio = our_best.latency.p50.as_secs_f64() / raw_best.latency.p50.as_secs_f64();
    let latency_pass =
        check("latency ratio    (ours p50 / raw p50)", latency_ratio, "<=", NATS_MAX_LATENCY_RATIO);
    let throughput_ratio = our_best.throughput / raw_best.throughput;
    let throughput_pass = check(
        &format!("throughput ratio (ours / raw), {IN_FLIGHT} in flight"),
        throughput_ratio,
        ">=",
        NATS_MIN_THROUGHPUT_RATIO,
    );
    rt.block_on(server.stop());
    latency_pass && throughput_pass
}
