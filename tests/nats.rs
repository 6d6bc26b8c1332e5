//! `nats://` against a real nats-server: the wire a plain NATS client sees (subjects, headers,
//! bodies, ADR-32 discovery), no responders, scatter/gather, replicas sharing the load and
//! losing one, a broker restart mid-load, and a three-node cluster losing a node.

#[path = "conformance/contract.rs"]
#[allow(dead_code, reason = "the suite's contract; these tests use part of it")]
pub mod contract;
#[path = "support/nats.rs"]
mod nats_server;

use std::future::IntoFuture;
use std::time::Duration;

use async_nats::HeaderMap;
use futures_util::future::join_all;
use futures_util::StreamExt;
use messaging_runtime::client::{Backoff, Gather};
use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;
use messaging_tests::wait::until_some;
use serde_json::{json, Value};

use contract::*;
use nats_server::NatsServer;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

async fn replica(address: &str) -> RunningServer {
    let server = Server::bind(address).await.expect("binds");
    server.serve(ConformanceServer::new(Service::default())).start().await.expect("starts")
}

async fn client(address: &str) -> ConformanceClient {
    let builder = Client::builder().timeout(WAIT);
    ConformanceClient::connect_with(builder, address).await.expect("connects")
}

async fn raw(address: &str) -> async_nats::Client {
    async_nats::connect(address).await.expect("a plain NATS client connects")
}

async fn request(
    raw: &async_nats::Client,
    subject: &str,
    headers: HeaderMap,
    body: &str,
) -> async_nats::Message {
    let request = async_nats::Request::new().headers(headers).payload(body.to_owned().into());
    let reply = raw.send_request(subject.to_owned(), request.timeout(Some(WAIT)));
    reply.await.unwrap_or_else(|e| panic!("`{subject}` answers: {e}"))
}

fn json_of(message: &async_nats::Message) -> Value {
    serde_json::from_slice(&message.payload).expect("the body is JSON")
}

fn header<'a>(message: &'a async_nats::Message, name: &str) -> Option<&'a str> {
    message.headers.as_ref()?.get(name).map(|v| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_nats_client_gets_the_documented_answers() {
    let broker = NatsServer::start();
    let running = replica(&broker.url()).await;
    let raw = raw(&broker.url()).await;
    // No headers at all: served with an empty context; the reply's body is the response.
    let echo =
        request(&raw, "mb.conformance.echo", HeaderMap::new(), r#"{"value":7,"delay_ms":0}"#).await;
    assert_eq!((json_of(&echo), echo.headers.is_none()), (json!(7), true));
    // An error: ADR-32's headers, and the wire error as the body.
    let refused =
        request(&raw, "mb.conformance.refuse", HeaderMap::new(), r#"{"reason":"no"}"#).await;
    assert_eq!(header(&refused, "Nats-Service-Error-Code"), Some("422"));
    assert_eq!(header(&refused, "Nats-Service-Error"), Some("refused: no"));
    let wire = json_of(&refused);
    assert_eq!((wire["code"].as_str(), wire["status"].as_u64()), (Some("REFUSED"), Some(422)));
    // A malformed header is named.
    let mut headers = HeaderMap::new();
    headers.insert("Mb-Deadline-Ms", "soon");
    let bad = request(&raw, "mb.conformance.echo", headers, r#"{"value":1,"delay_ms":0}"#).await;
    assert_eq!(header(&bad, "Nats-Service-Error-Code"), Some("400"));
    assert!(json_of(&bad)["message"].as_str().is_some_and(|m| m.contains("Mb-Deadline-Ms")));
    // Discovery: ADR-32 INFO lists the endpoints, STATS counts them.
    let info = json_of(&request(&raw, "$SRV.INFO.conformance", HeaderMap::new(), "").await);
    assert_eq!(info["type"], "io.nats.micro.v1.info_response");
    assert_eq!(
        (info["version"].as_str(), info["metadata"]["contract"].as_str()),
        (Some("1.0.0"), Some("conformance"))
    );
    let subjects: Vec<&str> = info["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    for expected in ["mb.conformance.echo", "mb.conformance.refuse", "mb.conformance.$handshake"] {
        assert!(subjects.contains(&expected), "{expected} in {subjects:?}");
    }
    let stats = json_of(&request(&raw, "$SRV.STATS.conformance", HeaderMap::new(), "").await);
    let endpoint = |name: &str| {
        stats["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(
        (endpoint("echo")["num_requests"].as_u64(), endpoint("echo")["num_errors"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(endpoint("refuse")["num_errors"].as_u64(), Some(1));
    let ping = json_of(&request(&raw, "$SRV.PING", HeaderMap::new(), "").await);
    assert_eq!(ping["name"], "conformance");
    // A broadcast is one message on the event's subject.
    let mut alphas = raw.subscribe("mb.conformance.event.alpha").await.expect("subscribes");
    // A round trip after the subscription: the broker has it (a flush does not promise it).
    request(&raw, "$SRV.PING", HeaderMap::new(), "").await;
    ConformanceEvents::new(running.broadcaster()).alpha(Alpha { n: 5 });
    let alpha =
        tokio::time::timeout(WAIT, alphas.next()).await.expect("in time").expect("an event");
    assert_eq!(json_of(&alpha), json!({"n": 5}));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_nats_clients_timing_headers_reach_the_handler() {
    let broker = NatsServer::start();
    let running = replica(&broker.url()).await;
    let raw = raw(&broker.url()).await;
    // Without headers, and with a plain client's inbox as the reply subject: no timing.
    let none = request(&raw, "mb.conformance.timing", HeaderMap::new(), "{}").await;
    assert_eq!(json_of(&none), json!({"timestamp": null, "deadline_ms": null}));
    // With them: the documented headers, as any NATS client in any language sends them.
    let mut headers = HeaderMap::new();
    headers.insert("Mb-Timestamp", "1764806400000");
    headers.insert("Mb-Deadline-Ms", "20000");
    let timed = json_of(&request(&raw, "mb.conformance.timing", headers, "{}").await);
    assert_eq!(timed["timestamp"].as_u64(), Some(1_764_806_400_000));
    let left = timed["deadline_ms"].as_u64().expect("the deadline reached the handler");
    assert!(left > 10_000 && left <= 20_000, "most of the 20 s left, got {left} ms");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_serves_fails_at_once_with_no_responders() {
    let broker = NatsServer::start();
    let client = client(&broker.url()).await;
    let outcome = client.echo(Echo { value: 1, delay_ms: 0 }).await;
    let Err(CallError::NoResponders(wire)) = outcome else {
        panic!("expected NoResponders, got {outcome:?}");
    };
    assert!(wire.message.contains("mb.conformance.echo"), "{}", wire.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_many_gathers_the_reply_of_every_replica() {
    let broker = NatsServer::start();
    let url = broker.url();
    let replicas = join_all((0..3).map(|_| replica(&url))).await;
    let client = client(&broker.url()).await;
    let counted: Vec<_> =
        client.request_many(Echo { value: 9, delay_ms: 0 }, Gather::replies(3)).collect().await;
    assert_eq!(counted.len(), 3, "{counted:?}");
    assert!(counted.iter().all(|r| matches!(r, Ok(9))), "{counted:?}");
    let quiet: Vec<_> = client
        .request_many(
            Echo { value: 4, delay_ms: 0 },
            Gather::default().quiet(Duration::from_millis(500)),
        )
        .collect()
        .await;
    assert_eq!(quiet.len(), 3, "the quiet period ends the stream after every replica: {quiet:?}");
    for replica in replicas {
        replica.stop().await;
    }
    // The stream ends at the error: a long quiet period does not hold it up.
    let until = Gather::default().quiet(WAIT);
    let none: Vec<_> = client.request_many(Echo { value: 1, delay_ms: 0 }, until).collect().await;
    assert!(matches!(none.as_slice(), [Err(CallError::NoResponders(_))]), "{none:?}");
}

/// The echo requests each replica served, by its ADR-32 instance id.
async fn served_per_replica(raw: &async_nats::Client, replicas: usize) -> Vec<u64> {
    let inbox = raw.new_inbox();
    let mut answers = raw.subscribe(inbox.clone()).await.expect("subscribes");
    raw.publish_with_reply("$SRV.STATS.conformance", inbox, "".into()).await.expect("published");
    let mut served = Vec::new();
    while served.len() < replicas {
        let answer =
            tokio::time::timeout(WAIT, answers.next()).await.expect("every replica answers");
        let stats = json_of(&answer.expect("an answer"));
        let echo = stats["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["name"] == "echo")
            .cloned();
        served.push(echo.and_then(|e| e["num_requests"].as_u64()).unwrap_or(0));
    }
    served
}

/// Waits, bounded, until the replicas together served `more` echo requests more than now.
async fn until_served(raw: &async_nats::Client, more: u64) {
    let replicas = served_per_replica_now(raw).await;
    let target = replicas.iter().sum::<u64>() + more;
    until_some("the load gets going", || async {
        (served_per_replica_now(raw).await.iter().sum::<u64>() >= target).then_some(())
    })
    .await;
}

/// The echo requests each replica that answers within 200 ms served.
async fn served_per_replica_now(raw: &async_nats::Client) -> Vec<u64> {
    let inbox = raw.new_inbox();
    let mut answers = raw.subscribe(inbox.clone()).await.expect("subscribes");
    raw.publish_with_reply("$SRV.STATS.conformance", inbox, "".into()).await.expect("published");
    let mut served = Vec::new();
    while let Ok(Some(answer)) =
        tokio::time::timeout(Duration::from_millis(200), answers.next()).await
    {
        let stats = json_of(&answer);
        let echo =
            stats["endpoints"].as_array().into_iter().flatten().find(|e| e["name"] == "echo");
        served.push(echo.and_then(|e| e["num_requests"].as_u64()).unwrap_or(0));
    }
    served
}

async fn load(clients: &[ConformanceClient], calls: u32) -> Vec<Result<u32, CallError<ConfError>>> {
    let per_client = calls / u32::try_from(clients.len()).expect("few clients");
    let each = clients.iter().map(|client| async move {
        let mut outcomes = Vec::new();
        for batch in 0..per_client / 50 {
            let calls = (0..50)
                .map(|i| client.echo(Echo { value: batch * 50 + i, delay_ms: 0 }).into_future());
            outcomes.extend(join_all(calls).await);
        }
        outcomes
    });
    join_all(each).await.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_load_and_the_rest_take_over_when_one_goes() {
    let broker = NatsServer::start();
    let url = broker.url();
    let mut replicas = join_all((0..3).map(|_| replica(&url))).await;
    let clients = join_all((0..4).map(|_| client(&url))).await;
    let outcomes = load(&clients, 3000).await;
    assert_eq!(outcomes.len(), 3000);
    assert!(outcomes.iter().all(Result::is_ok), "every request answered");
    let raw = raw(&broker.url()).await;
    let served = served_per_replica(&raw, 3).await;
    assert_eq!(served.iter().sum::<u64>(), 3000, "each answered exactly once: {served:?}");
    assert!(served.iter().all(|n| *n > 0), "each replica served a share: {served:?}");
    // One replica stops while requests are in flight: it answers what it took off the
    // broker, the others take the rest; nothing fails.
    let stopping = replicas.pop().expect("three");
    let during = tokio::spawn({
        let clients = clients.clone();
        async move { load(&clients, 2000).await }
    });
    until_served(&raw, 500).await;
    stopping.stop().await;
    let during = tokio::time::timeout(WAIT * 3, during).await.expect("no request hangs");
    let failed: Vec<_> = during.expect("task").into_iter().filter_map(Result::err).collect();
    assert!(failed.iter().all(|e| matches!(e, CallError::Disconnected)), "{failed:?}");
    // One replica crashes (dropped, nothing drained): what it held fails clearly, at once
    // (`Disconnected`) or at the caller's deadline (`Timeout`); the last one takes the rest.
    let crashing = replicas.pop().expect("two left");
    let during = tokio::spawn({
        let clients = clients.clone();
        async move { load(&clients, 2000).await }
    });
    until_served(&raw, 500).await;
    drop(crashing);
    let during = tokio::time::timeout(WAIT * 3, during).await.expect("no request hangs");
    let during = during.expect("task");
    let failed: Vec<_> = during.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.iter().all(|e| matches!(e, CallError::Disconnected | CallError::Timeout(_))),
        "fails clearly: {failed:?}"
    );
    assert!(during.len() - failed.len() > 1500, "the others took over: {} failed", failed.len());
    // As a crashed process's connection closes, the dropped replica's subscriptions go.
    until_some("the crashed replica left the broker", || async {
        (served_per_replica_now(&raw).await.len() <= 1).then_some(())
    })
    .await;
    let after = load(&clients, 400).await;
    let failed: Vec<_> = after.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "the remaining replica serves everything: {failed:?}");
    for replica in replicas {
        replica.stop().await;
    }
}

fn backoff() -> Backoff {
    Backoff {
        initial_delay: Duration::from_millis(20),
        factor: 1.5,
        max_delay: Duration::from_millis(200),
        max_attempts: None,
    }
}

/// Calls until one succeeds, bounded by [`WAIT`]; the failures seen on the way.
async fn until_answered(client: &ConformanceClient) -> Vec<CallError<ConfError>> {
    let mut failures = Vec::new();
    let answered = tokio::time::timeout(WAIT, async {
        loop {
            match client.echo(Echo { value: 1, delay_ms: 0 }).await {
                Ok(_) => return,
                Err(e) => failures.push(e),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(answered.await.is_ok(), "no call succeeded within {WAIT:?}: {failures:?}");
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_load_reconnects_everyone_and_no_call_hangs() {
    let mut broker = NatsServer::start();
    let url = broker.url();
    let running = replica(&url).await;
    let builder = Client::builder().timeout(WAIT).reconnect(backoff());
    let client = ConformanceClient::connect_with(builder, &url).await.expect("connects");
    let loading = tokio::spawn({
        let client = client.clone();
        async move {
            let mut outcomes = Vec::new();
            for value in 0..400 {
                outcomes.push(client.echo(Echo { value, delay_ms: 1 }).await);
                if outcomes.last().is_some_and(Result::is_err) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            outcomes
        }
    });
    let raw = raw(&url).await;
    until_served(&raw, 50).await;
    broker.restart();
    let outcomes =
        tokio::time::timeout(WAIT * 3, loading).await.expect("no call hangs").expect("task");
    let failed: Vec<_> = outcomes.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.iter().all(|e| matches!(e, CallError::Disconnected | CallError::NoResponders(_))),
        "each call succeeded or failed at once: {failed:?}"
    );
    // The server resubscribed by itself, the client reconnected: calls go through again.
    until_answered(&client).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_carries_on_when_the_clients_node_goes() {
    // Each node routes to those started before it; the cluster meshes by itself.
    let mut nodes: Vec<NatsServer> = Vec::with_capacity(3);
    for _ in 0..3 {
        let routes: Vec<u16> = nodes.iter().map(NatsServer::route_port).collect();
        nodes.push(NatsServer::cluster_node(&routes));
    }
    // The server on the first node; the client on the third, with the second to fall back on.
    let running = replica(&nodes[0].url()).await;
    let address = format!("nats://127.0.0.1:{},127.0.0.1:{}", nodes[2].port(), nodes[1].port());
    let builder = Client::builder().timeout(WAIT).reconnect(backoff());
    let client = ConformanceClient::connect_with(builder, &address).await.expect("connects");
    // The routes carry the server's subscriptions to the other nodes.
    until_answered(&client).await;
    let mut status = client.inner().watch_status();
    nodes[2].kill();
    let lost = status.wait_for(|s| *s != ConnectionStatus::Connected);
    let _ = tokio::time::timeout(WAIT, lost).await;
    let failures = until_answered(&client).await;
    assert!(
        failures.iter().all(|e| matches!(e, CallError::Disconnected | CallError::NoResponders(_))),
        "{failures:?}"
    );
    assert_eq!(client.echo(Echo { value: 8, delay_ms: 0 }).await.expect("through node 2"), 8);
    running.stop().await;
}
