//! The harness: one service, one well-behaved client, one raw socket reused across cases;
//! every answer that comes back is checked against what the oracle says each frame is owed.

use std::cell::{Cell, RefCell};
use std::time::Instant;

use contracts::order::{Address, CreateOrder, GetOrderById, OrderLine, OrderServiceClient};
use examples::{start_order_service, start_product_service, Services};
use futures_util::{SinkExt, StreamExt};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::oracle::{classify, Expect, Outcome, Verdict};
use crate::stats::{Stats, TOTALS};
use crate::strategies::Spec;
use crate::{CHECK_EVERY, TESTS, WAIT};

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An answer the connection still owes.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The `requestId` it comes under, as raw JSON (`null` for a frame with no valid id).
    id: String,
    expect: Expect,
    /// The start of the frame, for failure messages.
    frame: String,
}

/// A raw connection to the service, and the answers it still owes.
pub(crate) struct Conn {
    pub(crate) ws: Raw,
    pub(crate) pending: Vec<Pending>,
}

/// One property's service, well-behaved client and raw connection, and what it counted.
pub(crate) struct Harness {
    name: &'static str,
    pub(crate) rt: Runtime,
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
    pub(crate) fn start(name: &'static str) -> Self {
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

    pub(crate) fn stat(&self, change: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.get();
        change(&mut stats);
        self.stats.set(stats);
    }

    pub(crate) fn fresh_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// Fills in a frame's request ids: `@ID@` a fresh string id, `@NUM@` a fresh number.
    pub(crate) fn render(&self, spec: &Spec) -> (Vec<u8>, bool) {
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

    pub(crate) async fn connect(&self) -> Result<Conn, String> {
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

    pub(crate) async fn exchange(
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
    pub(crate) async fn send_frame(
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
    pub(crate) fn on_text(&self, text: &str, pending: &mut Vec<Pending>) -> Result<(), String> {
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
    pub(crate) fn check_well_behaved_client(&self) -> Result<(), TestCaseError> {
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
    pub(crate) fn run<S: Strategy<Value = Vec<Spec>>>(&self, cases: u32, strategy: S) {
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

    pub(crate) fn finish(mut self) {
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

/// `what`, and every answer still owed (for a failure message).
pub(crate) fn owed(what: &str, pending: &[Pending]) -> String {
    let owed: Vec<String> =
        pending.iter().map(|p| format!("{:?} under {}: {}", p.expect, p.id, p.frame)).collect();
    format!("{what}; still owed: {owed:#?}")
}
