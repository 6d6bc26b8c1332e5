//! A client built with `.reconnect(..)` comes back after its server restarts on the same
//! address: requests fail at once during the outage (none hangs) unless they opt in to wait
//! for the connection up to their deadline, and subscriptions carry on without the user doing
//! anything.

use std::time::Duration;

use std::future::IntoFuture;

use futures_util::StreamExt;
use messaging_runtime::prelude::*;
use messaging_runtime::{Backoff, RunningServer};

const WAIT: Duration = Duration::from_secs(5);

/// Says hello.
#[request("hello", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {}

/// A tick.
#[event("tick")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Which tick.
    pub n: u32,
}

/// Unused.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum HelloError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Says hello and ticks.
#[contract(name = "hello", version = "1.0.0", error = HelloError, events(Tick))]
pub trait Greeter {
    /// Says hello.
    async fn hello(&self, req: Hello) -> Result<String, HelloError>;
}

struct Hi;

impl Greeter for Hi {
    async fn hello(&self, _req: Hello) -> Result<String, HelloError> {
        Ok("hi".into())
    }
}

async fn start(address: &str) -> RunningServer {
    Server::bind(address)
        .await
        .expect("binds")
        .serve(GreeterServer::new(Hi))
        .start()
        .await
        .expect("starts")
}

fn fast() -> Backoff {
    Backoff {
        initial_delay: Duration::from_millis(20),
        factor: 1.5,
        max_delay: Duration::from_millis(100),
        max_attempts: Some(100),
    }
}

async fn wait_for(client: &GreeterClient, wanted: ConnectionStatus) {
    let mut status = client.inner().watch_status();
    let reached = tokio::time::timeout(WAIT, status.wait_for(|s| *s == wanted)).await;
    assert!(reached.is_ok(), "status {wanted} within {WAIT:?}, still {}", client.inner().status());
}

#[tokio::test]
async fn a_client_reconnects_after_a_restart_and_its_subscriptions_resume() {
    let first = start("ws://127.0.0.1:0/hello").await;
    let address = first.address().to_owned();
    let client = Client::builder()
        .reconnect(fast())
        .timeout(WAIT)
        .connect(&address)
        .await
        .expect("connects");
    let client = GreeterClient::from_client(client);
    let mut ticks = client.tick();
    // Watches the status from the start, as an application would.
    let statuses = client.inner().status_stream();
    let watcher = tokio::spawn(statuses.take(3).collect::<Vec<_>>());
    first.stop().await;
    wait_for(&client, ConnectionStatus::Reconnecting).await;
    let during = tokio::time::timeout(WAIT, client.hello(Hello {}).into_future()).await;
    assert!(matches!(during, Ok(Err(CallError::Disconnected))), "fails at once: {during:?}");
    let second = start(&address).await;
    wait_for(&client, ConnectionStatus::Connected).await;
    assert_eq!(client.hello(Hello {}).await.expect("served again"), "hi");
    GreeterEvents::new(second.broadcaster()).tick(Tick { n: 7 });
    let (tick, _) =
        tokio::time::timeout(WAIT, ticks.recv()).await.expect("in time").expect("still subscribed");
    assert_eq!(tick.n, 7, "the subscription made before the outage still delivers");
    let seen = tokio::time::timeout(WAIT, watcher).await.expect("in time").expect("watcher");
    assert_eq!(
        seen,
        [ConnectionStatus::Connected, ConnectionStatus::Reconnecting, ConnectionStatus::Connected]
    );
    second.stop().await;
}

#[tokio::test]
async fn a_client_gives_up_after_its_attempts_with_status_error() {
    let server = start("memory://reconnect-give-up").await;
    let backoff = Backoff { max_attempts: Some(3), ..fast() };
    let client =
        Client::builder().reconnect(backoff).connect(server.address()).await.expect("connects");
    let client = GreeterClient::from_client(client);
    let mut ticks = client.tick();
    server.stop().await;
    wait_for(&client, ConnectionStatus::Error).await;
    let ended = tokio::time::timeout(WAIT, ticks.recv()).await.expect("in time");
    assert!(ended.is_none(), "streams end once the client gives up");
    assert!(matches!(client.hello(Hello {}).await, Err(CallError::Disconnected)));
}

#[tokio::test]
async fn without_reconnect_a_lost_connection_stays_disconnected() {
    let server = start("memory://reconnect-off").await;
    let client = GreeterClient::connect(server.address()).await.expect("connects");
    server.stop().await;
    wait_for(&client, ConnectionStatus::Disconnected).await;
    let _again = start("memory://reconnect-off").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.inner().status(), ConnectionStatus::Disconnected);
}

#[tokio::test]
async fn a_call_that_opts_in_waits_for_the_reconnection_up_to_its_deadline() {
    let first = start("ws://127.0.0.1:0/hello-wait").await;
    let address = first.address().to_owned();
    let client = Client::builder().reconnect(fast()).connect(&address).await.expect("connects");
    let client = GreeterClient::from_client(client);
    first.stop().await;
    wait_for(&client, ConnectionStatus::Reconnecting).await;

    // The deadline passes before the server is back: `Disconnected`, after about the deadline.
    let started = tokio::time::Instant::now();
    let short = client.hello(Hello {}).timeout(Duration::from_millis(150)).wait_for_connection();
    let outcome = tokio::time::timeout(WAIT, short.into_future()).await.expect("never hangs");
    assert!(matches!(outcome, Err(CallError::Disconnected)), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(150), "it waited up to its deadline");

    // One waits while the server comes back; one that did not opt in fails at once.
    let waiting = {
        let client = client.clone();
        tokio::spawn(
            async move { client.hello(Hello {}).timeout(WAIT).wait_for_connection().await },
        )
    };
    let at_once = client.hello(Hello {}).await;
    assert!(matches!(at_once, Err(CallError::Disconnected)), "{at_once:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "the opted-in call is still waiting");
    let second = start(&address).await;
    let answer = tokio::time::timeout(WAIT, waiting).await.expect("in time").expect("joins");
    assert_eq!(answer.expect("answered once reconnected"), "hi");
    second.stop().await;
}

#[tokio::test]
async fn a_client_built_to_wait_stops_waiting_when_it_gives_up() {
    let server = start("memory://reconnect-wait-give-up").await;
    let backoff = Backoff { max_attempts: Some(3), ..fast() };
    let client = Client::builder()
        .reconnect(backoff)
        .wait_for_connection(true)
        .timeout(WAIT * 4)
        .connect(server.address())
        .await
        .expect("connects");
    let client = GreeterClient::from_client(client);
    server.stop().await;
    wait_for(&client, ConnectionStatus::Reconnecting).await;
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(WAIT, client.hello(Hello {}).into_future()).await;
    assert!(matches!(outcome, Ok(Err(CallError::Disconnected))), "{outcome:?}");
    assert!(started.elapsed() < WAIT, "it failed when the client gave up, not at its deadline");
    assert_eq!(client.inner().status(), ConnectionStatus::Error);
}
