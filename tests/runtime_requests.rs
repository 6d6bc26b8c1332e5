//! The runtime's request side, through a small probe contract: contexts arrive intact and
//! forward across hops, per-call timeouts, the server's client list, address errors, and
//! what `stop()` does to calls in flight.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::{Backoff, ClientId, RunningServer, TransportError};
use messaging_tests::wait::until_some;
use tokio::sync::Notify;

/// Bounds every wait in this file.
const WAIT: Duration = Duration::from_secs(10);

/// What a handler saw of its request's context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// `source` as received.
    pub source: Option<String>,
    /// `traceId` as received.
    pub trace_id: Option<String>,
    /// The bearer token as received.
    pub token: Option<String>,
    /// `metadata` as received.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Whether a deadline arrived.
    pub has_deadline: bool,
    /// The id the server assigned to the caller.
    pub client_id: String,
}

/// Answers with what the handler saw.
#[request("echoContext", response = Seen)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EchoContext {
    /// Ignored.
    pub note: String,
}

/// Calls `echoContext` on the probe at `address` with the forwarded context.
#[request("relay", response = Seen)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relay {
    /// Where the next probe listens.
    pub address: String,
}

/// Sleeps, then answers how long it slept.
#[request("sleep", response = u64)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sleep {
    /// How long, in milliseconds.
    pub millis: u64,
}

/// Published by nobody; the contract needs an event list.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probed {
    /// Unused.
    pub n: u32,
}

/// What the probe can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeError {
    /// The next hop failed.
    #[error(status = 502, message = "relay to {address} failed: {reason}")]
    RelayFailed {
        /// The next hop.
        address: String,
        /// What failed.
        reason: String,
    },
}

/// A probe for the runtime's request handling.
#[contract(name = "probe", version = "1.0.0", error = ProbeError, events(Probed))]
pub trait ProbeService {
    /// Answers with the context as received.
    async fn echo_context(&self, req: EchoContext, cx: Context) -> Result<Seen, ProbeError>;
    /// Calls another probe with the forwarded context.
    async fn relay(&self, req: Relay, cx: Context) -> Result<Seen, ProbeError>;
    /// Sleeps.
    async fn sleep(&self, req: Sleep, cx: Context) -> Result<u64, ProbeError>;
}

/// The probe; `sleeping` is notified when a `sleep` starts.
#[derive(Default)]
struct Probe {
    sleeping: Arc<Notify>,
}

impl ProbeService for Probe {
    async fn echo_context(&self, _req: EchoContext, cx: Context) -> Result<Seen, ProbeError> {
        Ok(Seen {
            source: cx.source.clone(),
            trace_id: cx.trace_id.clone(),
            token: cx.auth.as_ref().and_then(|a| a.token.clone()),
            metadata: cx.metadata.clone(),
            has_deadline: cx.deadline.is_some(),
            client_id: cx.client_id().to_string(),
        })
    }

    async fn relay(&self, req: Relay, cx: Context) -> Result<Seen, ProbeError> {
        let failed =
            |e: &dyn std::fmt::Display| ProbeError::relay_failed(&req.address, e.to_string());
        let next = ProbeServiceClient::connect(&req.address).await.map_err(|e| failed(&e))?;
        let request = EchoContext { note: "relayed".into() };
        next.echo_context(request).context(cx.forward()).await.map_err(|e| failed(&e))
    }

    async fn sleep(&self, req: Sleep, _cx: Context) -> Result<u64, ProbeError> {
        self.sleeping.notify_one();
        tokio::time::sleep(Duration::from_millis(req.millis)).await;
        Ok(req.millis)
    }
}

async fn start(name: &str, probe: Probe) -> RunningServer {
    let server = Server::bind(&format!("memory://{name}")).await.expect("the name is free");
    server.serve(ProbeServiceServer::new(probe)).start().await.expect("the server starts")
}

async fn connect(address: &str) -> ProbeServiceClient {
    let client =
        Client::builder().timeout(WAIT).connect(address).await.expect("the server is bound");
    ProbeServiceClient::from_client(client)
}

async fn echo(client: &ProbeServiceClient) -> Seen {
    client.echo_context(EchoContext { note: String::new() }).await.expect("echo answers")
}

/// Waits, bounded, until the server lists `count` clients, and returns their ids.
async fn wait_for_clients(server: &RunningServer, count: usize) -> Vec<ClientId> {
    let listed = || async {
        let clients = server.clients();
        (clients.len() == count).then(|| clients.into_iter().map(|c| c.id).collect::<Vec<_>>())
    };
    until_some("the client list reaches the expected count", listed).await
}

#[tokio::test]
async fn the_callers_context_arrives_intact() {
    let server = start("rt-context", Probe::default()).await;
    let client = connect(server.address()).await;
    let cx = MessageContext::new()
        .with_source("storefront")
        .with_trace_id("trace-1")
        .with_token("secret")
        .with_metadata("requestId", "req-9")
        .with_metadata("attempt", 2);
    let seen = client.echo_context(EchoContext { note: String::new() }).context(cx).await;
    let seen = seen.expect("echo answers");
    assert_eq!(seen.source.as_deref(), Some("storefront"));
    assert_eq!(seen.trace_id.as_deref(), Some("trace-1"));
    assert_eq!(seen.token.as_deref(), Some("secret"));
    assert_eq!(seen.metadata.get("requestId"), Some(&serde_json::json!("req-9")));
    assert_eq!(seen.metadata.get("attempt"), Some(&serde_json::json!(2)));
    assert!(seen.has_deadline, "every call carries its deadline");
    server.stop().await;
}

#[tokio::test]
async fn the_builders_source_is_the_default() {
    let server = start("rt-source", Probe::default()).await;
    let client = Client::builder().source("billing").connect(server.address()).await;
    let client = ProbeServiceClient::from_client(client.expect("the server is bound"));
    assert_eq!(echo(&client).await.source.as_deref(), Some("billing"));
    server.stop().await;
}

#[tokio::test]
async fn forwarded_contexts_keep_the_trace_and_deadline_not_the_token_or_metadata() {
    let first = start("rt-relay-1", Probe::default()).await;
    let second = start("rt-relay-2", Probe::default()).await;
    let client = connect(first.address()).await;
    let cx = MessageContext::new()
        .with_source("gateway")
        .with_trace_id("trace-2")
        .with_token("t")
        .with_metadata("k", "v");
    let seen = client.relay(Relay { address: second.address().into() }).context(cx).await;
    let seen = seen.expect("the relay answers");
    assert_eq!(seen.trace_id.as_deref(), Some("trace-2"));
    assert_eq!(seen.source.as_deref(), Some("gateway"));
    // The caller's credentials and metadata stay with the first service (issue 12's rule).
    assert_eq!(seen.token, None);
    assert!(seen.metadata.is_empty(), "{:?}", seen.metadata);
    assert!(seen.has_deadline);
    let error = client.relay(Relay { address: "memory://rt-relay-nowhere".into() }).await;
    let error =
        error.expect_err("nothing listens there").into_contract().expect("a contract error");
    assert!(matches!(error, ProbeError::RelayFailed { .. }));
    assert!(error.to_string().starts_with("relay to memory://rt-relay-nowhere failed: "));
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_slow_handler_times_out_the_call() {
    let server = start("rt-timeout", Probe::default()).await;
    let client = connect(server.address()).await;
    let budget = Duration::from_millis(50);
    let result = client.sleep(Sleep { millis: 60_000 }).timeout(budget).await;
    assert!(matches!(result, Err(CallError::Timeout(d)) if d == budget), "{result:?}");
    let quick = client.sleep(Sleep { millis: 0 }).await;
    assert_eq!(quick.expect("the connection is still usable"), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_server_lists_clients_as_they_come_and_go() {
    let server = start("rt-clients", Probe::default()).await;
    assert!(server.clients().is_empty());
    let a = connect(server.address()).await;
    let b = connect(server.address()).await;
    let c = connect(server.address()).await;
    let ids = wait_for_clients(&server, 3).await;
    let (id_a, id_b, id_c) =
        (echo(&a).await.client_id, echo(&b).await.client_id, echo(&c).await.client_id);
    let mut distinct = vec![id_a.clone(), id_b.clone(), id_c.clone()];
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "every client gets its own id");
    for id in [&id_a, &id_b, &id_c] {
        assert!(ids.iter().any(|listed| listed.as_str() == id), "{id} is listed");
    }
    a.inner().close();
    let left = wait_for_clients(&server, 2).await;
    assert!(left.iter().all(|id| id.as_str() != id_a), "a closed client leaves the list");
    drop(b);
    let left = wait_for_clients(&server, 1).await;
    assert_eq!(left.first().map(ClientId::as_str), Some(id_c.as_str()));
    server.stop().await;
}

#[tokio::test]
async fn connecting_to_an_unknown_name_is_not_found() {
    let error = Client::connect("memory://rt-nobody-home").await.expect_err("nothing is bound");
    assert_eq!(error, TransportError::NotFound("memory://rt-nobody-home".into()));
    assert_eq!(error.to_string(), "no server is bound at `memory://rt-nobody-home`");
    let typed = ProbeServiceClient::connect("memory://rt-nobody-home").await;
    assert!(matches!(typed, Err(TransportError::NotFound(_))));
}

#[tokio::test]
async fn malformed_addresses_are_rejected_with_a_reason() {
    let error = Client::connect("memory://").await.expect_err("an empty name is invalid");
    assert!(matches!(error, TransportError::InvalidAddress { .. }), "{error:?}");
    let error = Client::connect("carrier-pigeon://coop").await.expect_err("no such scheme");
    assert!(matches!(error, TransportError::UnsupportedScheme { .. }), "{error:?}");
    assert!(error.to_string().contains("`memory://`"), "{error}");
}

#[tokio::test]
async fn client_options_that_cannot_work_are_refused_with_a_reason() {
    let server = start("rt-options", Probe::default()).await;
    let backoff = Backoff::default();
    let cases = [
        ("timeout", Client::builder().timeout(Duration::ZERO), "more than zero"),
        (
            "reconnect.initial_delay",
            Client::builder().reconnect(Backoff { initial_delay: Duration::ZERO, ..backoff }),
            "more than zero",
        ),
        (
            "reconnect.factor",
            Client::builder().reconnect(Backoff { factor: f64::NAN, ..backoff }),
            "found NaN",
        ),
        (
            "reconnect.factor",
            Client::builder().reconnect(Backoff { factor: 0.5, ..backoff }),
            "at least 1.0, found 0.5",
        ),
        (
            "reconnect.max_delay",
            Client::builder().reconnect(Backoff { max_delay: Duration::from_millis(1), ..backoff }),
            "at least `initial_delay`",
        ),
        (
            "reconnect.max_attempts",
            Client::builder().reconnect(Backoff { max_attempts: Some(0), ..backoff }),
            "found 0",
        ),
    ];
    for (option, builder, says) in cases {
        let error = builder.connect(server.address()).await.expect_err("refused");
        let TransportError::InvalidOption { option: named, .. } = &error else {
            panic!("{option}: expected InvalidOption, got {error:?}");
        };
        assert_eq!(*named, option);
        let text = error.to_string();
        assert!(text.starts_with(&format!("invalid option `{option}`: ")), "{text}");
        assert!(text.contains(says), "{text}");
    }
    assert!(server.clients().is_empty(), "none of them connected");
    server.stop().await;
}

#[tokio::test]
async fn server_limits_of_zero_are_refused_with_a_reason() {
    type Tune = fn(Server) -> Server;
    let cases: [(&str, Tune); 3] = [
        ("max_connections", |s| s.max_connections(0)),
        ("max_in_flight", |s| s.max_in_flight(0)),
        ("outbound_queue", |s| s.outbound_queue(0)),
    ];
    for (limit, tune) in cases {
        let server = Server::bind("memory://rt-limits").await.expect("the name is free");
        let server = tune(server.serve(ProbeServiceServer::new(Probe::default())));
        let error = server.start().await.expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!("invalid server limit `{limit}`: must be at least 1, found 0")
        );
    }
}

#[tokio::test]
async fn binding_a_taken_name_is_address_in_use_until_the_server_stops() {
    let server = start("rt-taken", Probe::default()).await;
    let error = Server::bind("memory://rt-taken").await.expect_err("the name is taken");
    assert_eq!(error, TransportError::AddressInUse("memory://rt-taken".into()));
    assert!(error.to_string().contains("already bound"), "{error}");
    server.stop().await;
    until_some("the name is free again once the server has stopped", || async {
        Server::bind("memory://rt-taken").await.ok()
    })
    .await;
}

#[tokio::test]
async fn stopping_the_server_disconnects_calls_in_flight_and_after() {
    let sleeping = Arc::new(Notify::new());
    let server = start("rt-stop", Probe { sleeping: Arc::clone(&sleeping) }).await;
    let client = connect(server.address()).await;
    assert_eq!(client.inner().status(), ConnectionStatus::Connected);
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(Sleep { millis: 60_000 }).await }
    });
    tokio::time::timeout(WAIT, sleeping.notified()).await.expect("the handler starts");
    server.stop().await;

    let result = tokio::time::timeout(WAIT, in_flight).await.expect("in time").expect("no panic");
    assert!(matches!(result, Err(CallError::Disconnected)), "{result:?}");
    let next = client.echo_context(EchoContext { note: String::new() }).await;
    assert!(matches!(next, Err(CallError::Disconnected)), "{next:?}");
    let mut status = client.inner().watch_status();
    let disconnected = status.wait_for(|s| *s == ConnectionStatus::Disconnected);
    tokio::time::timeout(WAIT, disconnected).await.expect("in time").expect("status is watched");
    let after = client.sleep(Sleep { millis: 0 }).await;
    assert!(matches!(after, Err(CallError::Disconnected)), "{after:?}");
}

#[tokio::test]
async fn a_zero_timeout_and_a_zero_event_buffer_are_refused_like_the_builders_other_options() {
    let server = start("requests-zero-options", Probe::default()).await;
    let client = connect("memory://requests-zero-options").await;
    let refused = client.sleep(Sleep { millis: 0 }).timeout(Duration::ZERO).await;
    let Err(CallError::Internal(wire)) = refused else {
        panic!("expected INVALID_OPTION, got {refused:?}")
    };
    assert_eq!((wire.code.as_str(), wire.status), ("INVALID_OPTION", Some(400)));
    assert_eq!(wire.message, "invalid option `timeout`: must be more than zero, found 0 s");
    let built = Client::builder().event_buffer(0).connect("memory://requests-zero-options").await;
    let Err(err) = built else { panic!("a zero event buffer is refused") };
    assert_eq!(err.to_string(), "invalid option `event_buffer`: must be at least 1, found 0");
    server.stop().await;
}

/// `memory://` that asks its clients for requests encoded as envelope text, as the socket
/// transports do: the server, which takes frames, reads them back.
#[derive(Clone, Copy)]
struct EncodingMemory;

#[async_trait::async_trait]
impl messaging_runtime::transport::Transport for EncodingMemory {
    fn scheme(&self) -> &'static str {
        "memory"
    }

    async fn bind(
        &self,
        address: &str,
    ) -> Result<Box<dyn messaging_runtime::transport::Listener>, TransportError> {
        messaging_runtime::transport::memory::MemoryTransport.bind(address).await
    }

    async fn connect(
        &self,
        address: &str,
    ) -> Result<messaging_runtime::transport::ClientLink, TransportError> {
        let mut link =
            messaging_runtime::transport::memory::MemoryTransport.connect(address).await?;
        link.encoded_requests = true;
        Ok(link)
    }
}

#[tokio::test]
async fn requests_encoded_by_their_callers_reach_a_server_that_takes_frames_intact() {
    let _server = start("encoded-requests", Probe::default()).await;
    let client = Client::builder()
        .transport(EncodingMemory)
        .source("encoder")
        .timeout(WAIT)
        .connect("memory://encoded-requests")
        .await
        .expect("the server is bound");
    let client = ProbeServiceClient::from_client(client);
    let context = MessageContext::default().with_trace_id("trace-enc").with_metadata("k", 1);
    let seen = client
        .echo_context(EchoContext { note: "encoded".into() })
        .context(context)
        .await
        .expect("answers");
    assert_eq!(seen.source.as_deref(), Some("encoder"));
    assert_eq!(seen.trace_id.as_deref(), Some("trace-enc"));
    assert_eq!(seen.metadata.get("k"), Some(&serde_json::json!(1)));
    assert!(seen.has_deadline, "the deadline travels in the text too");
    let slept = client.sleep(Sleep { millis: 1 }).await.expect("a second request answers");
    assert_eq!(slept, 1);
}
