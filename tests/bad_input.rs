//! Hostile input over a real socket, property-based (proptest): arbitrary bytes (as text and
//! as binary), truncated and mutated valid frames, deeply nested JSON, huge numbers, wrong
//! types for every field, request ids of every JSON type, duplicated envelope fields, unknown
//! extra fields, `cancel` frames valid and not, and valid frames in between, sent to a Rust
//! order service on `ws://127.0.0.1:0`.
//!
//! The properties, for every case:
//! - the server never goes down, and never closes a connection for a bad frame (only for an
//!   oversized message, with close code 1009, and only that connection);
//! - every frame has exactly one documented outcome, and gets it. A frame the server cannot
//!   read gets `BAD_MESSAGE` (400): not JSON, not an object, a binary frame (whatever is in
//!   it), an unknown or missing `type`, a missing or wrong-typed field, a `response` sent to
//!   a server, an envelope field that appears twice, or a `requestId` that is not a
//!   non-empty string or a number. The answer carries the frame's request id, echoed byte for
//!   byte, when the frame is an object in which `requestId` appears once and is valid;
//!   otherwise `"requestId":null`. A request that reads gets `UNKNOWN_REQUEST_TYPE` (404) for
//!   a type the service does not have, `INVALID_PAYLOAD` (400) for a payload that does not
//!   decode into the request type, and otherwise whatever the handler answered (success or
//!   a contract or runtime error). Only a valid event and a valid `cancel` get nothing;
//! - `BAD_MESSAGE` answers come in the order of their frames (the server writes each as it
//!   reads the frame), so answers under `null` are matched in order and counted;
//! - a well-behaved typed client on another connection is served throughout.
//!
//! What each frame should get is decided by [`classify`], an oracle written from the
//! README's table, independently of how the frame was generated. Many cases share one
//! socket: after each case's frames a valid "probe" request goes out, and every answer owed
//! is read and checked before the next case. A valid `cancel` naming a request still owed is
//! not sent (whether that request is answered would then depend on timing). Run with
//! `--nocapture` to see the totals.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, OrderLine, OrderServiceClient,
    UpdateOrderStatus,
};
use examples::{start_order_service, start_product_service, Services};
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::MessageContext;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest wait for any one thing (a frame, a send, a typed call).
const WAIT: Duration = Duration::from_secs(10);
/// Cases per property block; five blocks make 10,000 cases a run.
const CASES: u32 = 2_000;
/// The well-behaved client is checked every this many cases (and at the end).
const CHECK_EVERY: u64 = 250;
/// The test functions that add to the grand total (the last one to finish prints it).
const TESTS: usize = 6;
/// The largest message the server takes (the transport's default, 1 MiB).
const MAX_MESSAGE: usize = 1 << 20;

// ---------------------------------------------------------------------------------------
// The oracle: what the README says a frame gets.
// ---------------------------------------------------------------------------------------

/// What a frame gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Nothing: a valid event or a valid cancel.
    Never,
    /// `BAD_MESSAGE` (400), in frame order with the other `BAD_MESSAGE` answers.
    BadMessage,
    /// `UNKNOWN_REQUEST_TYPE` (404).
    UnknownType,
    /// `INVALID_PAYLOAD` (400).
    InvalidPayload,
    /// The handler's answer: success, or any error but the three above.
    Handled,
    /// The probe: `ORDER_NOT_FOUND` (404).
    Probe,
}

/// An answer's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Success,
    Error { code: String, status: u16 },
}

impl Expect {
    fn allows(self, outcome: &Outcome) -> bool {
        let error = |want: &str, want_status: u16| matches!(outcome, Outcome::Error { code, status } if code == want && *status == want_status);
        match self {
            Self::Never => false,
            Self::BadMessage => error("BAD_MESSAGE", 400),
            Self::UnknownType => error("UNKNOWN_REQUEST_TYPE", 404),
            Self::InvalidPayload => error("INVALID_PAYLOAD", 400),
            Self::Probe => error("ORDER_NOT_FOUND", 404),
            Self::Handled => match outcome {
                Outcome::Success => true,
                Outcome::Error { code, .. } => !matches!(
                    code.as_str(),
                    "BAD_MESSAGE" | "UNKNOWN_REQUEST_TYPE" | "INVALID_PAYLOAD"
                ),
            },
        }
    }
}

/// What the oracle says of one frame.
#[derive(Debug)]
struct Verdict {
    expect: Expect,
    /// The `requestId` its answer carries, as raw JSON: `null` when it has no valid one.
    id: String,
    /// For a valid cancel, the request id it names.
    cancels: Option<String>,
}

impl Verdict {
    /// `BAD_MESSAGE` under `id`, or under `null`.
    fn bad(id: Option<&str>) -> Self {
        Self { expect: Expect::BadMessage, id: id.unwrap_or("null").to_owned(), cancels: None }
    }
}

/// A JSON object's entries in order, duplicates kept, values as raw JSON.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Entry)
    }
}

/// The fields a frame's envelope has; a duplicate of one of them makes the frame bad.
const ENVELOPE: [&str; 9] =
    ["type", "requestId", "requestType", "event", "payload", "context", "success", "data", "error"];

/// Whether raw JSON is a valid request id: a non-empty string or a number.
fn valid_id(raw: &str) -> bool {
    (raw.starts_with('"') && raw != "\"\"")
        || raw.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// What the README's table says `bytes` (sent as a binary frame when `binary`) gets.
fn classify(bytes: &[u8], binary: bool) -> Verdict {
    let Ok(text) = std::str::from_utf8(bytes) else { return Verdict::bad(None) };
    // Not JSON, or JSON that is not an object (serde reads a map from nothing else).
    let Ok(Entries(entries)) = serde_json::from_str::<Entries>(text) else {
        return Verdict::bad(None);
    };
    let all = |field: &'static str| entries.iter().filter(move |(key, _)| key == field);
    let get = |field: &'static str| all(field).next().map(|(_, v)| v.get());
    let id = get("requestId").filter(|raw| all("requestId").count() == 1 && valid_id(raw));
    if ENVELOPE.iter().any(|field| all(field).count() > 1) {
        return Verdict::bad(id);
    }
    if get("requestId").is_some() && id.is_none() {
        return Verdict::bad(None);
    }
    if binary {
        return Verdict::bad(id);
    }
    let string = |raw: Option<&str>| {
        raw.and_then(|raw| serde_json::from_str::<String>(raw).ok()).filter(|s| !s.is_empty())
    };
    let context_ok = || match get("context") {
        None | Some("null") => true,
        Some(raw) => serde_json::from_str::<MessageContext>(raw).is_ok(),
    };
    let expect = match (string(get("type")).as_deref(), id) {
        (Some("request"), Some(_)) => match string(get("requestType")) {
            Some(name) if context_ok() => request(&name, get("payload").unwrap_or("null")),
            _ => Expect::BadMessage,
        },
        (Some("event"), _) if string(get("event")).is_some() && context_ok() => Expect::Never,
        (Some("cancel"), Some(id)) => {
            let id = Some(id.to_owned());
            return Verdict { expect: Expect::Never, id: "null".into(), cancels: id };
        }
        _ => Expect::BadMessage,
    };
    Verdict { expect, id: id.unwrap_or("null").to_owned(), cancels: None }
}

/// What a request of type `name` with this payload gets.
fn request(name: &str, payload: &str) -> Expect {
    match name {
        "createOrder" => decodes::<CreateOrder>(payload),
        "getOrderById" => decodes::<GetOrderById>(payload),
        "updateOrderStatus" => decodes::<UpdateOrderStatus>(payload),
        "cancelOrder" => decodes::<CancelOrder>(payload),
        _ => Expect::UnknownType,
    }
}

/// `Handled` when the payload decodes into `T`, else `InvalidPayload`.
fn decodes<T: for<'de> Deserialize<'de>>(payload: &str) -> Expect {
    match serde_json::from_str::<T>(payload) {
        Ok(_) => Expect::Handled,
        Err(_) => Expect::InvalidPayload,
    }
}

// ---------------------------------------------------------------------------------------
// The harness: one service, one well-behaved client, one raw socket reused across cases.
// ---------------------------------------------------------------------------------------

/// An answer the connection still owes.
#[derive(Debug)]
struct Pending {
    /// The `requestId` it comes under, as raw JSON (`null` for a frame with no valid id).
    id: String,
    expect: Expect,
    /// The start of the frame, for failure messages.
    frame: String,
}

struct Conn {
    ws: Raw,
    pending: Vec<Pending>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    cases: u64,
    frames: u64,
    answered: u64,
    /// Of those answered, how many under `"requestId":null`.
    under_null: u64,
    /// Valid events and cancels: sent, and nothing owed.
    silent: u64,
    /// Valid cancels not sent: they named a request still owed.
    skipped: u64,
    events: u64,
    closed_1009: u64,
    connections: u64,
    checks: u64,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.cases += other.cases;
        self.frames += other.frames;
        self.answered += other.answered;
        self.under_null += other.under_null;
        self.silent += other.silent;
        self.skipped += other.skipped;
        self.events += other.events;
        self.closed_1009 += other.closed_1009;
        self.connections += other.connections;
        self.checks += other.checks;
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases, {} frames: {} answered ({} of them under null), {} valid events and \
             cancels (no answer), {} cancels of a request in flight not sent; {} connections \
             closed with 1009; {} broadcast events read; {} raw connections; the well-behaved \
             client checked {} times",
            self.cases,
            self.frames,
            self.answered,
            self.under_null,
            self.silent,
            self.skipped,
            self.closed_1009,
            self.events,
            self.connections,
            self.checks,
        )
    }
}

static TOTALS: Mutex<(usize, Stats)> = Mutex::new((
    0,
    Stats {
        cases: 0,
        frames: 0,
        answered: 0,
        under_null: 0,
        silent: 0,
        skipped: 0,
        events: 0,
        closed_1009: 0,
        connections: 0,
        checks: 0,
    },
));

struct Harness {
    name: &'static str,
    rt: Runtime,
    services: Option<Services>,
    address: String,
    client: OrderServiceClient,
    order_id: String,
    conn: RefCell<Option<Conn>>,
    stats: Cell<Stats>,
    next_id: Cell<u64>,
    started: Instant,
}

impl Harness {
    fn start(name: &'static str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (services, client, order_id) = rt.block_on(async {
            let products = start_product_service("ws://127.0.0.1:0/products")
                .await
                .expect("the product service starts");
            let orders = start_order_service("ws://127.0.0.1:0/orders", products.address())
                .await
                .expect("the order service starts");
            let client = OrderServiceClient::connect(orders.address())
                .await
                .expect("the well-behaved client connects");
            let order = tokio::time::timeout(
                WAIT,
                client.create_order(CreateOrder {
                    customer_id: "well-behaved".into(),
                    items: vec![OrderLine { product_id: "p-cable".into(), quantity: 1 }],
                    shipping_address: Address {
                        name: "N".into(),
                        street: "S".into(),
                        city: "C".into(),
                        state: "ST".into(),
                        postal_code: "P".into(),
                        country: "CO".into(),
                    },
                }),
            )
            .await
            .expect("the first order is answered in time")
            .expect("the first order is placed");
            (Services { products, orders }, client, order.id)
        });
        let address = services.orders.address().to_owned();
        Self {
            name,
            rt,
            services: Some(services),
            address,
            client,
            order_id,
            conn: RefCell::new(None),
            stats: Cell::new(Stats::default()),
            next_id: Cell::new(0),
            started: Instant::now(),
        }
    }

    fn stat(&self, change: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.get();
        change(&mut stats);
        self.stats.set(stats);
    }

    fn fresh_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// Fills in a frame's request ids: `@ID@` a fresh string id, `@NUM@` a fresh number.
    fn render(&self, spec: &Spec) -> (Vec<u8>, bool) {
        match spec {
            Spec::Bytes { bytes, binary } => {
                let binary = *binary || std::str::from_utf8(bytes).is_err();
                (bytes.clone(), binary)
            }
            Spec::Frame { text, binary, mutations } => {
                let mut text = text.clone();
                while text.contains("@ID@") {
                    text = text.replacen("@ID@", &format!("\"q{}\"", self.fresh_id()), 1);
                }
                while text.contains("@NUM@") {
                    text = text.replacen("@NUM@", &(1_000_000 + self.fresh_id()).to_string(), 1);
                }
                let mut bytes = text.into_bytes();
                for mutation in mutations {
                    mutation.apply(&mut bytes);
                }
                let binary = *binary || std::str::from_utf8(&bytes).is_err();
                (bytes, binary)
            }
        }
    }

    /// Runs one case: its frames, then a probe, checking everything that comes back.
    fn case(&self, specs: &[Spec]) -> Result<(), TestCaseError> {
        let frames: Vec<(Vec<u8>, bool)> = specs.iter().map(|spec| self.render(spec)).collect();
        let probe = self.fresh_id();
        let mut slot = self.conn.borrow_mut();
        let outcome = self.rt.block_on(async {
            let conn = match slot.as_mut() {
                Some(conn) => conn,
                None => slot.insert(self.connect().await?),
            };
            self.exchange(conn, frames, probe).await
        });
        if outcome.is_err() {
            // Start the next case (a shrinking step, say) on a clean connection.
            *slot = None;
        }
        drop(slot);
        self.stat(|s| s.cases += 1);
        if self.stats.get().cases.checked_rem(CHECK_EVERY) == Some(0) {
            self.check_well_behaved_client()?;
        }
        outcome.map_err(TestCaseError::fail)
    }

    async fn connect(&self) -> Result<Conn, String> {
        let (ws, _) = tokio::time::timeout(
            WAIT,
            // Without TCP_NODELAY a case's frames wait out Nagle's algorithm (40 ms each).
            tokio_tungstenite::connect_async_with_config(&self.address, None, true),
        )
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| format!("connecting failed: {e}"))?;
        self.stat(|s| s.connections += 1);
        Ok(Conn { ws, pending: Vec::new() })
    }

    async fn exchange(
        &self,
        conn: &mut Conn,
        frames: Vec<(Vec<u8>, bool)>,
        probe: u64,
    ) -> Result<(), String> {
        for (bytes, binary) in frames {
            self.send_frame(conn, bytes, binary).await?;
        }
        let probe_id = format!("\"probe-{probe}\"");
        let text = format!(
            r#"{{"type":"request","requestId":{probe_id},"requestType":"getOrderById","payload":{{"orderId":"missing"}}}}"#
        );
        send(&mut conn.ws, Message::Text(text.into())).await?;
        conn.pending.push(Pending {
            id: probe_id,
            expect: Expect::Probe,
            frame: "the probe".into(),
        });
        while !conn.pending.is_empty() {
            let message = tokio::time::timeout(WAIT, conn.ws.next())
                .await
                .map_err(|_| owed("no answer in time", &conn.pending))?
                .ok_or_else(|| owed("the server ended the connection", &conn.pending))?
                .map_err(|e| owed(&format!("reading failed: {e}"), &conn.pending))?;
            match message {
                Message::Text(text) => self.on_text(text.as_str(), &mut conn.pending)?,
                Message::Close(frame) => {
                    return Err(owed(
                        &format!("the server closed the connection: {frame:?}"),
                        &conn.pending,
                    ))
                }
                Message::Binary(_) => return Err("the server sent a binary frame".into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Sends one frame and notes what it is owed, if anything. A valid cancel that names a
    /// request still owed is not sent: whether that request is answered would depend on
    /// timing.
    async fn send_frame(
        &self,
        conn: &mut Conn,
        bytes: Vec<u8>,
        binary: bool,
    ) -> Result<(), String> {
        let Verdict { expect, id, cancels } = classify(&bytes, binary);
        if cancels.is_some_and(|cancelled| conn.pending.iter().any(|p| p.id == cancelled)) {
            self.stat(|s| s.skipped += 1);
            return Ok(());
        }
        let frame = preview(&bytes, binary);
        let message = if binary {
            Message::Binary(bytes.into())
        } else {
            Message::Text(String::from_utf8(bytes).map_err(|_| "text frames are UTF-8")?.into())
        };
        send(&mut conn.ws, message).await?;
        self.stat(|s| s.frames += 1);
        match expect {
            Expect::Never => self.stat(|s| s.silent += 1),
            _ => conn.pending.push(Pending { id, expect, frame }),
        }
        Ok(())
    }

    /// Checks one text frame from the server against what is owed.
    fn on_text(&self, text: &str, pending: &mut Vec<Pending>) -> Result<(), String> {
        let answer: Answer = serde_json::from_str(text)
            .map_err(|e| format!("the server sent a frame that is not a frame ({e}): {text}"))?;
        match answer.kind.as_str() {
            "event" if answer.event.is_some_and(|e| !e.is_empty()) => {
                self.stat(|s| s.events += 1);
                return Ok(());
            }
            "response" => {}
            _ => return Err(format!("the server sent a frame of no known shape: {text}")),
        }
        let id = answer.request_id.as_deref().map(RawValue::get);
        let id = id.ok_or_else(|| format!("no requestId: {}", clip(text)))?;
        let outcome = match (answer.success, answer.error) {
            (Some(true), None) => Outcome::Success,
            (Some(false), Some(error)) if !error.message.is_empty() => {
                if error.code == "BAD_MESSAGE" && !error.message.starts_with("bad message: ") {
                    return Err(format!("a BAD_MESSAGE of the wrong wording: {}", clip(text)));
                }
                Outcome::Error { code: error.code, status: error.status }
            }
            _ => return Err(format!("a response of the wrong shape: {}", clip(text))),
        };
        let at = if Expect::BadMessage.allows(&outcome) {
            // Written as each frame is read: the first one owed is the one.
            pending
                .iter()
                .position(|p| p.expect == Expect::BadMessage)
                .filter(|&at| pending[at].id == id)
        } else {
            pending.iter().position(|p| p.id == id && p.expect.allows(&outcome))
        };
        let at = at.ok_or_else(|| {
            owed(
                &format!("an answer no frame should have got (or out of order): {}", clip(text)),
                pending,
            )
        })?;
        if pending.remove(at).expect != Expect::Probe {
            self.stat(|s| s.answered += 1);
            if id == "null" {
                self.stat(|s| s.under_null += 1);
            }
        }
        Ok(())
    }

    /// The well-behaved client, on its own connection, is served.
    fn check_well_behaved_client(&self) -> Result<(), TestCaseError> {
        let lookup = self.client.get_order_by_id(GetOrderById { order_id: self.order_id.clone() });
        let order = self
            .rt
            .block_on(async { tokio::time::timeout(WAIT, lookup).await })
            .map_err(|_| TestCaseError::fail("the well-behaved client was not answered in time"))?
            .map_err(|e| TestCaseError::fail(format!("the well-behaved client failed: {e}")))?;
        if order.id != self.order_id {
            return Err(TestCaseError::fail(format!("the wrong order came back: {order:?}")));
        }
        self.stat(|s| s.checks += 1);
        Ok(())
    }

    /// Runs `cases` cases of `strategy`, then checks the well-behaved client once more and
    /// prints the totals.
    fn run<S: Strategy<Value = Vec<Spec>>>(&self, cases: u32, strategy: S) {
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 512,
            max_shrink_time: 30_000,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&strategy, |specs| self.case(&specs));
        if let Err(e) = result {
            panic!("{}: {e}", self.name);
        }
        self.check_well_behaved_client().expect("the well-behaved client is served at the end");
    }

    fn finish(mut self) {
        let stats = self.stats.get();
        println!("{}: {stats} in {:.1?}", self.name, self.started.elapsed());
        if let Some(services) = self.services.take() {
            self.rt.block_on(services.stop());
        }
        let mut totals = TOTALS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.0 += 1;
        totals.1.add(&stats);
        if totals.0 == TESTS {
            println!("bad_input, all {TESTS} properties: {}", totals.1);
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "type")]
    kind: String,
    /// Raw, `null` included (an `Option` would read `null` as missing).
    #[serde(rename = "requestId", default, deserialize_with = "present")]
    request_id: Option<Box<RawValue>>,
    success: Option<bool>,
    error: Option<AnswerError>,
    event: Option<String>,
}

/// A field that is present, whatever its value.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
struct AnswerError {
    code: String,
    message: String,
    status: u16,
}

async fn send(ws: &mut Raw, message: Message) -> Result<(), String> {
    tokio::time::timeout(WAIT, ws.send(message))
        .await
        .map_err(|_| "sending timed out".to_owned())?
        .map_err(|e| format!("sending failed: {e}"))
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

fn preview(bytes: &[u8], binary: bool) -> String {
    let kind = if binary { "binary" } else { "text" };
    format!("{kind} {:?}", clip(&String::from_utf8_lossy(bytes)))
}

fn owed(what: &str, pending: &[Pending]) -> String {
    let owed: Vec<String> =
        pending.iter().map(|p| format!("{:?} under {}: {}", p.expect, p.id, p.frame)).collect();
    format!("{what}; still owed: {owed:#?}")
}

// ---------------------------------------------------------------------------------------
// The generators.
// ---------------------------------------------------------------------------------------

/// One frame of a case.
#[derive(Debug, Clone)]
enum Spec {
    /// Sent as they are: as text when `binary` is false and they are UTF-8.
    Bytes { bytes: Vec<u8>, binary: bool },
    /// A JSON frame with `@ID@`/`@NUM@` where fresh request ids go, then mutated.
    Frame { text: String, binary: bool, mutations: Vec<Mutation> },
}

/// One change to a frame's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, u8),
    Splice(Index, &'static str),
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |index: &Index, bytes: &Vec<u8>| index.index(bytes.len() + 1);
        match self {
            Self::Truncate(i) => bytes.truncate(at(i, bytes)),
            Self::Flip(i, mask) => {
                if !bytes.is_empty() {
                    let i = i.index(bytes.len());
                    bytes[i] ^= mask.max(&1);
                }
            }
            Self::Insert(i, inserted) => {
                let i = at(i, bytes);
                bytes.splice(i..i, inserted.iter().copied());
            }
            Self::Delete(i, n) => {
                let i = at(i, bytes);
                let end = (i + usize::from(*n)).min(bytes.len());
                bytes.drain(i..end);
            }
            Self::Splice(i, token) => {
                let i = at(i, bytes);
                bytes.splice(i..i, token.bytes());
            }
        }
    }
}

/// JSON fragments that parsers trip over.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "null",
    "1e400",
    "-",
    "0x1",
    "NaN",
    "Infinity",
    "\u{0}",
    "\u{feff}",
    "\"requestId\":",
    "\"type\":\"request\",",
    "\"type\":\"cancel\",",
    "\"requestId\":\"dup\",",
    ",\"x\":1",
    "  ",
    "\n",
    "\u{1F600}",
    "\u{7f}",
];

/// Numbers no native type holds, and other edge numbers.
const NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "1180591620717411303424",
    "-1180591620717411303424",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "4294967296",
    "1.7976931348623157e309",
    "4.9e-325",
    "1e-400",
    "123456789012345678901234567890.123456789e-3",
    "-0",
    "0.0",
    "1E+2",
    "1e+0000000000000000000000000000000000000000000001",
];

/// Strings that are valid JSON but awkward.
const STRINGS: &[&str] = &[
    r#""""#,
    r#"" ""#,
    r#""\u0000""#,
    r#""\ud800""#,
    r#""\udc00\ud800""#,
    r#""\uD83D\uDE00""#,
    r#""\"""#,
    r#""\\""#,
    r#""req\u0075est""#,
    r#""request""#,
    r#""event""#,
    r#""response""#,
    r#""Request""#,
    r#""getOrderById""#,
    r#""createOrder""#,
    r#""$login""#,
    r#""__proto__""#,
    r#""constructor""#,
];

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        select(NUMBERS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter_map("finite", |f| f.is_finite().then(|| format!("{f:e}"))),
        (1u32..400, any::<bool>()).prop_map(|(digits, negative)| {
            format!("{}{}", if negative { "-" } else { "" }, "9".repeat(digits as usize))
        }),
    ]
    .boxed()
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        number(),
        select(STRINGS).prop_map(str::to_owned),
        any::<String>().prop_map(|s| json_string(&s)),
        "[a-zA-Z0-9-]{0,12}".prop_map(|s| json_string(&s)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&ENVELOPE[..]).prop_map(str::to_owned),
        3 => "[a-zA-Z]{1,10}",
        1 => any::<String>(),
        1 => select(&["orderId", "items", "quantity", "deadlineMs", "metadata", "__proto__"][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

fn object(entries: &[(String, String)]) -> String {
    let body: Vec<String> =
        entries.iter().map(|(key, value)| format!("{}:{value}", json_string(key))).collect();
    format!("{{{}}}", body.join(","))
}

/// Any JSON value, a few levels deep.
fn json_value() -> BoxedStrategy<String> {
    scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key(), inner), 0..4).prop_map(|v| object(&v)),
            ]
        })
        .boxed()
}

/// JSON nested far deeper than anything reads recursively (up to 100,000 levels), closed
/// or (a tenth of the time) not.
fn deep() -> BoxedStrategy<String> {
    (select(&[127usize, 128, 129, 1_000, 10_000, 10_000, 10_000, 100_000][..]), 0..4u8, 0..10u8)
        .prop_map(|(depth, shape, unclosed)| {
            let (open, close) = match shape {
                0 => ("[", "]"),
                1 => (r#"{"a":"#, "}"),
                2 => (r#"[{"orderId":"#, "}]"),
                _ => ("[1,", "]"),
            };
            let depth = if shape == 0 { depth } else { depth.min(20_000) };
            let mut out = open.repeat(depth);
            out.push('0');
            if unclosed != 0 {
                out.push_str(&close.repeat(depth));
            }
            out
        })
        .boxed()
}

/// A value of any type at all: mostly ordinary JSON, sometimes deep or a huge number.
fn any_value() -> BoxedStrategy<String> {
    prop_oneof![8 => json_value(), 1 => deep(), 2 => number()].boxed()
}

type Field = BoxedStrategy<Option<(String, String)>>;

/// A field that is mostly `valid`, sometimes of any type at all, sometimes missing.
fn field(name: &'static str, valid: BoxedStrategy<String>, wrong: u32) -> Field {
    prop_oneof![
        16 => valid.prop_map(move |v| Some((name.to_owned(), v))),
        wrong => any_value().prop_map(move |v| Some((name.to_owned(), v))),
        1 => Just(None),
    ]
    .boxed()
}

/// An object of these fields, in any order, with unknown fields now and then.
fn object_of(fields: Vec<Field>, wrong: u32) -> BoxedStrategy<String> {
    let extras = prop_oneof![
        6 => Just(Vec::new()),
        wrong => prop::collection::vec((key(), any_value()), 1..3),
    ];
    (fields, extras)
        .prop_flat_map(|(fields, extras)| {
            let entries: Vec<(String, String)> =
                fields.into_iter().flatten().chain(extras).collect();
            Just(entries).prop_shuffle()
        })
        .prop_map(|entries| object(&entries))
        .boxed()
}

fn text_of(pattern: &'static str) -> BoxedStrategy<String> {
    pattern.prop_map(|s| json_string(&s)).boxed()
}

fn order_id() -> BoxedStrategy<String> {
    prop_oneof![
        select(&["order-1", "order-2", "order-3", "missing", ""][..]).prop_map(json_string),
        text_of("[a-z0-9-]{0,12}"),
    ]
    .boxed()
}

fn address(wrong: u32) -> BoxedStrategy<String> {
    let names = ["name", "street", "city", "state", "postalCode", "country"];
    object_of(names.iter().map(|n| field(n, text_of("[A-Za-z ]{0,10}"), wrong)).collect(), wrong)
}

fn create_order(wrong: u32) -> BoxedStrategy<String> {
    let product = prop_oneof![
        select(&["p-keyboard", "p-mouse", "p-monitor", "p-cable", "p-none"][..])
            .prop_map(json_string),
        text_of("[a-z-]{0,8}"),
    ];
    let quantity = prop_oneof![(0u32..5).prop_map(|n| n.to_string()), number()];
    let line = object_of(
        vec![
            field("productId", product.boxed(), wrong),
            field("quantity", quantity.boxed(), wrong),
        ],
        wrong,
    );
    let items = prop::collection::vec(line, 0..3).prop_map(|v| format!("[{}]", v.join(",")));
    object_of(
        vec![
            field("customerId", text_of("[a-z0-9-]{0,10}"), wrong),
            field("items", items.boxed(), wrong),
            field("shippingAddress", address(wrong), wrong),
        ],
        wrong,
    )
}

fn status() -> BoxedStrategy<String> {
    select(&["pending", "processing", "shipped", "delivered", "cancelled", "lost", ""][..])
        .prop_map(json_string)
        .boxed()
}

fn update_order_status(wrong: u32) -> BoxedStrategy<String> {
    let tracking = object_of(
        vec![
            field("trackingNumber", text_of("[A-Z0-9]{0,8}"), wrong),
            field("carrier", text_of("[A-Za-z]{0,8}"), wrong),
            field("estimatedDelivery", number(), wrong),
        ],
        wrong,
    );
    object_of(
        vec![
            field("orderId", order_id(), wrong),
            field("status", status(), wrong),
            field("trackingInfo", tracking, wrong),
        ],
        wrong,
    )
}

fn cancel_order(wrong: u32) -> BoxedStrategy<String> {
    object_of(
        vec![field("orderId", order_id(), wrong), field("reason", text_of("[a-z ]{0,10}"), wrong)],
        wrong,
    )
}

fn get_order(wrong: u32) -> BoxedStrategy<String> {
    object_of(vec![field("orderId", order_id(), wrong)], wrong)
}

/// A request type and a payload meant for it (or, now and then, for another).
fn request_body(wrong: u32) -> BoxedStrategy<(String, String)> {
    let named = |name: &'static str, payload: BoxedStrategy<String>| {
        payload.prop_map(move |p| (json_string(name), p)).boxed()
    };
    prop_oneof![
        4 => named("getOrderById", get_order(wrong)),
        2 => named("createOrder", create_order(wrong)),
        2 => named("updateOrderStatus", update_order_status(wrong)),
        2 => named("cancelOrder", cancel_order(wrong)),
        1 => (text_of("[a-zA-Z$]{1,12}"), json_value()),
    ]
    .boxed()
}

fn context(wrong: u32) -> BoxedStrategy<String> {
    let metadata = prop::collection::vec(("[a-zA-Z]{1,6}", json_value()), 0..3)
        .prop_map(|entries| object(&entries));
    let deadline =
        prop_oneof![select(&["60000", "30000", "0", "1"][..]).prop_map(str::to_owned), number(),];
    let millis = any::<u64>().prop_map(|n| n.to_string());
    object_of(
        vec![
            field("id", text_of("[a-z0-9-]{0,8}"), wrong),
            field("timestamp", millis.boxed(), wrong),
            field("source", text_of("[a-z-]{0,8}"), wrong),
            field("metadata", metadata.boxed(), wrong),
            field("traceId", text_of("[a-f0-9]{0,16}"), wrong),
            field("deadlineMs", deadline.boxed(), wrong),
        ],
        wrong,
    )
}

/// Where a frame's request ids come from.
type Ids = fn() -> BoxedStrategy<String>;

/// A fresh request id: a string or a number no other frame has.
fn request_id() -> BoxedStrategy<String> {
    select(&["@ID@", "@ID@", "@NUM@"][..]).prop_map(str::to_owned).boxed()
}

/// A `requestId` of any JSON type: fresh ids, numbers no native type holds (`1e400`, `-0`,
/// 400 digits), awkward strings, and ids that are not valid (`null`, booleans, `""`,
/// objects, arrays).
fn any_request_id() -> BoxedStrategy<String> {
    const INVALID: &[&str] =
        &["null", "true", "false", r#""""#, "{}", "[]", r#"{"id":"q1"}"#, r#"["q1",1]"#];
    prop_oneof![
        3 => request_id(),
        3 => number(),
        1 => select(STRINGS).prop_map(str::to_owned),
        3 => select(INVALID).prop_map(str::to_owned),
        1 => json_value(),
    ]
    .boxed()
}

/// A request frame with ids from `ids`; `wrong` weighs how often a field (at any level) has
/// a value of any type, and how often unknown fields appear. With `wrong == 0` and fresh ids
/// the frame is valid.
fn request_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    (request_body(wrong), prop::option::weighted(0.7, context(wrong)))
        .prop_flat_map(move |((name, payload), context)| {
            let mut fields = vec![
                field("type", Just(json_string("request")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("requestType", Just(name).boxed(), wrong),
                field("payload", Just(payload).boxed(), wrong),
            ];
            if let Some(context) = context {
                fields.push(field("context", Just(context).boxed(), wrong));
            }
            object_of(fields, wrong)
        })
        .boxed()
}

/// An event frame, now and then with a request id from `ids`.
fn event_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let name = prop_oneof![
        select(&["orderCreated", "counterChanged", "x"][..]).prop_map(json_string),
        text_of("[a-zA-Z]{0,10}"),
    ];
    object_of(
        vec![
            field("type", Just(json_string("event")).boxed(), wrong),
            field("event", name.boxed(), wrong),
            field("payload", json_value(), wrong),
            field("context", context(wrong), wrong),
            prop_oneof![3 => Just(None), 1 => ids().prop_map(|id| Some(("requestId".into(), id)))]
                .boxed(),
        ],
        wrong,
    )
}

/// A response frame (which a server does not take), succeeded or failed.
fn response_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let error = object_of(
        vec![
            field("code", text_of("[A-Z_]{1,10}"), wrong),
            field("message", text_of("[a-z ]{0,10}"), wrong),
            field("status", (100u16..600).prop_map(|n| n.to_string()).boxed(), wrong),
        ],
        wrong,
    );
    prop_oneof![
        object_of(
            vec![
                field("type", Just(json_string("response")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("success", Just("true".to_owned()).boxed(), wrong),
                field("data", json_value(), wrong),
            ],
            wrong,
        ),
        object_of(
            vec![
                field("type", Just(json_string("response")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("success", Just("false".to_owned()).boxed(), wrong),
                field("error", error, wrong),
            ],
            wrong,
        ),
    ]
    .boxed()
}

/// A frame of a type that does not exist.
fn odd_type_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let kind =
        prop_oneof![select(STRINGS).prop_map(str::to_owned), text_of("[a-z]{0,8}"), any_value()];
    object_of(
        vec![
            field("type", kind.boxed(), 0),
            field("requestId", ids(), wrong),
            field("payload", json_value(), wrong),
        ],
        wrong,
    )
}

/// A cancel frame, `{"type":"cancel","requestId":…}`, with its id from `ids`.
fn cancel_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    object_of(
        vec![
            field("type", Just(json_string("cancel")).boxed(), wrong),
            field("requestId", ids(), wrong),
        ],
        wrong,
    )
}

/// A frame of any type, with fresh request ids.
fn any_frame(wrong: u32) -> BoxedStrategy<String> {
    any_frame_with(wrong, request_id)
}

/// A frame of any type, with request ids from `ids`.
fn any_frame_with(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    prop_oneof![
        6 => request_frame(wrong, ids),
        2 => event_frame(wrong, ids),
        2 => response_frame(wrong, ids),
        1 => cancel_frame(wrong, ids),
        1 => odd_type_frame(wrong, ids),
    ]
    .boxed()
}

/// A frame of any type with one or two envelope fields written once more (the key now and
/// then spelt with an escape, `"\u0074ype"`), at the start or the end of the object.
fn duplicated() -> BoxedStrategy<Spec> {
    let value = prop_oneof![
        2 => request_id(),
        2 => select(&[r#""request""#, r#""event""#, r#""cancel""#, r#""getOrderById""#][..])
            .prop_map(str::to_owned),
        1 => any_value(),
    ];
    let extra = (select(&ENVELOPE[..]), prop::bool::weighted(0.2), value, any::<bool>());
    (any_frame(0), prop::collection::vec(extra, 1..3), prop::bool::weighted(0.1))
        .prop_map(|(mut text, extras, binary)| {
            for (key, escaped, value, first) in extras {
                text = with_entry(&text, key, escaped, &value, first);
            }
            Spec::Frame { text, binary, mutations: Vec::new() }
        })
        .boxed()
}

/// `object` (the text of a JSON object) with one more entry, first or last; `escaped`
/// spells the key's first character as a `\u` escape.
fn with_entry(object: &str, key: &str, escaped: bool, value: &str, first: bool) -> String {
    let key = match key.chars().next() {
        Some(c) if escaped => format!(r#""\u{:04x}{}""#, u32::from(c), &key[c.len_utf8()..]),
        _ => json_string(key),
    };
    let entry = format!("{key}:{value}");
    let inner = object.strip_prefix('{').and_then(|o| o.strip_suffix('}')).unwrap_or_default();
    match (inner.is_empty(), first) {
        (true, _) => format!("{{{entry}}}"),
        (false, true) => format!("{{{entry},{inner}}}"),
        (false, false) => format!("{{{inner},{entry}}}"),
    }
}

fn frame(text: BoxedStrategy<String>) -> BoxedStrategy<Spec> {
    (text, prop::bool::weighted(0.1))
        .prop_map(|(text, binary)| Spec::Frame { text, binary, mutations: Vec::new() })
        .boxed()
}

fn valid_request() -> BoxedStrategy<Spec> {
    request_frame(0, request_id)
        .prop_map(|text| Spec::Frame { text, binary: false, mutations: Vec::new() })
        .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Truncate),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, m)| Mutation::Flip(i, m)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1u8..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::Splice(i, t)),
    ]
    .boxed()
}

fn junk() -> BoxedStrategy<Spec> {
    let token_soup = prop::collection::vec(select(TOKENS), 0..24).prop_map(|t| t.concat());
    prop_oneof![
        3 => (prop::collection::vec(any::<u8>(), 0..300), any::<bool>())
            .prop_map(|(bytes, binary)| Spec::Bytes { bytes, binary }),
        2 => (any::<String>(), prop::bool::weighted(0.2))
            .prop_map(|(s, binary)| Spec::Bytes { bytes: s.into_bytes(), binary }),
        2 => (token_soup, prop::bool::weighted(0.2))
            .prop_map(|(s, binary)| Spec::Bytes { bytes: s.into_bytes(), binary }),
        1 => json_value().prop_map(|s| Spec::Bytes { bytes: s.into_bytes(), binary: false }),
    ]
    .boxed()
}

/// A valid request, event or response frame, with one to four mutations.
fn mutated() -> BoxedStrategy<Spec> {
    (any_frame(0), prop::collection::vec(mutation(), 1..5), prop::bool::weighted(0.1))
        .prop_map(|(text, mutations, binary)| Spec::Frame { text, binary, mutations })
        .boxed()
}

/// A valid request with one slot (the id, the type, the payload, a payload field, the
/// context, a context field, an unknown field) replaced by deep JSON or a huge number.
fn deep_or_huge() -> BoxedStrategy<Spec> {
    let value = prop_oneof![deep(), number()];
    (request_body(0), value, 0..8u8)
        .prop_map(|((name, payload), value, slot)| {
            let mut fields = vec![
                ("type".to_owned(), json_string("request")),
                ("requestId".to_owned(), "@ID@".to_owned()),
                ("requestType".to_owned(), name),
                ("payload".to_owned(), payload),
            ];
            let inner = |entries: &[(&str, &str)]| {
                object(
                    &entries
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<Vec<_>>(),
                )
            };
            match slot {
                0 => fields[1].1 = value,
                1 => fields[2].1 = value,
                2 => fields[3].1 = value,
                3 => fields[3].1 = inner(&[("orderId", "\"order-1\""), ("extra", &value)]),
                4 => fields.push(("context".into(), value)),
                5 => fields
                    .push(("context".into(), inner(&[("metadata", &inner(&[("k", &value)]))]))),
                6 => fields.push(("context".into(), inner(&[("deadlineMs", &value)]))),
                _ => fields.push(("unknownField".into(), value)),
            }
            let text = object(&fields);
            Spec::Frame { text, binary: false, mutations: Vec::new() }
        })
        .boxed()
}

fn cases(frame: BoxedStrategy<Spec>) -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(frame, 1..5)
}

// ---------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------

#[test]
fn arbitrary_bytes_as_text_and_binary() {
    let harness = Harness::start("arbitrary bytes");
    harness.run(CASES, cases(prop_oneof![4 => junk(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn truncated_and_mutated_valid_frames() {
    let harness = Harness::start("mutated frames");
    harness.run(CASES, cases(prop_oneof![4 => mutated(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn wrong_types_for_every_field_and_unknown_fields() {
    let harness = Harness::start("wrong types and unknown fields");
    harness.run(CASES, cases(prop_oneof![4 => frame(any_frame(2)), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn deeply_nested_json_and_huge_numbers() {
    let harness = Harness::start("deep nesting and huge numbers");
    harness.run(CASES, cases(prop_oneof![4 => deep_or_huge(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn request_ids_of_every_type_duplicate_fields_and_cancels() {
    let harness = Harness::start("request ids, duplicates and cancels");
    let frames = prop_oneof![
        3 => frame(any_frame_with(0, any_request_id)),
        2 => duplicated(),
        1 => valid_request(),
    ];
    harness.run(CASES, cases(frames.boxed()));
    harness.finish();
}

/// A message over the limit closes that connection with 1009 (after the answers to what
/// came before it); the next connection and the well-behaved client are served.
#[test]
fn oversized_messages_close_only_that_connection_with_1009() {
    let harness = Harness::start("oversized messages");
    let strategy =
        (prop::collection::vec(valid_request(), 0..3), 1usize..64 * 1024, 0..3u8, any::<bool>());
    let config = Config { cases: 16, failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&strategy, |(before, over, shape, binary)| {
        let frames: Vec<(Vec<u8>, bool)> = before.iter().map(|spec| harness.render(spec)).collect();
        let size = MAX_MESSAGE + over;
        let mut huge = match shape {
            0 => format!(
                r#"{{"type":"request","requestId":"big","payload":"{}"}}"#,
                "x".repeat(size)
            ),
            1 => "[".repeat(size),
            _ => String::from_utf8(vec![b'a'; size]).expect("ASCII"),
        }
        .into_bytes();
        huge.truncate(size);
        let outcome = harness.rt.block_on(async {
            let mut conn = harness.connect().await?;
            for (bytes, binary) in frames {
                harness.send_frame(&mut conn, bytes, binary).await?;
            }
            let message = if binary {
                Message::Binary(huge.into())
            } else {
                Message::Text(String::from_utf8(huge).map_err(|_| "UTF-8")?.into())
            };
            // The server may close before the whole message is written; that is the point.
            let _ = tokio::time::timeout(WAIT, conn.ws.send(message)).await;
            harness.stat(|s| s.frames += 1);
            loop {
                let message = tokio::time::timeout(WAIT, conn.ws.next())
                    .await
                    .map_err(|_| owed("no close frame in time", &conn.pending))?;
                match message {
                    Some(Ok(Message::Text(text))) => {
                        harness.on_text(text.as_str(), &mut conn.pending)?
                    }
                    Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Size => break,
                    Some(Ok(Message::Close(frame))) => {
                        return Err(format!("closed with {frame:?}, not 1009"));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("no close frame: {e}")),
                    None => return Err("the connection ended without a close frame".into()),
                }
            }
            harness.stat(|s| s.closed_1009 += 1);
            // Requests still with their handlers when the connection closed go unanswered;
            // every answer that did come was checked above.
            // A new connection is served.
            let mut fresh = harness.connect().await?;
            harness.exchange(&mut fresh, Vec::new(), harness.fresh_id()).await
        });
        harness.stat(|s| s.cases += 1);
        outcome.map_err(TestCaseError::fail)?;
        harness.check_well_behaved_client()
    });
    if let Err(e) = result {
        panic!("oversized messages: {e}");
    }
    harness.finish();
}
