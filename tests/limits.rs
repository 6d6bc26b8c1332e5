//! Server resilience: graceful shutdown and the server's limits (connections, requests in
//! flight per connection, the outbound event queue per client) and the client's own event
//! buffers (a subscriber that does not read), over `memory://` and `ws://`.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::{EventStream, RunningServer, TransportError};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// Every wait in this file is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// Waits for the test's go-ahead, then answers `value`.
#[request("hold", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// What to answer.
    pub value: u32,
}

/// Answers at once.
#[request("ping", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {
    /// What to answer.
    pub value: u32,
}

/// A bulky event, to fill a socket quickly.
#[event("tick")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Its number.
    pub n: u32,
    /// Ballast.
    pub ballast: String,
}

/// Never answered.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum HoldError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Requests that wait for the test.
#[contract(name = "holder", version = "1.0.0", error = HoldError, events(Tick))]
pub trait Holder {
    /// Waits for a go-ahead.
    async fn hold(&self, req: Hold) -> Result<u32, HoldError>;
    /// Answers at once.
    async fn ping(&self, req: Ping) -> Result<u32, HoldError>;
}

/// Counts the held requests that started; each waits for one permit.
#[derive(Clone)]
struct Gate {
    started: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Self {
        Self { started: Arc::default(), release: Arc::new(Semaphore::new(0)) }
    }
}

impl Gate {
    async fn started(&self, n: usize) {
        let reached = tokio::time::timeout(WAIT, async {
            while self.started.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        assert!(reached.is_ok(), "{n} held requests should have started");
    }
}

impl Holder for Gate {
    async fn hold(&self, req: Hold) -> Result<u32, HoldError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let permit = self.release.acquire().await;
        drop(permit);
        Ok(req.value)
    }

    async fn ping(&self, req: Ping) -> Result<u32, HoldError> {
        Ok(req.value)
    }
}

async fn start(address: &str, gate: &Gate, tune: impl FnOnce(Server) -> Server) -> RunningServer {
    let server = Server::bind(address).await.expect("binds").serve(HolderServer::new(gate.clone()));
    tune(server).start().await.expect("starts")
}

async fn connect(address: &str) -> HolderClient {
    let client = Client::builder().timeout(WAIT).connect(address).await.expect("connects");
    HolderClient::from_client(client)
}

/// Waits until the server lists `n` clients.
async fn clients(server: &RunningServer, n: usize) {
    let reached = tokio::time::timeout(WAIT, async {
        while server.clients().len() != n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "expected {n} clients, have {}", server.clients().len());
}

type RawSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw(address: &str) -> RawSocket {
    tokio_tungstenite::connect_async(address).await.expect("handshake").0
}

/// Reads until the server's close frame; returns its code and reason.
async fn close_frame(socket: &mut RawSocket) -> (CloseCode, String) {
    let read = tokio::time::timeout(WAIT, async {
        while let Some(message) = socket.next().await {
            if let Message::Close(frame) = message.expect("a clean read") {
                return frame.map(|f| (f.code, f.reason.to_string()));
            }
        }
        None
    })
    .await;
    read.expect("in time").expect("a close frame with a code")
}

#[tokio::test]
async fn stop_lets_requests_in_flight_finish_then_disconnects() {
    for address in ["memory://limits-drain", "ws://127.0.0.1:0/drain"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s.shutdown_grace(WAIT)).await;
        let address = server.address().to_owned();
        let client = connect(&address).await;
        let slow = tokio::spawn({
            let client = client.clone();
            async move { client.hold(Hold { value: 7 }).await }
        });
        gate.started(1).await;
        let stopping = tokio::spawn(server.stop());
        // The server stops accepting at once, while the held request is still in flight.
        let refused = tokio::time::timeout(WAIT, async {
            while Client::connect(&address).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "{address}: no new client once stopping");
        // Sent while stopping: never read, so it fails once the connection closes.
        let late = tokio::spawn({
            let client = client.clone();
            async move { client.ping(Ping { value: 1 }).await }
        });
        gate.release.add_permits(1);
        let answer = tokio::time::timeout(WAIT, slow).await.expect("in time").expect("task");
        assert_eq!(answer.unwrap_or_else(|e| panic!("{address}: {e:?}")), 7, "{address}");
        tokio::time::timeout(WAIT, stopping).await.expect("stop returns in time").expect("task");
        let late = tokio::time::timeout(WAIT, late).await.expect("in time").expect("task");
        assert!(matches!(late, Err(CallError::Disconnected)), "{address}: {late:?}");
        let after = client.ping(Ping { value: 2 }).await;
        assert!(matches!(after, Err(CallError::Disconnected)), "{address}: {after:?}");
        let mut status = client.inner().watch_status();
        let down =
            tokio::time::timeout(WAIT, status.wait_for(|s| *s == ConnectionStatus::Disconnected));
        assert!(down.await.is_ok(), "{address}: the client sees `disconnected`");
        // The address can be bound again.
        let again = Server::bind(&address).await.expect("binds again");
        drop(again);
    }
}

#[tokio::test]
async fn the_grace_period_bounds_how_long_stop_waits() {
    for address in ["memory://limits-grace", "ws://127.0.0.1:0/grace"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s.shutdown_grace(Duration::from_millis(50))).await;
        let client = connect(server.address()).await;
        let stuck = tokio::spawn({
            let client = client.clone();
            async move { client.hold(Hold { value: 1 }).await }
        });
        gate.started(1).await;
        tokio::time::timeout(WAIT, server.stop()).await.expect("stop returns after the grace");
        let stuck = tokio::time::timeout(WAIT, stuck).await.expect("in time").expect("task");
        assert!(matches!(stuck, Err(CallError::Disconnected)), "{address}: {stuck:?}");
    }
}

#[tokio::test]
async fn a_stopping_server_sends_ws_clients_a_going_away_close_frame() {
    let gate = Gate::default();
    let server = start("ws://127.0.0.1:0/away", &gate, |s| s).await;
    let mut socket = raw(server.address()).await;
    clients(&server, 1).await;
    tokio::time::timeout(WAIT, server.stop()).await.expect("stops in time");
    let (code, reason) = close_frame(&mut socket).await;
    assert_eq!(code, CloseCode::Away);
    assert!(reason.contains("shutting down"), "{reason}");
}

#[tokio::test]
async fn a_connection_over_the_maximum_is_refused_and_the_others_carry_on() {
    let gate = Gate::default();
    let server = start("memory://limits-max-conn", &gate, |s| s.max_connections(2)).await;
    let (a, b) = (connect(server.address()).await, connect(server.address()).await);
    let err = Client::connect(server.address()).await.expect_err("a third is refused");
    assert!(matches!(err, TransportError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("too many connections"), "{err}");
    assert_eq!(a.ping(Ping { value: 1 }).await.expect("served"), 1);
    assert_eq!(b.ping(Ping { value: 2 }).await.expect("served"), 2);
    drop(b);
    clients(&server, 1).await;
    let c = tokio::time::timeout(WAIT, async {
        loop {
            match Client::connect(server.address()).await {
                Ok(c) => break HolderClient::from_client(c),
                Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    })
    .await
    .expect("a place is free again");
    assert_eq!(c.ping(Ping { value: 3 }).await.expect("served"), 3);
    server.stop().await;

    let server = start("ws://127.0.0.1:0/max", &gate, |s| s.max_connections(1)).await;
    let first = connect(server.address()).await;
    let mut extra = raw(server.address()).await;
    let (code, reason) = close_frame(&mut extra).await;
    assert_eq!(code, CloseCode::Again, "1013: try again later");
    assert!(reason.contains("too many connections"), "{reason}");
    assert_eq!(first.ping(Ping { value: 4 }).await.expect("unaffected"), 4);
    server.stop().await;
}

/// Records the warnings logged on this thread.
#[derive(Clone, Default)]
struct Warnings(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Line<'a>(&'a mut String);
        impl tracing::field::Visit for Line<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut line = String::new();
            event.record(&mut Line(&mut line));
            self.0.lock().expect("warnings").push(line);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_typed_ws_client_that_is_refused_logs_the_servers_reason() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Warnings::default();
    let _logging =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let gate = Gate::default();
    let server = start("ws://127.0.0.1:0/max-logged", &gate, |s| s.max_connections(1)).await;
    let _first = connect(server.address()).await;
    let refused = connect(server.address()).await;
    let mut status = refused.inner().watch_status();
    let closed = status.wait_for(|s| *s == ConnectionStatus::Disconnected);
    tokio::time::timeout(WAIT, closed).await.expect("closed in time").expect("status");
    let logged = warnings.0.lock().expect("warnings").clone();
    assert!(
        logged.iter().any(|l| l.contains("code=1013") && l.contains("too many connections")),
        "the close code and the server's reason are logged at warn: {logged:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn requests_over_the_in_flight_limit_are_answered_overloaded_at_once() {
    for address in ["memory://limits-in-flight", "ws://127.0.0.1:0/in-flight"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s.max_in_flight(2)).await;
        let client = connect(server.address()).await;
        let held = tokio::spawn({
            let client = client.clone();
            async move {
                tokio::join!(
                    client.hold(Hold { value: 1 }).into_future(),
                    client.hold(Hold { value: 2 }).into_future()
                )
            }
        });
        gate.started(2).await;
        let third = tokio::time::timeout(WAIT, client.hold(Hold { value: 3 }).into_future())
            .await
            .expect("answered at once, not held");
        let Err(CallError::Internal(wire)) = third else {
            panic!("{address}: expected OVERLOADED, got {third:?}");
        };
        assert_eq!((wire.code.as_str(), wire.status), ("OVERLOADED", Some(503)), "{address}");
        assert_eq!(gate.started.load(Ordering::SeqCst), 2, "the handler never saw it");
        gate.release.add_permits(2);
        let (one, two) = tokio::time::timeout(WAIT, held).await.expect("in time").expect("task");
        assert_eq!((one.expect("served"), two.expect("served")), (1, 2), "{address}");
        assert_eq!(client.ping(Ping { value: 9 }).await.expect("the connection stays up"), 9);
        server.stop().await;
    }
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_and_the_others_are_not_slowed() {
    let gate = Gate::default();
    let server = start("ws://127.0.0.1:0/slow", &gate, |s| s.outbound_queue(16)).await;
    let good = connect(server.address()).await;
    let mut ticks = good.tick();
    // Sends nothing and reads nothing until it has been disconnected.
    let mut slow = raw(server.address()).await;
    clients(&server, 2).await;
    let events = HolderEvents::new(server.broadcaster());
    let ballast = "x".repeat(64 * 1024);
    let mut sent = 0_u32;
    // In lockstep with the good client: it never lags by more than one event, while the
    // slow one's socket fills, then its queue.
    while server.clients().len() == 2 {
        assert!(sent < 20_000, "the slow client should have been disconnected by now");
        events.tick(Tick { n: sent, ballast: ballast.clone() });
        let (tick, _) = tokio::time::timeout(WAIT, ticks.recv())
            .await
            .expect("the good client is not slowed")
            .expect("open");
        assert_eq!(tick.n, sent, "every event, in order");
        sent += 1;
    }
    assert_eq!(good.ping(Ping { value: 5 }).await.expect("still served"), 5);
    // The slow client, reading at last, gets what was sent before and then the reason.
    let (code, reason) = close_frame(&mut slow).await;
    assert_eq!(code, CloseCode::Policy, "1008");
    assert!(reason.contains("slow consumer"), "{reason}");
    let _ = slow.send(Message::Close(None)).await;
    println!("the slow client was disconnected after {sent} events of 64 KiB");
    server.stop().await;
}

/// How many events the back-pressure tests broadcast.
const BURST: u32 = 5_000;

/// Reads `total` ticks, checking each is the next in order and counting them in `seen`;
/// returns how many arrived before the stream ended.
fn read_in_order(
    mut ticks: EventStream<Tick>,
    total: u32,
    seen: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<u32> {
    tokio::spawn(async move {
        let mut next = 0;
        while next < total {
            let Some((tick, _)) = ticks.recv().await else { break };
            assert_eq!(tick.n, next, "tick {next} of {total} arrives in order");
            next += 1;
            seen.store(next as usize, Ordering::SeqCst);
        }
        next
    })
}

/// Broadcasts `total` ticks in batches of 100, after each batch waiting until the reading
/// client has counted them all; returns the time spent inside the broadcasts themselves.
async fn broadcast_in_step(events: &HolderEvents, total: u32, seen: &AtomicUsize) -> Duration {
    let mut publishing = Duration::ZERO;
    for n in 0..total {
        let started = std::time::Instant::now();
        events.tick(Tick { n, ballast: String::new() });
        publishing += started.elapsed();
        let sent = n as usize + 1;
        if sent.is_multiple_of(100) || n + 1 == total {
            let caught_up = tokio::time::timeout(WAIT, async {
                while seen.load(Ordering::SeqCst) < sent {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            let has = seen.load(Ordering::SeqCst);
            assert!(caught_up.is_ok(), "the reader is not slowed: it has {has} of {sent} events");
        }
    }
    publishing
}

/// Reads what a disconnected client's stream still holds: consecutive ticks from 0, then
/// the end of the stream. Returns how many.
async fn held_until_disconnected(mut ticks: EventStream<Tick>) -> u32 {
    let read = tokio::time::timeout(WAIT, async {
        let mut next = 0;
        while let Some((tick, _)) = ticks.recv().await {
            assert_eq!(tick.n, next, "a stalled subscriber's buffer holds the first events");
            next += 1;
        }
        next
    });
    read.await.expect("the stream of a disconnected client ends")
}

/// One client subscribes and never reads, another reads every event: the stalled one is
/// disconnected, the reader gets all [`BURST`] events in order, and publishing never waits.
async fn a_stalled_subscriber_is_disconnected(address: &str) {
    let gate = Gate::default();
    let server = start(address, &gate, |s| s.outbound_queue(256)).await;
    let reader = connect(server.address()).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let reading = read_in_order(reader.tick(), BURST, Arc::clone(&seen));
    let builder = Client::builder().timeout(WAIT).event_buffer(16);
    let stalled = builder.connect(server.address()).await.expect("connects");
    let stalled_ticks = stalled.subscribe::<Tick>();
    clients(&server, 2).await;
    let events = HolderEvents::new(server.broadcaster());
    let publishing = broadcast_in_step(&events, BURST, &seen).await;
    assert!(publishing < Duration::from_secs(2), "{BURST} broadcasts took {publishing:?}");
    let received = tokio::time::timeout(WAIT, reading).await.expect("in time").expect("task");
    assert_eq!(received, BURST, "{address}: the reader gets all {BURST} events in order");
    let mut status = stalled.watch_status();
    let down =
        tokio::time::timeout(WAIT, status.wait_for(|s| *s == ConnectionStatus::Disconnected));
    assert!(down.await.is_ok(), "{address}: the stalled client is disconnected");
    clients(&server, 1).await;
    let held = held_until_disconnected(stalled_ticks).await;
    assert!((1..=16).contains(&held), "{address}: {held} of {BURST} events were buffered");
    assert_eq!(reader.ping(Ping { value: 1 }).await.expect("still served"), 1);
    assert_eq!(reader.inner().status(), ConnectionStatus::Connected, "{address}");
    println!("{address}: the stalled client held {held} of {BURST} events when disconnected");
    server.stop().await;
}

#[tokio::test]
async fn a_memory_client_that_does_not_read_its_events_is_disconnected() {
    a_stalled_subscriber_is_disconnected("memory://limits-stalled").await;
}

#[tokio::test]
async fn a_ws_client_that_does_not_read_its_events_is_disconnected() {
    a_stalled_subscriber_is_disconnected("ws://127.0.0.1:0/stalled").await;
}

#[tokio::test]
async fn a_slow_subscriber_that_keeps_up_loses_nothing() {
    const TOTAL: u32 = 500;
    for address in ["memory://limits-slow-reader", "ws://127.0.0.1:0/slow-reader"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s).await;
        let client = connect(server.address()).await;
        let mut ticks = client.tick();
        clients(&server, 1).await;
        let events = HolderEvents::new(server.broadcaster());
        for n in 0..TOTAL {
            assert_eq!(events.tick(Tick { n, ballast: String::new() }), 1, "reached");
        }
        let read = tokio::time::timeout(WAIT, async {
            for n in 0..TOTAL {
                let (tick, _) = ticks.recv().await.expect("the stream stays open");
                assert_eq!(tick.n, n, "{address}: tick {n} of {TOTAL} arrives in order");
                if n.is_multiple_of(10) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });
        assert!(read.await.is_ok(), "{address}: all {TOTAL} events are read in time");
        assert_eq!(client.inner().status(), ConnectionStatus::Connected, "{address}");
        assert_eq!(server.clients().len(), 1, "{address}: the slow reader stays connected");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_callback_that_calls_its_own_client_keeps_up_with_a_burst() {
    const TOTAL: u32 = 200;
    for address in ["memory://limits-callback", "ws://127.0.0.1:0/callback"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s).await;
        let client = connect(server.address()).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let subscription = client.on_tick({
            let (client, answered) = (client.clone(), Arc::clone(&answered));
            move |tick, _| {
                let (client, answered) = (client.clone(), Arc::clone(&answered));
                async move {
                    let value = client.ping(Ping { value: tick.n }).await.expect("answered");
                    assert_eq!(value, tick.n, "each call gets its own answer");
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        clients(&server, 1).await;
        let events = HolderEvents::new(server.broadcaster());
        for n in 0..TOTAL {
            events.tick(Tick { n, ballast: String::new() });
        }
        let done = tokio::time::timeout(WAIT, async {
            while answered.load(Ordering::SeqCst) < TOTAL as usize {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let done = done.await.is_ok();
        let n = answered.load(Ordering::SeqCst);
        assert!(done, "{address}: {n} of {TOTAL} callbacks finished their call");
        drop(subscription);
        server.stop().await;
    }
}
