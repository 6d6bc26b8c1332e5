//! Login bursts against the recommended argon2 cost (19 MiB a hash): password hashes run in
//! a bounded pool, one connection cannot take every slot, memory stays bounded. In a test
//! binary of its own, so that the resident memory it reads is this test's alone.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::auth::{AuthError, Credentials, MemoryAuthProvider};
use messaging_runtime::prelude::*;
use messaging_runtime::{Actor, RunningServer};
use tokio_tungstenite::tungstenite::Message;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

/// Asks nothing much.
#[request("hello", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {}

/// Never returned.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum HelloError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// A service behind a login.
#[contract(name = "hello", version = "1.0.0", error = HelloError)]
pub trait Greeter {
    /// Says hello.
    async fn hello(&self, req: Hello) -> Result<String, HelloError>;
}

struct Greeting;

impl Greeter for Greeting {
    async fn hello(&self, _req: Hello) -> Result<String, HelloError> {
        Ok("hello".into())
    }
}

fn actor(id: &str) -> Actor {
    Actor { id: id.into(), kind: "user".into(), roles: vec![], permissions: vec![] }
}

/// A ws:// server with two users, hashing at the recommended cost in two slots, for which a
/// login waits at most `wait`.
async fn serve(wait: Duration) -> RunningServer {
    let provider = MemoryAuthProvider::new().with_hashing(2, wait);
    provider.add_user("alice", "alice-password", actor("u-alice")).expect("alice");
    provider.add_user("bob", "bob-password", actor("u-bob")).expect("bob");
    let server = Server::bind("ws://127.0.0.1:0/burst").await.expect("binds");
    server.serve(GreeterServer::new(Greeting)).auth(provider).start().await.expect("starts")
}

/// This process's resident memory, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    let kib: f64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kB");
    kib / 1024.0
}

/// Sends `logins` wrong-password logins at once on one raw connection; the codes of the
/// answers, and the highest RSS seen meanwhile.
async fn burst(url: &str, logins: usize) -> (Vec<String>, f64) {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    for id in 0..logins {
        let frame = serde_json::json!({"type": "request", "requestId": id, "requestType": "$login",
            "payload": {"username": "alice", "password": "wrong"}});
        socket.feed(Message::Text(frame.to_string().into())).await.expect("sends");
    }
    socket.flush().await.expect("flushes");
    let mut codes = Vec::new();
    let mut peak = rss_mib();
    while codes.len() < logins {
        let message = tokio::time::timeout(WAIT, socket.next()).await.expect("answered in time");
        peak = peak.max(rss_mib());
        let Some(Ok(Message::Text(text))) = message else { continue };
        let answer: serde_json::Value = serde_json::from_str(&text).expect("json");
        codes.push(answer["error"]["code"].as_str().unwrap_or("none").to_owned());
    }
    (codes, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_logins_on_one_connection_leaves_room_for_other_clients() {
    let server = serve(Duration::from_secs(1)).await;
    let url = server.address().to_owned();
    let before = rss_mib();
    let attack = tokio::spawn({
        let url = url.clone();
        async move { burst(&url, 256).await }
    });
    let client = Client::builder().timeout(WAIT).connect(&url).await.expect("connects");
    let started = Instant::now();
    let session = client.login(Credentials::new("bob", "bob-password")).await;
    let took = started.elapsed();
    assert_eq!(session.expect("bob logs in meanwhile").actor.id, "u-bob");
    let (codes, peak) = attack.await.expect("task");
    let refused = codes.iter().filter(|c| *c == "TOO_MANY_ATTEMPTS").count();
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    assert_eq!(refused + checked, 256, "every login answered clearly: {codes:?}");
    assert!(checked >= 2, "the first logins are checked: {codes:?}");
    let growth = peak - before;
    println!("256 logins on one connection: {checked} checked, {refused} refused at once with TOO_MANY_ATTEMPTS; RSS growth at most {growth:.1} MiB; a login on another connection took {took:?}");
    assert!(growth < 600.0, "memory stays bounded: grew {growth:.1} MiB");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_hashing_slots_fail_overloaded_and_memory_stays_bounded() {
    // A hash at the recommended cost takes well over 5 ms: in 200 ms, two slots check at
    // most 80 of the 128 logins, so some must be refused whatever the machine.
    let server = serve(Duration::from_millis(200)).await;
    let url = server.address().to_owned();
    let before = rss_mib();
    // 64 connections x 2 logins: 128 checks at once for 2 slots that wait at most 200 ms.
    let bursts = (0..64).map(|_| burst(&url, 2));
    let results = tokio::time::timeout(WAIT, join_all(bursts)).await.expect("all answered");
    let peak = results.iter().map(|(_, peak)| *peak).fold(before, f64::max);
    let codes: Vec<String> = results.into_iter().flat_map(|(codes, _)| codes).collect();
    let overloaded = codes.iter().filter(|c| *c == "OVERLOADED").count();
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    assert_eq!(overloaded + checked, 128, "every login answered clearly: {codes:?}");
    assert!(overloaded > 0, "logins beyond the slots' reach fail at once: {codes:?}");
    let growth = peak - before;
    println!("128 logins from 64 connections: {checked} checked, {overloaded} OVERLOADED; RSS growth at most {growth:.1} MiB");
    assert!(growth < 600.0, "memory stays bounded: grew {growth:.1} MiB");
    // The typed error is the same variant on a Rust client.
    let wire = AuthError::Overloaded.to_wire();
    assert_eq!((wire.code.as_str(), wire.status), ("OVERLOADED", Some(503)));
    server.stop().await;
}
