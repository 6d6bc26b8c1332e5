//! Benchmark: one `getOrderById` round trip through the generated `OrderServiceClient` and
//! `OrderServiceServer`, against the raw floor of the same exchange, measured in the same run
//! on the same runtime, in two tables:
//!
//! - `memory://` against a tokio `mpsc` + `oneshot` exchange of the same typed values;
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

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderItem, OrderService,
    OrderServiceClient, OrderServiceServer, OrderStatus, UpdateOrderStatus,
};
use futures_util::{FutureExt, SinkExt, StreamExt};
use messaging_runtime::{Context, MessageContext, RunningServer, Server};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Requests in flight in the throughput runs.
const IN_FLIGHT: usize = 64;
/// Connections of the second `ws://` throughput run; each has `IN_FLIGHT / WS_CONNECTIONS`
/// requests in flight.
const WS_CONNECTIONS: usize = 4;
/// Worker threads of the runtime both sides run on (the machine has 2 cores).
const WORKERS: usize = 2;
/// Orders in the map the servers look up.
const ORDERS: usize = 1_000;
/// The timeout our client gives each call, and so the deadline both clients send.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The targets the ratios are judged against.
const MAX_LATENCY_RATIO: f64 = 2.0;
const MIN_THROUGHPUT_RATIO: f64 = 0.5;
const WS_MAX_LATENCY_RATIO: f64 = 1.15;
const WS_MIN_THROUGHPUT_RATIO: f64 = 0.8;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

/// How many calls one comparison makes.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Sequential calls measured per round.
    iterations: usize,
    /// Calls per throughput run.
    requests: usize,
    /// Sequential calls before measuring (a concurrent warm-up of the same size follows).
    warmup: usize,
}

#[derive(Debug, Clone, Copy)]
struct Options {
    memory: Sizes,
    ws: Sizes,
    /// Rounds; each figure is the best over them.
    rounds: usize,
    run_memory: bool,
    run_ws: bool,
    /// `--side raw|ours`: measure only one side (for profiling it).
    only: Option<Which>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Raw,
    Ours,
}

impl Options {
    const FULL: Self = Self {
        memory: Sizes { iterations: 100_000, requests: 200_000, warmup: 20_000 },
        ws: Sizes { iterations: 20_000, requests: 100_000, warmup: 5_000 },
        rounds: 3,
        run_memory: true,
        run_ws: true,
        only: None,
    };
    const QUICK: Self = Self {
        memory: Sizes { iterations: 10_000, requests: 20_000, warmup: 2_000 },
        ws: Sizes { iterations: 4_000, requests: 20_000, warmup: 1_000 },
        rounds: 3,
        run_memory: true,
        run_ws: true,
        only: None,
    };

    fn parse() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut options =
            if args.iter().any(|a| a == "--quick") { Self::QUICK } else { Self::FULL };
        let mut warmup_given = false;
        let (mut only_memory, mut only_ws) = (false, false);
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
                "--memory" => only_memory = true,
                "--ws" => only_ws = true,
                "--all" => (only_memory, only_ws) = (true, true),
                "--iterations" | "-n" => {
                    let n = number("--iterations")?;
                    (options.memory.iterations, options.ws.iterations) = (n, n);
                }
                "--requests" => {
                    let n = number("--requests")?;
                    (options.memory.requests, options.ws.requests) = (n, n);
                }
                "--rounds" => options.rounds = number("--rounds")?,
                "--side" => {
                    options.only = match iter.next().map(String::as_str) {
                        Some("raw") => Some(Which::Raw),
                        Some("ours") => Some(Which::Ours),
                        _ => return Err("--side needs `raw` or `ours`".to_owned()),
                    }
                }
                "--warmup" => {
                    let n = number("--warmup")?;
                    (options.memory.warmup, options.ws.warmup) = (n, n);
                    warmup_given = true;
                }
                "--help" | "-h" => return Err(String::new()),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if only_memory || only_ws {
            (options.run_memory, options.run_ws) = (only_memory, only_ws);
        }
        for sizes in [&mut options.memory, &mut options.ws] {
            if !warmup_given {
                sizes.warmup = sizes.warmup.min(sizes.iterations.max(1_000));
            }
            sizes.requests = sizes.requests.max(IN_FLIGHT);
        }
        Ok(options)
    }
}

const USAGE: &str = "\
usage: cargo run --release -p examples --example benchmark -- [options]

  --memory           only the memory:// comparison
  --ws               only the ws:// comparison
  --all              both (the default)
  --quick            a short run (memory: 10k sequential, 20k throughput calls per round;
                     ws: 4k sequential, 20k throughput calls per round)
  --iterations N     sequential calls measured per round (default 100000 memory, 20000 ws)
  --requests N       calls per throughput run, 64 in flight (default 200000 memory, 100000 ws)
  --rounds N         rounds; each figure is the best over them (default 3)
  --warmup N         warm-up calls per side before measuring (default 20000 memory, 5000 ws)
  --side raw|ours    measure only one side (for profiling it; ratios are then meaningless)";

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
// Ours: the generated client and server
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

/// Starts the generated server on `address` and returns it with `clients` clients of it.
async fn start_ours(address: &str, clients: usize) -> (RunningServer, Vec<OrderServiceClient>) {
    let service = BenchOrders { orders: sample_orders() };
    let server = Server::bind(address)
        .await
        .unwrap_or_else(|e| panic!("{address} binds: {e}"))
        .serve(OrderServiceServer::new(service))
        .start()
        .await
        .expect("the order server starts");
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = OrderServiceClient::connect(server.address())
            .await
            .unwrap_or_else(|e| panic!("a client connects to {}: {e}", server.address()));
        connected.push(client);
    }
    (server, connected)
}

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

// ---------------------------------------------------------------------------------------
// Raw WebSocket: tokio-tungstenite exchanging the same JSON envelopes
// ---------------------------------------------------------------------------------------

/// `{"type":"request",...}` as the raw client writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawRequestOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    request_id: &'a str,
    request_type: &'static str,
    payload: &'a GetOrderById,
    context: &'a MessageContext,
}

/// `{"type":"request",...}` as the raw server reads it: one pass, payload and context
/// decoded in place.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequestIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    request_id: &'a RawValue,
    #[serde(borrow)]
    request_type: Cow<'a, str>,
    payload: GetOrderById,
    #[serde(default)]
    context: MessageContext,
}

/// `{"type":"response",...}` as the raw server writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawResponseOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    request_id: &'a RawValue,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<RawError>,
}

#[derive(Serialize)]
struct RawError {
    code: &'static str,
    message: String,
    status: u16,
}

/// `{"type":"response",...}` as the raw client reads it: one pass, the order decoded in place.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResponseIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    success: bool,
    #[serde(default)]
    data: Option<Order>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// The socket setup of both raw sides, the same as the `ws://` transport's: tungstenite
/// zeroes as much of its read buffer as it asks for before every read (128 KiB by default,
/// even when the read finds nothing), so it asks for 4 KiB at a time from a 64 KiB
/// `BufReader` that fills in one system call.
type RawStream = tokio::io::BufReader<TcpStream>;

fn raw_stream(stream: TcpStream) -> RawStream {
    tokio::io::BufReader::with_capacity(64 * 1024, stream)
}

fn raw_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

/// Listens on 127.0.0.1 and serves every connection on its own task; returns the address.
async fn start_raw_ws_server(orders: HashMap<String, Order>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("the raw server binds");
    let address = listener.local_addr().expect("a bound address");
    let orders = Arc::new(orders);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(raw_ws_connection(stream, Arc::clone(&orders)));
        }
    });
    format!("ws://{address}/")
}

/// One raw server connection: answers each request; writes every answer that is ready,
/// then flushes once.
async fn raw_ws_connection(stream: TcpStream, orders: Arc<HashMap<String, Order>>) {
    let accepted =
        tokio_tungstenite::accept_async_with_config(raw_stream(stream), Some(raw_config()));
    let Ok(mut ws) = accepted.await else { return };
    while let Some(Ok(mut message)) = ws.next().await {
        loop {
            if let Some(answer) = raw_ws_answer(&orders, &message) {
                if ws.feed(answer).await.is_err() {
                    return;
                }
            }
            match ws.next().now_or_never() {
                Some(Some(Ok(next))) => message = next,
                Some(_) => return,
                None => break,
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

fn raw_ws_answer(orders: &HashMap<String, Order>, message: &Message) -> Option<Message> {
    let Message::Text(text) = message else { return None };
    let request: RawRequestIn<'_> = serde_json::from_str(text.as_str()).ok()?;
    if request.kind != "request" || request.request_type != "getOrderById" {
        return None;
    }
    black_box(&request.context);
    // Looks the order up and clones it, as the service's handler does.
    let order = orders.get(&request.payload.order_id).cloned();
    let response = RawResponseOut {
        kind: "response",
        request_id: request.request_id,
        success: order.is_some(),
        data: order.as_ref(),
        error: order.is_none().then(|| RawError {
            code: "ORDER_NOT_FOUND",
            message: format!("Order with ID {} not found", request.payload.order_id),
            status: 404,
        }),
    };
    let json = serde_json::to_string(&response).ok()?;
    Some(Message::Text(json.into()))
}

type RawSocket = WebSocketStream<RawStream>;

/// One raw client connection, driven by whichever measuring task holds it.
struct RawWsConn {
    ws: RawSocket,
    next_id: u64,
    /// Ids sent and not yet answered, with the index of the order asked for. The raw server
    /// answers in order, so the oldest is the one the next response is for.
    waiting: VecDeque<(u64, usize)>,
}

impl RawWsConn {
    async fn connect(address: &str) -> Self {
        let authority = address.trim_start_matches("ws://").trim_end_matches('/');
        let stream = TcpStream::connect(authority).await.expect("the raw client connects");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (ws, _) = tokio_tungstenite::client_async_with_config(
            address,
            raw_stream(stream),
            Some(raw_config()),
        )
        .await
        .expect("the raw client's handshake");
        Self { ws, next_id: 0, waiting: VecDeque::with_capacity(IN_FLIGHT) }
    }

    /// Serialises a request for `ids[i % len]` and queues it on the socket without flushing.
    async fn feed(&mut self, ids: &[String], i: usize) {
        self.next_id += 1;
        let mut context = MessageContext::new();
        context.deadline = Instant::now().checked_add(CALL_TIMEOUT);
        let index = i % ids.len();
        let payload = GetOrderById { order_id: black_box(ids[index].clone()) };
        let id = self.next_id.to_string();
        let request = RawRequestOut {
            kind: "request",
            request_id: &id,
            request_type: "getOrderById",
            payload: &payload,
            context: &context,
        };
        let json = serde_json::to_string(&request).expect("a request serialises");
        self.ws.feed(Message::Text(json.into())).await.expect("the raw client writes");
        self.waiting.push_back((self.next_id, index));
    }

    /// Checks one response against the oldest request waiting.
    fn check(&mut self, ids: &[String], message: Option<Result<Message, impl std::fmt::Debug>>) {
        let message = match message {
            Some(Ok(message)) => message,
            other => panic!("the raw connection ended: {other:?}"),
        };
        let Message::Text(text) = message else { panic!("the raw server sent {message:?}") };
        let response: RawResponseIn<'_> =
            serde_json::from_str(text.as_str()).expect("a response envelope");
        let (id, index) = self.waiting.pop_front().expect("a response to a request sent");
        assert_eq!(response.kind, "response");
        assert_eq!(response.request_id.parse::<u64>().ok(), Some(id), "responses come in order");
        match (response.success, response.data) {
            (true, Some(order)) => {
                assert_eq!(order.id, ids[index], "the answer is the order asked for");
                black_box(order);
            }
            _ => panic!("raw call failed: {:?}", response.error.map(RawValue::get)),
        }
    }

    /// `n` calls one after another; per-call times in ns.
    async fn sequential(&mut self, ids: &[String], n: usize) -> Vec<u64> {
        let mut samples = Vec::with_capacity(n);
        for i in 0..n {
            let start = Instant::now();
            self.feed(ids, i).await;
            self.ws.flush().await.expect("the raw client flushes");
            let response = self.ws.next().await;
            self.check(ids, response);
            let elapsed = start.elapsed();
            samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
        samples
    }

    /// `calls` calls with `window` in flight, pipelined from this one task: every response
    /// makes room for the next request; the responses already received are all handled
    /// before the requests they made room for are flushed in one write.
    async fn pipelined(&mut self, ids: &[String], first: usize, calls: usize, window: usize) {
        let mut sent = 0;
        while sent < calls.min(window) {
            self.feed(ids, first + sent).await;
            sent += 1;
        }
        self.ws.flush().await.expect("the raw client flushes");
        let mut received = 0;
        while received < calls {
            let mut response = self.ws.next().await;
            loop {
                self.check(ids, response);
                received += 1;
                if sent < calls {
                    self.feed(ids, first + sent).await;
                    sent += 1;
                }
                if received == calls {
                    break;
                }
                match self.ws.next().now_or_never() {
                    Some(ready) => response = ready,
                    None => break,
                }
            }
            self.ws.flush().await.expect("the raw client flushes");
        }
    }
}

/// The raw client's connections; a measuring task takes the ones it needs for its run.
type RawConns = Arc<Vec<tokio::sync::Mutex<RawWsConn>>>;

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

#[derive(Debug, Clone, Copy, Default)]
struct Latency {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    latency: Latency,
    /// Requests per second with 64 in flight (`ws://`: on one connection).
    throughput: f64,
    /// `ws://` only: requests per second with 4 connections × 16 in flight.
    spread: f64,
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

/// `total` calls made by 64 tasks at once, spread evenly over `sides` (64 / `sides.len()`
/// tasks each); requests per second.
async fn concurrent<S: Side>(sides: Vec<S>, ids: Arc<Vec<String>>, total: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|t| {
            let (side, ids) = (sides[t % sides.len()].clone(), Arc::clone(&ids));
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

/// `n` sequential raw WebSocket calls on the first connection; per-call times in ns.
async fn raw_ws_sequential(conns: RawConns, ids: Arc<Vec<String>>, n: usize) -> Vec<u64> {
    conns[0].lock().await.sequential(&ids, n).await
}

/// `total` raw WebSocket calls pipelined on the first `connections` connections, 64 in
/// flight in all; requests per second.
async fn raw_ws_concurrent(
    conns: RawConns,
    ids: Arc<Vec<String>>,
    total: usize,
    connections: usize,
) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            let (conns, ids) = (Arc::clone(&conns), Arc::clone(&ids));
            let calls = total / connections + usize::from(c < total % connections);
            tokio::spawn(async move {
                let window = IN_FLIGHT / connections;
                conns[c].lock().await.pipelined(&ids, c * 7919, calls, window).await;
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

fn warm_up<S: Side>(rt: &tokio::runtime::Runtime, side: &S, ids: &Arc<Vec<String>>, sizes: Sizes) {
    black_box(on_worker(rt, sequential(side.clone(), Arc::clone(ids), sizes.warmup)));
    let n = sizes.warmup.max(IN_FLIGHT);
    black_box(on_worker(rt, concurrent(vec![side.clone()], Arc::clone(ids), n)));
}

/// Runs `a` and `b` one after the other, `a` first when `a_first`; returns (a, b). With
/// `--side`, only the chosen side runs and the other reads as zero (for profiling one side).
fn in_turn<T: Default>(
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

/// The best of each figure over the rounds.
fn best(rounds: &[Figures]) -> Figures {
    let min = |f: fn(&Figures) -> Duration| rounds.iter().map(f).min().unwrap_or_default();
    let max = |f: fn(&Figures) -> f64| rounds.iter().map(f).fold(0.0, f64::max);
    Figures {
        latency: Latency {
            p50: min(|r| r.latency.p50),
            p99: min(|r| r.latency.p99),
            mean: min(|r| r.latency.mean),
        },
        throughput: max(|r| r.throughput),
        spread: max(|r| r.spread),
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

/// Prints one ratio against its target with PASS or MISS; whether it passed.
fn check(what: &str, ratio: f64, op: &str, target: f64) -> bool {
    let pass = if op == "<=" { ratio <= target } else { ratio >= target };
    let verdict = if pass { "PASS" } else { "MISS" };
    println!("{what:<40} = {ratio:.2}  target {op} {target:.2}  {verdict}");
    pass
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

fn print_round(round: usize, name: &str, f: &Figures, ws: bool) {
    let spread = if ws { format!("  {:>16}", per_second(f.spread)) } else { String::new() };
    println!(
        "  round {round}  {name:<6} p50 {:>10}  p99 {:>10}  mean {:>10}  {:>16}{spread}",
        micros(f.latency.p50),
        micros(f.latency.p99),
        micros(f.latency.mean),
        per_second(f.throughput)
    );
}

// ---------------------------------------------------------------------------------------
// The two comparisons
// ---------------------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

fn bench_memory(options: Options, order_bytes: usize) -> bool {
    let sizes = options.memory;
    let rt = runtime();
    let ids = request_ids();

    // Both servers hold their own copy of the same orders.
    let raw = rt.block_on(async { RawClient::start(sample_orders()) });
    let (_server, ours) = rt.block_on(start_ours("memory://benchmark-orders", 1));
    let ours = ours.into_iter().next().expect("one client");

    println!("getOrderById round trip: memory:// typed client/server vs raw tokio mpsc + oneshot");
    println!(
        "  runtime: multi-thread, {WORKERS} workers | order: {order_bytes} bytes as JSON, 3 items, \
         {ORDERS} in the map"
    );
    println!(
        "  sequential: {} calls/round | throughput: {} calls/round, {IN_FLIGHT} in flight | \
         warm-up: {} calls/side | best of {} rounds, sides alternate first",
        sizes.iterations, sizes.requests, sizes.warmup, options.rounds
    );
    println!();

    if options.only != Some(Which::Ours) {
        warm_up(&rt, &raw, &ids, sizes);
    }
    if options.only != Some(Which::Raw) {
        warm_up(&rt, &ours, &ids, sizes);
    }

    let mut raw_rounds = Vec::with_capacity(options.rounds);
    let mut our_rounds = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        let raw_first = round % 2 == 1;
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
        let raw_figures = Figures { latency: raw_latency, throughput: raw_throughput, spread: 0.0 };
        let our_figures = Figures { latency: our_latency, throughput: our_throughput, spread: 0.0 };
        print_round(round, "raw", &raw_figures, false);
        print_round(round, "ours", &our_figures, false);
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
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>10} | {:>25} |",
        "ratio ours / raw",
        ratio(ours.latency.p50, raw.latency.p50),
        ratio(ours.latency.p99, raw.latency.p99),
        ratio(ours.latency.mean, raw.latency.mean),
        format!("{throughput_ratio:.2}x")
    );
    println!();
    let latency_pass =
        check("latency ratio    (ours p50 / raw p50)", latency_ratio, "<=", MAX_LATENCY_RATIO);
    let throughput_pass =
        check("throughput ratio (ours / raw)", throughput_ratio, ">=", MIN_THROUGHPUT_RATIO);
    latency_pass && throughput_pass
}

fn bench_ws(options: Options, order_bytes: usize) -> bool {
    let sizes = options.ws;
    let rt = runtime();
    let ids = request_ids();

    // Both servers hold their own copy of the same orders; each side has WS_CONNECTIONS
    // connections open throughout (the sequential and the 1 × 64 runs use the first).
    let raw: RawConns = rt.block_on(async {
        let address = start_raw_ws_server(sample_orders()).await;
        let mut conns = Vec::with_capacity(WS_CONNECTIONS);
        for _ in 0..WS_CONNECTIONS {
            conns.push(tokio::sync::Mutex::new(RawWsConn::connect(&address).await));
        }
        Arc::new(conns)
    });
    let (server, ours) = rt.block_on(start_ours("ws://127.0.0.1:0/orders", WS_CONNECTIONS));
    let first = ours[0].clone();

    let (request_bytes, response_bytes) = ws_frame_sizes();
    println!(
        "getOrderById round trip: ws:// typed client/server vs raw tokio-tungstenite, same JSON \
         envelopes, 127.0.0.1"
    );
    println!(
        "  runtime: multi-thread, {WORKERS} workers, clients and servers in this process | \
         frames: request {request_bytes} bytes, response {response_bytes} bytes (order \
         {order_bytes}) | ours: {}",
        server.address()
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

    let warm_n = sizes.warmup.max(IN_FLIGHT);
    if options.only != Some(Which::Ours) {
        let (raw, ids) = (&raw, &ids);
        black_box(on_worker(
            &rt,
            raw_ws_sequential(Arc::clone(raw), Arc::clone(ids), sizes.warmup),
        ));
        black_box(on_worker(&rt, raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), warm_n, 1)));
        let spread = raw_ws_concurrent(Arc::clone(raw), Arc::clone(ids), warm_n, WS_CONNECTIONS);
        black_box(on_worker(&rt, spread));
    }
    if options.only != Some(Which::Raw) {
        black_box(on_worker(&rt, sequential(first.clone(), Arc::clone(&ids), sizes.warmup)));
        black_box(on_worker(&rt, concurrent(vec![first.clone()], Arc::clone(&ids), warm_n)));
        black_box(on_worker(&rt, concurrent(ours.clone(), Arc::clone(&ids), warm_n)));
    }

    let mut raw_rounds = Vec::with_capacity(options.rounds);
    let mut our_rounds = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        let raw_first = round % 2 == 1;
        let (raw_latency, our_latency) = in_turn(
            options.only,
            raw_first,
            || {
                let n = sizes.iterations;
                latency(on_worker(&rt, raw_ws_sequential(Arc::clone(&raw), Arc::clone(&ids), n)))
            },
            || {
                latency(on_worker(
                    &rt,
                    sequential(first.clone(), Arc::clone(&ids), sizes.iterations),
                ))
            },
        );
        let (raw_throughput, our_throughput) = in_turn(
            options.only,
            raw_first,
            || {
                let n = sizes.requests;
                on_worker(&rt, raw_ws_concurrent(Arc::clone(&raw), Arc::clone(&ids), n, 1))
            },
            || {
                let n = sizes.requests;
                on_worker(&rt, concurrent(vec![first.clone()], Arc::clone(&ids), n))
            },
        );
        let (raw_spread, our_spread) = in_turn(
            options.only,
            raw_first,
            || {
                let n = sizes.requests;
                on_worker(
                    &rt,
                    raw_ws_concurrent(Arc::clone(&raw), Arc::clone(&ids), n, WS_CONNECTIONS),
                )
            },
            || on_worker(&rt, concurrent(ours.clone(), Arc::clone(&ids), sizes.requests)),
        );
        let raw_figures =
            Figures { latency: raw_latency, throughput: raw_throughput, spread: raw_spread };
        let our_figures =
            Figures { latency: our_latency, throughput: our_throughput, spread: our_spread };
        print_round(round, "raw", &raw_figures, true);
        print_round(round, "ours", &our_figures, true);
        raw_rounds.push(raw_figures);
        our_rounds.push(our_figures);
    }

    let (raw, ours) = (best(&raw_rounds), best(&our_rounds));
    let latency_ratio = ours.latency.p50.as_secs_f64() / raw.latency.p50.as_secs_f64();
    let throughput_ratio = ours.throughput / raw.throughput;
    let spread_ratio = ours.spread / raw.spread;

    let spread_title = format!("{WS_CONNECTIONS} conn x {} in flight", IN_FLIGHT / WS_CONNECTIONS);
    println!();
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>10} | {:>22} | {:>22} |",
        "best of each", "p50", "p99", "mean", "1 conn x 64 in flight", spread_title
    );
    println!("|{:-<36}|{:->12}|{:->12}|{:->12}|{:->24}|{:->24}|", "", ":", ":", ":", ":", ":");
    for (name, f) in [("raw tokio-tungstenite", &raw), ("ws:// typed client + server", &ours)] {
        println!(
            "| {name:<34} | {:>10} | {:>10} | {:>10} | {:>22} | {:>22} |",
            micros(f.latency.p50),
            micros(f.latency.p99),
            micros(f.latency.mean),
            per_second(f.throughput),
            per_second(f.spread)
        );
    }
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>10} | {:>22} | {:>22} |",
        "ratio ours / raw",
        ratio(ours.latency.p50, raw.latency.p50),
        ratio(ours.latency.p99, raw.latency.p99),
        ratio(ours.latency.mean, raw.latency.mean),
        format!("{throughput_ratio:.2}x"),
        format!("{spread_ratio:.2}x")
    );
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
    drop(server);
    latency_pass && throughput_pass && spread_pass
}

/// The sizes of one request and one response frame as the raw sides write them.
fn ws_frame_sizes() -> (usize, usize) {
    let order = sample_order(0);
    let mut context = MessageContext::new();
    context.deadline = Instant::now().checked_add(CALL_TIMEOUT);
    let payload = GetOrderById { order_id: order.id.clone() };
    let request = RawRequestOut {
        kind: "request",
        request_id: "12345",
        request_type: "getOrderById",
        payload: &payload,
        context: &context,
    };
    let id = RawValue::from_string("\"12345\"".to_owned()).expect("valid JSON");
    let response = RawResponseOut {
        kind: "response",
        request_id: &id,
        success: true,
        data: Some(&order),
        error: None,
    };
    let size = |json: serde_json::Result<String>| json.map_or(0, |json| json.len());
    (size(serde_json::to_string(&request)), size(serde_json::to_string(&response)))
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

    let order_bytes = serde_json::to_string(&sample_order(0)).map_or(0, |json| json.len());
    if options.run_memory {
        bench_memory(options, order_bytes);
    }
    if options.run_memory && options.run_ws {
        println!();
        println!();
    }
    if options.run_ws {
        bench_ws(options, order_bytes);
    }
    ExitCode::SUCCESS
}
