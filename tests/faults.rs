//! Faults over `ws://`: the server is stopped in the middle of a load and restarted on the
//! same address (the same port). Clients built with `.reconnect(..)` keep making requests
//! throughout; they come back by themselves, their subscriptions carry on, and every request
//! either succeeds or fails with a clear error (`Disconnected` or `Timeout`): none hangs.
//! Clients built with `.wait_for_connection(true)` instead hold the requests they make during
//! the outage until they are connected again, and those succeed.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use messaging_runtime::prelude::*;
use messaging_runtime::{Backoff, EventStream, RunningServer};
use messaging_tests::wait::until;

/// How many clients keep making requests.
const CLIENTS: u32 = 20;
/// How many request loops run side by side on each client (so requests are in flight on a
/// connection when it drops).
const LANES: u32 = 2;
/// The bound on one call (`.timeout(..)`).
const CALL: Duration = Duration::from_secs(1);
/// The bound on one call of a client that waits for the connection: longer than the outage.
const WAITING_CALL: Duration = Duration::from_secs(4);
/// How much longer than its own timeout a call may take before it counts as hung.
const HANG: Duration = Duration::from_secs(3);
/// The most requests one lane makes.
const MAX_REQUESTS: u32 = 20_000;
/// Successes each client needs before the outage, and again after the restart.
const WANTED: u32 = 20;
/// How long the server stays down once every client has noticed.
const OUTAGE: Duration = Duration::from_millis(300);
/// The bound on each wait for a condition.
const WAIT: Duration = Duration::from_secs(10);
/// The bound on the whole test.
const WHOLE: Duration = Duration::from_secs(60);

/// Asks the server to echo who asked what.
#[request("faultEcho", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultEcho {
    /// Which client asks.
    pub client: u32,
    /// Which lane of that client.
    pub lane: u32,
    /// Which request of that lane.
    pub seq: u32,
}

/// One tick of the server's clock.
#[event("tick")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Which tick.
    pub n: u32,
}

/// Never answered.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum FaultError {
    /// Never answered.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// The fault test's service.
#[contract(name = "faults", version = "1.0.0", error = FaultError, events(Tick))]
pub trait FaultService {
    /// Echoes a request as `"client:lane:seq"`.
    async fn fault_echo(&self, req: FaultEcho, cx: Context) -> Result<String, FaultError>;
}

struct Echoer;

impl FaultService for Echoer {
    async fn fault_echo(&self, req: FaultEcho, _cx: Context) -> Result<String, FaultError> {
        Ok(format!("{}:{}:{}", req.client, req.lane, req.seq))
    }
}

async fn start(address: &str) -> RunningServer {
    Server::bind(address)
        .await
        .expect("binds 127.0.0.1")
        .serve(FaultServiceServer::new(Echoer))
        .start()
        .await
        .expect("starts")
}

fn fast() -> Backoff {
    Backoff {
        initial_delay: Duration::from_millis(20),
        factor: 1.5,
        max_delay: Duration::from_millis(100),
        max_attempts: Some(200),
    }
}

/// Which part of the test a request was made in.
const BEFORE: usize = 0;
const OUTAGE_PHASE: usize = 1;
const AFTER: usize = 2;
const PHASES: [&str; 3] = ["before the stop", "during the outage", "after the restart"];

/// How the requests of one lane ended, by the phase they were made in.
#[derive(Debug, Default, Clone)]
struct Tally {
    ok: [u32; 3],
    disconnected: [u32; 3],
    timeout: [u32; 3],
    hung: [u32; 3],
    other: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        for phase in 0..3 {
            self.ok[phase] += other.ok[phase];
            self.disconnected[phase] += other.disconnected[phase];
            self.timeout[phase] += other.timeout[phase];
            self.hung[phase] += other.hung[phase];
        }
        self.other.extend(other.other.iter().cloned());
    }
}

/// What the lanes share with the test: the phase now, when to stop, and each client's
/// successes in the phase now.
struct Shared {
    phase: AtomicUsize,
    stop: AtomicBool,
    successes: Vec<[AtomicU32; 3]>,
}

/// Makes requests one after another until told to stop (or `MAX_REQUESTS`), each bounded by
/// its own timeout and, to catch a hang, by an outer one.
async fn lane(
    client: FaultServiceClient,
    id: u32,
    lane: u32,
    shared: Arc<Shared>,
    bound: Duration,
) -> Tally {
    let mut tally = Tally::default();
    let index = usize::try_from(id).expect("fits");
    for seq in 0..MAX_REQUESTS {
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        let phase = shared.phase.load(Ordering::Acquire);
        let call = client.fault_echo(FaultEcho { client: id, lane, seq }).timeout(bound);
        match tokio::time::timeout(bound + HANG, call.into_future()).await {
            Ok(Ok(answer)) => {
                assert_eq!(answer, format!("{id}:{lane}:{seq}"), "another request's answer");
                tally.ok[phase] += 1;
                shared.successes[index][phase].fetch_add(1, Ordering::AcqRel);
            }
            Ok(Err(CallError::Disconnected)) => {
                tally.disconnected[phase] += 1;
                // It failed at once; do not spin while the server is away.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(Err(CallError::Timeout(_))) => tally.timeout[phase] += 1,
            Ok(Err(other)) => tally.other.push(format!("{other:?}")),
            Err(_) => tally.hung[phase] += 1,
        }
    }
    tally
}

/// Every client's subscription made before the outage gets tick `n` next.
async fn every_stream_gets(streams: &mut [EventStream<Tick>], n: u32) {
    for (id, stream) in streams.iter_mut().enumerate() {
        let next = tokio::time::timeout(WAIT, stream.recv()).await;
        let (tick, _) = next
            .unwrap_or_else(|_| panic!("client {id}: tick {n} within {WAIT:?}"))
            .unwrap_or_else(|| panic!("client {id}: the stream ended instead of tick {n}"));
        assert_eq!(tick.n, n, "client {id}: a tick lost or duplicated");
    }
}

fn each_client_has(shared: &Shared, phase: usize) -> bool {
    shared.successes.iter().all(|s| s[phase].load(Ordering::Acquire) >= WANTED)
}

/// How the server goes away.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// `RunningServer::stop`, awaited: the orderly way; once it returns the address is free.
    Stop,
    /// The `RunningServer` dropped without `stop`: its tasks are cancelled, with no grace
    /// period, and the listener closes when they end.
    Drop,
}

/// Binds `address` again; after a drop the old listener may take a moment to close.
async fn restart(address: &str) -> RunningServer {
    let deadline = Instant::now() + WAIT;
    loop {
        match Server::bind(address).await {
            Ok(server) => {
                return server.serve(FaultServiceServer::new(Echoer)).start().await.expect("starts")
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "binds {address} again within {WAIT:?}: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Whether the clients' requests wait for the connection while it is down.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Requests {
    /// Fail at once with `Disconnected` (the default).
    FailFast,
    /// Wait for the reconnection, up to their deadline.
    Wait,
}

async fn run(fault: Fault, requests: Requests) {
    let started = Instant::now();
    let waits = requests == Requests::Wait;
    let bound = if waits { WAITING_CALL } else { CALL };
    let first = start("ws://127.0.0.1:0/faults").await;
    // The restarted server binds the very address, port included.
    let address = first.address().to_owned();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = Client::builder()
            .reconnect(fast())
            .timeout(bound)
            .wait_for_connection(waits)
            .connect(&address)
            .await
            .expect("connects");
        clients.push(FaultServiceClient::from_client(client));
    }
    let mut streams: Vec<EventStream<Tick>> =
        clients.iter().map(FaultServiceClient::tick).collect();
    let shared = Arc::new(Shared {
        phase: AtomicUsize::new(BEFORE),
        stop: AtomicBool::new(false),
        successes: (0..CLIENTS).map(|_| Default::default()).collect(),
    });
    let mut lanes = Vec::new();
    for (client, id) in clients.iter().zip(0..) {
        for n in 0..LANES {
            lanes.push(tokio::spawn(lane(client.clone(), id, n, Arc::clone(&shared), bound)));
        }
    }

    until("every client served before the stop", || each_client_has(&shared, BEFORE)).await;
    until("the server registered every client", || first.clients().len() == clients.len()).await;
    let reached = FaultServiceEvents::new(first.broadcaster()).tick(Tick { n: 1 });
    assert_eq!(reached, clients.len(), "tick 1 reached every client");
    every_stream_gets(&mut streams, 1).await;

    // The fault: the server goes away mid-load.
    shared.phase.store(OUTAGE_PHASE, Ordering::Release);
    let stopped = Instant::now();
    match fault {
        Fault::Stop => first.stop().await,
        Fault::Drop => drop(first),
    }
    until("every client reconnecting", || {
        clients.iter().all(|c| c.inner().status() != ConnectionStatus::Connected)
    })
    .await;
    let statuses: Vec<ConnectionStatus> = clients.iter().map(|c| c.inner().status()).collect();
    assert!(
        statuses.iter().all(|s| *s == ConnectionStatus::Reconnecting),
        "reconnecting, not given up: {statuses:?}"
    );
    tokio::time::sleep(OUTAGE).await;

    let second = restart(&address).await;
    assert_eq!(second.address(), address, "the same address, port included");
    let outage = stopped.elapsed();
    shared.phase.store(AFTER, Ordering::Release);
    let restarted = Instant::now();
    until("every client connected again", || {
        clients.iter().all(|c| c.inner().status() == ConnectionStatus::Connected)
    })
    .await;
    until("the new server registered every client", || second.clients().len() == clients.len())
        .await;
    let reconnected = restarted.elapsed();
    // How far apart the clients came back (the backoff's jitter spreads them).
    let times: Vec<u64> = second.clients().iter().map(|c| c.connected_at).collect();
    let spread = times.iter().max().zip(times.iter().min()).map_or(0, |(max, min)| max - min);
    let mut distinct = times.clone();
    distinct.dedup();
    // Subscriptions made before the outage carry on, with nothing done by the user.
    let reached = FaultServiceEvents::new(second.broadcaster()).tick(Tick { n: 2 });
    assert_eq!(reached, clients.len(), "tick 2 reached every client");
    every_stream_gets(&mut streams, 2).await;
    until("every client served after the restart", || each_client_has(&shared, AFTER)).await;

    shared.stop.store(true, Ordering::Release);
    let mut total = Tally::default();
    for lane in lanes {
        total.add(&lane.await.expect("a lane panicked"));
    }
    for (id, stream) in streams.iter_mut().enumerate() {
        let extra = tokio::time::timeout(Duration::from_millis(20), stream.recv()).await;
        assert!(extra.is_err(), "client {id}: an event after tick 2: {extra:?}");
    }
    let elapsed = started.elapsed();

    let sum = |counts: &[u32; 3]| counts.iter().sum::<u32>();
    println!(
        "faults ({fault:?}, {requests:?}): {CLIENTS} clients x {LANES} lanes; outage {outage:.2?} (stop to restart), every \
         client connected again {reconnected:.2?} after the restart (spread {spread} ms over \
         {} distinct milliseconds); elapsed {elapsed:.2?}",
        distinct.len()
    );
    for (phase, name) in PHASES.iter().enumerate() {
        println!(
            "faults ({fault:?}, {requests:?}): requests made {name}: {} succeeded, {} Disconnected, {} Timeout, {} hung",
            total.ok[phase], total.disconnected[phase], total.timeout[phase], total.hung[phase]
        );
    }
    println!(
        "faults ({fault:?}, {requests:?}): total {} requests: {} succeeded, {} Disconnected, {} Timeout, {} other, {} hung; \
         ticks before and after the restart reached all {CLIENTS} streams",
        sum(&total.ok)
            + sum(&total.disconnected)
            + sum(&total.timeout)
            + sum(&total.hung)
            + u32::try_from(total.other.len()).expect("fits"),
        sum(&total.ok),
        sum(&total.disconnected),
        sum(&total.timeout),
        total.other.len(),
        sum(&total.hung),
    );
    assert_eq!(sum(&total.hung), 0, "no call outlives its own timeout: {total:?}");
    assert!(total.other.is_empty(), "only Disconnected or Timeout: {:?}", total.other);
    if waits {
        // Each lane made at least one request while its client was reconnecting; it waited.
        assert!(
            total.ok[OUTAGE_PHASE] >= CLIENTS * LANES,
            "requests made during the outage waited and succeeded: {total:?}"
        );
        assert_eq!(sum(&total.timeout), 0, "none waited past its deadline: {total:?}");
    } else {
        assert!(
            total.disconnected[OUTAGE_PHASE] + total.timeout[OUTAGE_PHASE] > 0,
            "requests made during the outage failed: {total:?}"
        );
    }
    drop(clients);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_ride_out_a_server_stopped_and_restarted_on_the_same_address() {
    let run = run(Fault::Stop, Requests::FailFast);
    tokio::time::timeout(WHOLE, run).await.expect("finishes within its bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_ride_out_a_server_dropped_and_restarted_on_the_same_address() {
    let run = run(Fault::Drop, Requests::FailFast);
    tokio::time::timeout(WHOLE, run).await.expect("finishes within its bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_wait_for_the_connection_serve_the_outage_requests_after_the_restart() {
    let run = run(Fault::Drop, Requests::Wait);
    tokio::time::timeout(WHOLE, run).await.expect("finishes within its bound");
}
