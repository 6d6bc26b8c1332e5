//! The raw floor of the `ws://` comparison: a tokio-tungstenite client and server exchanging
//! the same JSON envelopes as the `ws://` transport (`{"type":"request",..}` →
//! `{"type":"response",..}`). The raw server parses each request envelope with serde_json
//! (payload and context included), looks the order up and clones it, and serialises the
//! response; the raw client serialises the request (with the context our client sends:
//! timestamp and deadline) and parses the response into an `Order`. The raw client
//! pipelines its requests from one task per connection; both raw sides batch their writes
//! and set `TCP_NODELAY`, and read the socket through the same buffering as the `ws://`
//! transport.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use contracts::order::{GetOrderById, Order};
use futures_util::{FutureExt, SinkExt, StreamExt};
use messaging_runtime::MessageContext;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::orders::sample_order;
use crate::{CALL_TIMEOUT, IN_FLIGHT};

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
pub(crate) struct RawWsConn {
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
pub(crate) type RawConns = Arc<Vec<tokio::sync::Mutex<RawWsConn>>>;

/// `n` sequential raw WebSocket calls on the first connection; per-call times in ns.
pub(crate) async fn raw_ws_sequential(
    conns: RawConns,
    ids: Arc<Vec<String>>,
    n: usize,
) -> Vec<u64> {
    conns[0].lock().await.sequential(&ids, n).await
}

/// `total` raw WebSocket calls pipelined on the first `connections` connections, 64 in
/// flight in all; requests per second.
pub(crate) async fn raw_ws_concurrent(
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

/// Starts the raw server on 127.0.0.1 with `orders` and opens `connections` raw client
/// connections to it.
pub(crate) async fn start_raw(orders: HashMap<String, Order>, connections: usize) -> RawConns {
    let address = start_raw_ws_server(orders).await;
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(tokio::sync::Mutex::new(RawWsConn::connect(&address).await));
    }
    Arc::new(conns)
}

/// The sizes of one request and one response frame as the raw sides write them.
pub(crate) fn ws_frame_sizes() -> (usize, usize) {
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
