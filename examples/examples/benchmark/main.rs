//! Benchmark: one `getOrderById` round trip through the generated `OrderServiceClient` and
//! `OrderServiceServer`, against the raw floor of the same exchange, measured in the same run
//! on the same runtime, in two tables:
//!
//! - `memory://` against a tokio `mpsc` + `oneshot` exchange of the same typed values;
//! - `nats://` through a local nats-server (started by the benchmark) against raw
//!   `async-nats` request/reply of the same JSON payload (`--nats`, or `--all`);
//! - `ws://127.0.0.1` against a raw tokio-tungstenite client and server exchanging the same
//!   JSON envelopes (`{"type":"request",..}` → `{"type":"response",..}`). The raw server
//!   parses each request envelope with serde_json (payload and context included), looks the
//!   order up and clones it (as the service's handler does), and serialises the response;
//!   the raw client serialises the request (with the context our client sends: timestamp
//!   and deadline) and parses the response into an `Order`. The raw client pipelines its
//!   requests from one task per connection; both raw sides batch their writes (several
//!   frames, one flush, when more are ready) and set `TCP_NODELAY`, and read the socket
//!   through the same buffering as the `ws://` transport.
//!
//! ```text
//! cargo run --release -p examples --example benchmark             # both tables
//! cargo run --release -p examples --example benchmark -- --ws     # only ws://
//! cargo run --release -p examples --example benchmark -- --memory # only memory://
//! cargo run --release -p examples --example benchmark -- --quick
//! cargo run --release -p examples --example benchmark -- --iterations 200000 --rounds 5
//! ```
//!
//! Both sides run on one multi-thread tokio runtime with 2 worker threads, both measuring
//! loops run as tasks on that runtime, both get the same warm-up, and the rounds alternate
//! which side goes first. Each figure is the best over the rounds.
//!
//! - Sequential latency: `--iterations` calls one after another from one task; p50, p99
//!   and mean of the per-call time.
//! - Throughput: `--requests` calls with 64 requests in flight, requests per second over the
//!   whole batch. Ours: 64 tasks making calls (`ws://`: all on one client, or 16 on each of
//!   four clients). Raw `ws://`: one connection with 64 requests in flight, or four with 16.
//!
//! Targets: `memory://` latency ratio (ours p50 / raw p50) ≤ 2.0, throughput ratio (ours /
//! raw) ≥ 0.5; `ws://` latency ratio ≤ 1.15, both throughput ratios ≥ 0.8.
//!
//! The modules: `options` (arguments and usage), `orders` (the data and our generated
//! client and server), `measure` (the measuring loops both comparisons share), `report`
//! (latency statistics, tables, PASS/MISS lines), `memory` (the `memory://` comparison
//! and its raw `mpsc` + `oneshot` floor), `ws` (the `ws://` comparison) and `raw_ws`
//! (its raw tokio-tungstenite floor).

mod measure;
mod memory;
mod nats;
#[path = "../../../tests/support/nats.rs"]
mod nats_server;
mod options;
mod orders;
mod raw_ws;
mod report;
mod ws;

use std::process::ExitCode;
use std::time::Duration;

use options::{Options, USAGE};
use orders::sample_order;

/// Requests in flight in the throughput runs.
const IN_FLIGHT: usize = 64;
/// Connections of the second `ws://` throughput run; each has `IN_FLIGHT / WS_CONNECTIONS`
/// requests in flight.
const WS_CONNECTIONS: usize = 4;
/// Worker threads of the runtime both sides run on, unless `--workers` says otherwise (the
/// machine has 2 cores; the targets are for 2).
const WORKERS: usize = 2;
/// Orders in the map the servers look up.
const ORDERS: usize = 1_000;
/// The timeout our client gives each call, and so the deadline both clients send.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}\n");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    measure::SCHEDULER_STATS.store(options.scheduler, std::sync::atomic::Ordering::Relaxed);
    measure::TASK_PER_CONNECTION
        .store(options.task_per_connection, std::sync::atomic::Ordering::Relaxed);
    if options.task_per_connection {
        println!("ours: throughput calls from one task per connection (--task-per-connection)\n");
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with `--release` for meaningful figures\n");
    }

    let order_bytes = serde_json::to_string(&sample_order(0)).map_or(0, |json| json.len());
    if options.run_memory {
        memory::bench_memory(options, order_bytes);
    }
    if options.run_memory && options.run_ws {
        println!();
        println!();
    }
    if options.run_ws {
        ws::bench_ws(options, order_bytes);
    }
    if options.run_nats {
        println!();
        println!();
        nats::bench_nats(options, order_bytes);
    }
    ExitCode::SUCCESS
}
