//! Load over `ws://`: many clients each make many requests while a server-side task
//! broadcasts events to all of them. Every response matches its request, and every client
//! (each one keeps up: its stream is read as the events arrive) sees every event exactly
//! once and in order. The totals are printed; nothing here asserts on timing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use messaging_runtime::prelude::*;
use messaging_runtime::{EventStream, RunningServer};
use messaging_tests::wait::until;

/// How many clients connect at once.
const CLIENTS: u32 = 50;
/// How many requests each client makes.
const REQUESTS: u32 = 200;
/// How many requests one client keeps in flight on its connection.
const IN_FLIGHT: usize = 4;
/// How many ticks the server broadcasts while the requests run.
const TICKS: u32 = 500;
/// The bound on the whole test.
const WHOLE: Duration = Duration::from_secs(60);
/// The bound on one request.
const CALL: Duration = Duration::from_secs(20);

/// Asks the server to echo who asked what.
#[request("loadEcho", response = Echoed)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadEcho {
    /// Which client asks.
    pub client: u32,
    /// Which of its requests this is.
    pub seq: u32,
}

/// The answer: the request echoed, and a value derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Echoed {
    /// The client that asked.
    pub client: u32,
    /// Its request number.
    pub seq: u32,
    /// `derived(client, seq)`, computed by the server.
    pub derived: u64,
    /// `"{client}:{seq}"`, computed by the server.
    pub tag: String,
}

/// One tick of the server's clock.
#[event("tick")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Which tick, from 0.
    pub n: u32,
}

/// Never answered.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// Never answered.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// The load test's service.
#[contract(name = "load", version = "1.0.0", error = LoadError, events(Tick))]
pub trait LoadService {
    /// Echoes a request with a value derived from it.
    async fn load_echo(&self, req: LoadEcho, cx: Context) -> Result<Echoed, LoadError>;
}

/// What the server answers for `(client, seq)`; the client checks it.
fn derived(client: u32, seq: u32) -> u64 {
    u64::from(client) * 1_000_003 + u64::from(seq) * 7 + 1
}

struct Echoer;

impl LoadService for Echoer {
    async fn load_echo(&self, req: LoadEcho, _cx: Context) -> Result<Echoed, LoadError> {
        // Some answers wait, so answers of one connection overtake each other.
        match req.seq % 7 {
            3 => tokio::time::sleep(Duration::from_millis(1)).await,
            0 | 5 => tokio::task::yield_now().await,
            _ => {}
        }
        Ok(Echoed {
            client: req.client,
            seq: req.seq,
            derived: derived(req.client, req.seq),
            tag: format!("{}:{}", req.client, req.seq),
        })
    }
}

async fn start() -> RunningServer {
    Server::bind("ws://127.0.0.1:0/load")
        .await
        .expect("binds an ephemeral port on 127.0.0.1")
        .serve(LoadServiceServer::new(Echoer))
        .start()
        .await
        .expect("starts")
}

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    answered: u32,
    ticks: u32,
}

/// Makes `REQUESTS` requests, `IN_FLIGHT` at a time; checks each answer against its request.
async fn make_requests(client: LoadServiceClient, id: u32) -> u32 {
    let answered = futures_util::stream::iter(0..REQUESTS)
        .map(|seq| {
            let client = client.clone();
            async move {
                let answer = client
                    .load_echo(LoadEcho { client: id, seq })
                    .timeout(CALL)
                    .await
                    .unwrap_or_else(|e| panic!("client {id} request {seq} failed: {e:?}"));
                let expected = Echoed {
                    client: id,
                    seq,
                    derived: derived(id, seq),
                    tag: format!("{id}:{seq}"),
                };
                assert_eq!(answer, expected, "client {id} got another request's answer");
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .count()
        .await;
    u32::try_from(answered).expect("fits")
}

/// Reads ticks as they arrive until the last one: each exactly once, in order.
async fn read_ticks(mut ticks: EventStream<Tick>, id: u32) -> u32 {
    let mut expected = 0;
    while expected < TICKS {
        let (tick, _) = ticks
            .recv()
            .await
            .unwrap_or_else(|| panic!("client {id}: the stream ended after {expected} ticks"));
        assert_eq!(tick.n, expected, "client {id}: a tick lost, duplicated or out of order");
        expected += 1;
    }
    // A duplicate of the last tick would arrive right behind it.
    let extra = tokio::time::timeout(Duration::from_millis(50), ticks.recv()).await;
    assert!(extra.is_err(), "client {id}: an event after the last tick: {extra:?}");
    expected
}

async fn run() {
    let server = start().await;
    let address = server.address().to_owned();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = Client::builder().timeout(CALL).connect(&address).await.expect("connects");
        clients.push(LoadServiceClient::from_client(client));
    }
    // Subscribed before the first tick, so every client is owed every tick.
    let streams: Vec<EventStream<Tick>> = clients.iter().map(LoadServiceClient::tick).collect();
    until("the server registered every client", || server.clients().len() == clients.len()).await;

    let started = Instant::now();
    // How many clients are still making requests, and how many ticks went out meanwhile.
    let requesting = Arc::new(AtomicU32::new(CLIENTS));
    let ticks_during_requests = Arc::new(AtomicU32::new(0));
    let ticker = {
        let events = LoadServiceEvents::new(server.broadcaster());
        let requesting = Arc::clone(&requesting);
        let during = Arc::clone(&ticks_during_requests);
        tokio::spawn(async move {
            let mut reached = 0;
            for n in 0..TICKS {
                reached += events.tick(Tick { n });
                if requesting.load(Ordering::Acquire) > 0 {
                    during.fetch_add(1, Ordering::Relaxed);
                }
                // Spread the ticks over the requests rather than sending them in one burst.
                if n % 5 == 4 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            reached
        })
    };
    let workers: Vec<_> = clients
        .iter()
        .cloned()
        .zip(streams)
        .zip(0..)
        .map(|((client, ticks), id)| {
            let requesting = Arc::clone(&requesting);
            tokio::spawn(async move {
                let requests = async {
                    let answered = make_requests(client, id).await;
                    requesting.fetch_sub(1, Ordering::AcqRel);
                    answered
                };
                let (answered, ticks) = tokio::join!(requests, read_ticks(ticks, id));
                Seen { answered, ticks }
            })
        })
        .collect();
    let mut seen = Vec::new();
    for worker in futures_util::future::join_all(workers).await {
        seen.push(worker.expect("a client's task panicked"));
    }
    let reached = ticker.await.expect("the ticker");
    let elapsed = started.elapsed();

    let answered: u32 = seen.iter().map(|s| s.answered).sum();
    let received: u32 = seen.iter().map(|s| s.ticks).sum();
    assert!(seen.iter().all(|s| s.answered == REQUESTS), "every request answered: {seen:?}");
    assert!(seen.iter().all(|s| s.ticks == TICKS), "every tick received: {seen:?}");
    let owed = usize::try_from(CLIENTS * TICKS).expect("fits");
    assert_eq!(reached, owed, "every tick reached every client's connection");
    println!(
        "load: {CLIENTS} clients x {REQUESTS} requests ({IN_FLIGHT} in flight each) = {answered} \
         requests, all matched; {TICKS} ticks broadcast ({} while requests ran) = {received} \
         events received, none lost, duplicated or out of order; elapsed {elapsed:.2?}",
        ticks_during_requests.load(Ordering::Relaxed),
    );
    drop(clients);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_make_requests_while_receiving_broadcasts() {
    tokio::time::timeout(WHOLE, run()).await.expect("the load test finishes within its bound");
}
