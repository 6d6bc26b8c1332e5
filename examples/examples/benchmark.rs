//! Benchmark: one `getOrderById` round trip through the generated `OrderServiceClient` and
//! `OrderServiceServer` over `memory://`, against the raw floor of a tokio `mpsc` + `oneshot`
//! exchange of the same typed values, measured in the same run on the same runtime.
//!
//! ```text
//! cargo run --release -p examples --example benchmark
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
//! - Throughput: `--requests` calls made by 64 tasks at once (64 requests in flight),
//!   requests per second over the whole batch.
//!
//! Targets: latency ratio (ours p50 / raw p50) ≤ 2.0, throughput ratio (ours / raw) ≥ 0.5.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderItem, OrderService,
    OrderServiceClient, OrderServiceServer, OrderStatus, UpdateOrderStatus,
};
use messaging_runtime::{Context, RunningServer, Server};
use tokio::sync::{mpsc, oneshot};

/// Requests in flight in the throughput runs.
const IN_FLIGHT: usize = 64;
/// Worker threads of the runtime both sides run on (the machine has 2 cores).
const WORKERS: usize = 2;
/// Orders in the map the servers look up.
const ORDERS: usize = 1_000;
/// The targets the ratios are judged against.
const MAX_LATENCY_RATIO: f64 = 2.0;
const MIN_THROUGHPUT_RATIO: f64 = 0.5;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Options {
    /// Sequential calls measured per round.
    iterations: usize,
    /// Calls per throughput run.
    requests: usize,
    /// Rounds; each figure is the best over them.
    rounds: usize,
    /// Sequential calls before measuring (a concurrent warm-up of the same size follows).
    warmup: usize,
}

impl Options {
    const FULL: Self = Self { iterations: 100_000, requests: 200_000, rounds: 3, warmup: 20_000 };
    const QUICK: Self = Self { iterations: 10_000, requests: 20_000, rounds: 3, warmup: 2_000 };

    fn parse() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut options =
            if args.iter().any(|a| a == "--quick") { Self::QUICK } else { Self::FULL };
        let mut warmup_given = false;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let mut number = |name: &str| -> Result<usize, String> {
                let value = iter.next().ok_or_else(|| format!("{name} needs a number"))?;
                match value.replace('_', "").parse::<usize>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("{name} needs a positive number, got `{value}`")),
                }
            };
            match arg.as_str() {
                "--quick" => {}
                "--iterations" | "-n" => options.iterations = number("--iterations")?,
                "--requests" => options.requests = number("--requests")?,
                "--rounds" => options.rounds = number("--rounds")?,
                "--warmup" => {
                    options.warmup = number("--warmup")?;
                    warmup_given = true;
                }
                "--help" | "-h" => return Err(String::new()),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if !warmup_given {
            options.warmup = options.warmup.min(options.iterations.max(1_000));
        }
        options.requests = options.requests.max(IN_FLIGHT);
        Ok(options)
    }
}

const USAGE: &str = "\
usage: cargo run --release -p examples --example benchmark -- [options]

  --quick            a short run (10k sequential calls, 20k throughput calls per round)
  --iterations N     sequential calls measured per round (default 100000)
  --requests N       calls per throughput run, 64 in flight (default 200000)
  --rounds N         rounds; each figure is the best over them (default 3)
  --warmup N         warm-up calls per side before measuring (default 20000)";

// ---------------------------------------------------------------------------------------
// The data: ~600-byte orders in a map
// ---------------------------------------------------------------------------------------

fn sample_order(n: usize) -> Order {
    let item = |sku: &str, name: &str, price: f64, quantity: u32| OrderItem {
        product_id: format!("prod-{sku}-{n:04}"),
        name: name.to_owned(),
        price,
        quantity,
    };
    let items = vec![
        item("kbd", "Mechanical Keyboard, US layout", 129.99, 1),
        item("mouse", "Wireless Ergonomic Mouse", 59.5, 2),
        item("cable", "Braided USB-C Cable, 2 m", 14.25, 3),
    ];
    let total_amount = items.iter().map(|i| i.price * f64::from(i.quantity)).sum();
    Order {
        id: format!("order-{n:06}"),
        customer_id: format!("customer-{:06}", n * 7 % 10_000),
        items,
        status: OrderStatus::Processing,
        total_amount,
        shipping_address: Address {
            name: "Ada Lovelace".to_owned(),
            street: "12 St James's Square, Flat 4".to_owned(),
            city: "London".to_owned(),
            state: "Greater London".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            country: "United Kingdom".to_owned(),
        },
        created_at: 1_717_000_000_000 + n as u64,
        updated_at: 1_717_000_360_000 + n as u64,
        cancellation_reason: None,
    }
}

fn sample_orders() -> HashMap<String, Order> {
    (0..ORDERS).map(sample_order).map(|o| (o.id.clone(), o)).collect()
}

/// The ids the clients ask for, in the order they ask.
fn request_ids() -> Arc<Vec<String>> {
    // A stride that is coprime with ORDERS walks every order without a predictable pattern.
    Arc::new((0..ORDERS).map(|i| format!("order-{:06}", i * 389 % ORDERS)).collect())
}

// ---------------------------------------------------------------------------------------
// Ours: the generated client and server over memory://
// ---------------------------------------------------------------------------------------

/// The benchmark's order service: `get_order_by_id` looks the order up and clones it.
struct BenchOrders {
    orders: HashMap<String, Order>,
}

fn not_here() -> OrderError {
    OrderError::ProductServiceUnavailable { reason: "not part of the benchmark".to_owned() }
}

impl OrderService for BenchOrders {
    async fn create_order(&self, _req: CreateOrder, _cx: Context) -> Result<Order, OrderError> {
        Err(not_here())
    }

    async fn get_order_by_id(&self, req: GetOrderById, _cx: Context) -> Result<Order, OrderError> {
        match self.orders.get(&req.order_id) {
            Some(order) => Ok(order.clone()),
            None => Err(OrderError::OrderNotFound { order_id: req.order_id }),
        }
    }

    async fn update_order_status(
        &self,
        _req: UpdateOrderStatus,
        _cx: Context,
    ) -> Result<Order, OrderError> {
        Err(not_here())
    }

    async fn cancel_order(&self, _req: CancelOrder, _cx: Context) -> Result<Order, OrderError> {
        Err(not_here())
    }
}

// ---------------------------------------------------------------------------------------
// Raw: tokio mpsc + oneshot carrying the same typed values
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

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

/// One side of the comparison: makes one `getOrderById` call.
trait Side: Clone + Send + Sync + 'static {
    fn call(&self, req: GetOrderById) -> impl Future<Output = Result<Order, String>> + Send;
}

impl Side for RawClient {
    fn call(&self, req: GetOrderById) -> impl Future<Output = Result<Order, String>> + Send {
        self.get_order_by_id(req)
    }
}

impl Side for OrderServiceClient {
    async fn call(&self, req: GetOrderById) -> Result<Order, String> {
        self.get_order_by_id(req).await.map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    latency: Latency,
    /// Requests per second with 64 in flight.
    throughput: f64,
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
async fn sequential<S: Side>(side: S, ids: Arc<Vec<String>>, n: usize) -> Vec<u64> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        checked_call(&side, &ids, i).await;
        let elapsed = start.elapsed();
        samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    samples
}

/// `total` calls made by 64 tasks at once; requests per second.
async fn concurrent<S: Side>(side: S, ids: Arc<Vec<String>>, total: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|t| {
            let (side, ids) = (side.clone(), Arc::clone(&ids));
            // Spread the calls evenly; the first tasks take the remainder.
            let calls = total / IN_FLIGHT + usize::from(t < total % IN_FLIGHT);
            tokio::spawn(async move {
                for i in 0..calls {
                    checked_call(&side, &ids, t * 7919 + i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a throughput task panicked");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn latency(mut samples: Vec<u64>) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        Duration::from_nanos(samples[index])
    };
    let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    let mean = u64::try_from(sum / samples.len().max(1) as u128).unwrap_or(u64::MAX);
    Latency { p50: at(0.50), p99: at(0.99), mean: Duration::from_nanos(mean) }
}

/// Runs `fut` as a task on a worker thread (not on the thread blocking on the runtime), so
/// both sides are measured under the same scheduling.
fn on_worker<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl Future<Output = T> + Send + 'static,
) -> T {
    rt.block_on(async move { tokio::spawn(fut).await.expect("a measuring task panicked") })
}

fn warm_up<S: Side>(
    rt: &tokio::runtime::Runtime,
    side: &S,
    ids: &Arc<Vec<String>>,
    options: Options,
) {
    black_box(on_worker(rt, sequential(side.clone(), Arc::clone(ids), options.warmup)));
    black_box(on_worker(
        rt,
        concurrent(side.clone(), Arc::clone(ids), options.warmup.max(IN_FLIGHT)),
    ));
}

/// The best of each figure over the rounds.
fn best(rounds: &[Figures]) -> Figures {
    let min = |f: fn(&Figures) -> Duration| rounds.iter().map(f).min().unwrap_or_default();
    Figures {
        latency: Latency {
            p50: min(|r| r.latency.p50),
            p99: min(|r| r.latency.p99),
            mean: min(|r| r.latency.mean),
        },
        throughput: rounds.iter().map(|r| r.throughput).fold(0.0, f64::max),
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn per_second(rate: f64) -> String {
    let digits = (rate.round() as u64).to_string();
    let groups: Vec<&str> =
        digits.as_bytes().rchunks(3).rev().filter_map(|g| std::str::from_utf8(g).ok()).collect();
    format!("{} req/s", groups.join(","))
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn print_round(round: usize, name: &str, f: &Figures) {
    println!(
        "  round {round}  {name:<6} p50 {:>10}  p99 {:>10}  mean {:>10}  {:>16}",
        micros(f.latency.p50),
        micros(f.latency.p99),
        micros(f.latency.mean),
        per_second(f.throughput)
    );
}

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
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with `--release` for meaningful figures\n");
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");

    let order_bytes = serde_json::to_string(&sample_order(0)).map_or(0, |json| json.len());
    let ids = request_ids();

    // Both servers hold their own copy of the same orders.
    let raw = rt.block_on(async { RawClient::start(sample_orders()) });
    let (_server, ours): (RunningServer, OrderServiceClient) = rt.block_on(async {
        let service = BenchOrders { orders: sample_orders() };
        let server = Server::bind("memory://benchmark-orders")
            .await
            .expect("memory://benchmark-orders binds")
            .serve(OrderServiceServer::new(service))
            .start()
            .await
            .expect("the order server starts");
        let client = OrderServiceClient::connect("memory://benchmark-orders")
            .await
            .expect("the client connects");
        (server, client)
    });

    println!("getOrderById round trip: memory:// typed client/server vs raw tokio mpsc + oneshot");
    println!(
        "  runtime: multi-thread, {WORKERS} workers | order: {order_bytes} bytes as JSON, 3 items, \
         {ORDERS} in the map"
    );
    println!(
        "  sequential: {} calls/round | throughput: {} calls/round, {IN_FLIGHT} in flight | \
         warm-up: {} calls/side | best of {} rounds, sides alternate first",
        options.iterations, options.requests, options.warmup, options.rounds
    );
    println!();

    warm_up(&rt, &raw, &ids, options);
    warm_up(&rt, &ours, &ids, options);

    let mut raw_rounds = Vec::with_capacity(options.rounds);
    let mut our_rounds = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        let raw_first = round % 2 == 1;
        let seq_raw = || {
            latency(on_worker(&rt, sequential(raw.clone(), Arc::clone(&ids), options.iterations)))
        };
        let seq_ours = || {
            latency(on_worker(&rt, sequential(ours.clone(), Arc::clone(&ids), options.iterations)))
        };
        let (raw_latency, our_latency) = if raw_first {
            let r = seq_raw();
            (r, seq_ours())
        } else {
            let o = seq_ours();
            (seq_raw(), o)
        };
        let thr_raw =
            || on_worker(&rt, concurrent(raw.clone(), Arc::clone(&ids), options.requests));
        let thr_ours =
            || on_worker(&rt, concurrent(ours.clone(), Arc::clone(&ids), options.requests));
        let (raw_throughput, our_throughput) = if raw_first {
            let r = thr_raw();
            (r, thr_ours())
        } else {
            let o = thr_ours();
            (thr_raw(), o)
        };
        let raw_figures = Figures { latency: raw_latency, throughput: raw_throughput };
        let our_figures = Figures { latency: our_latency, throughput: our_throughput };
        print_round(round, "raw", &raw_figures);
        print_round(round, "ours", &our_figures);
        raw_rounds.push(raw_figures);
        our_rounds.push(our_figures);
    }

    let (raw, ours) = (best(&raw_rounds), best(&our_rounds));
    let latency_ratio = ours.latency.p50.as_secs_f64() / raw.latency.p50.as_secs_f64();
    let throughput_ratio = ours.throughput / raw.throughput;

    println!();
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>10} | {:>25} |",
        "best of each", "p50", "p99", "mean", "throughput (64 in flight)"
    );
    println!("|{:-<36}|{:->12}|{:->12}|{:->12}|{:->27}|", "", ":", ":", ":", ":");
    for (name, f) in
        [("raw tokio mpsc + oneshot", &raw), ("memory:// typed client + server", &ours)]
    {
        println!(
            "| {name:<34} | {:>10} | {:>10} | {:>10} | {:>25} |",
            micros(f.latency.p50),
            micros(f.latency.p99),
            micros(f.latency.mean),
            per_second(f.throughput)
        );
    }
    let ratio = |a: Duration, b: Duration| format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64());
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>10} | {:>25} |",
        "ratio ours / raw",
        ratio(ours.latency.p50, raw.latency.p50),
        ratio(ours.latency.p99, raw.latency.p99),
        ratio(ours.latency.mean, raw.latency.mean),
        format!("{throughput_ratio:.2}x")
    );
    println!();
    let latency_pass = latency_ratio <= MAX_LATENCY_RATIO;
    let throughput_pass = throughput_ratio >= MIN_THROUGHPUT_RATIO;
    println!(
        "latency ratio    (ours p50 / raw p50) = {latency_ratio:.2}  target <= {MAX_LATENCY_RATIO:.1}  {}",
        verdict(latency_pass)
    );
    println!(
        "throughput ratio (ours / raw)         = {throughput_ratio:.2}  target >= {MIN_THROUGHPUT_RATIO:.1}  {}",
        verdict(throughput_pass)
    );
    ExitCode::SUCCESS
}
