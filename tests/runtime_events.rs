//! The runtime's event side, through a small ticker contract: broadcast order, streams and
//! callback subscriptions, unsubscribing, client-emitted events and per-client publishing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use messaging_runtime::prelude::*;
use messaging_runtime::{ClientId, EventStream, PublishError, RunningServer, Subscription};
use messaging_tests::wait::until;
use tokio::sync::mpsc;

/// Bounds every wait in this file.
const WAIT: Duration = Duration::from_secs(10);

/// A numbered tick, published by the server.
#[event]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// The tick's number.
    pub n: u32,
}

/// A note, emitted by a client.
#[event("noteTaken")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The note.
    pub text: String,
}

/// Answers the caller's server-assigned id; a round trip also proves the server has
/// registered the client.
#[request("whoAmI", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {
    /// Ignored.
    pub note: String,
}

/// What the ticker can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum TickerError {
    /// Never returned.
    #[error(status = 500, message = "the ticker is broken: {reason}")]
    Broken {
        /// Why.
        reason: String,
    },
}

/// A ticker for the runtime's event handling.
#[contract(name = "ticker", version = "1.0.0", error = TickerError, events(Tick, Note))]
pub trait Ticker {
    /// Answers the caller's id.
    async fn who_am_i(&self, req: WhoAmI, cx: Context) -> Result<String, TickerError>;
}

struct Clock;

impl Ticker for Clock {
    async fn who_am_i(&self, _req: WhoAmI, cx: Context) -> Result<String, TickerError> {
        Ok(cx.client_id().to_string())
    }
}

/// A running ticker and a publisher for it.
async fn start(name: &str) -> (RunningServer, TickerEvents) {
    let server = Server::bind(&format!("memory://{name}")).await.expect("the name is free");
    let events = TickerEvents::new(server.broadcaster());
    let running = server.serve(TickerServer::new(Clock)).start().await.expect("the server starts");
    (running, events)
}

/// A client the server has registered, and its id.
async fn connect(address: &str) -> (TickerClient, String) {
    let client =
        Client::builder().timeout(WAIT).connect(address).await.expect("the server is bound");
    let client = TickerClient::from_client(client);
    let id = client.who_am_i(WhoAmI { note: String::new() }).await.expect("whoAmI answers");
    (client, id)
}

async fn next<T>(stream: &mut EventStream<T>) -> T
where
    T: Event,
{
    let item = tokio::time::timeout(WAIT, stream.recv()).await.expect("an event in time");
    item.expect("the stream is open").0
}

fn client_id(server: &RunningServer, id: &str) -> ClientId {
    let clients = server.clients();
    clients.into_iter().map(|c| c.id).find(|c| c.as_str() == id).expect("the client is listed")
}

#[tokio::test]
async fn a_hundred_broadcasts_arrive_in_order() {
    let (server, events) = start("ev-order").await;
    let (client, _) = connect(server.address()).await;
    let stream = client.tick();
    for n in 0..100 {
        assert_eq!(events.tick(Tick { n }), 1, "one client is connected");
    }
    let received = tokio::time::timeout(WAIT, stream.take(100).collect::<Vec<_>>())
        .await
        .expect("a hundred events in time");
    let numbers: Vec<u32> = received.into_iter().map(|(tick, _)| tick.n).collect();
    assert_eq!(numbers, (0..100).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn every_subscriber_of_every_client_gets_every_event() {
    let (server, events) = start("ev-fanout").await;
    let (a, _) = connect(server.address()).await;
    let (b, _) = connect(server.address()).await;
    let mut streams = [a.tick(), a.subscribe::<Tick>(), b.tick()];
    for n in 0..10 {
        assert_eq!(events.publish(Tick { n }), 2);
    }
    for stream in &mut streams {
        for n in 0..10 {
            assert_eq!(next(stream).await, Tick { n });
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn events_carry_the_publishers_context() {
    let (server, events) = start("ev-context").await;
    let (client, _) = connect(server.address()).await;
    let mut ticks = client.tick();
    let cx = MessageContext::new().with_source("ticker").with_trace_id("trace-ev");
    events.publish_with(Tick { n: 1 }, cx);
    let (tick, cx) =
        tokio::time::timeout(WAIT, ticks.recv()).await.expect("in time").expect("open");
    assert_eq!(tick, Tick { n: 1 });
    assert_eq!((cx.source.as_deref(), cx.trace_id.as_deref()), (Some("ticker"), Some("trace-ev")));
    server.stop().await;
}

/// A callback subscription that forwards ticks into a channel; the channel closes when the
/// subscription's task is gone.
fn forward_ticks(client: &TickerClient) -> (Subscription, mpsc::UnboundedReceiver<u32>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let subscription = client.on_tick(move |tick, _| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(tick.n);
        }
    });
    (subscription, rx)
}

async fn ends_without_ticks(mut received: mpsc::UnboundedReceiver<u32>) {
    let rest = tokio::time::timeout(WAIT, received.recv()).await.expect("the channel closes");
    assert_eq!(rest, None, "no tick is handled after unsubscribing");
}

#[tokio::test]
async fn unsubscribing_a_callback_stops_delivery() {
    let (server, events) = start("ev-unsubscribe").await;
    let (client, _) = connect(server.address()).await;
    let (subscription, mut received) = forward_ticks(&client);
    events.tick(Tick { n: 1 });
    assert_eq!(tokio::time::timeout(WAIT, received.recv()).await.expect("in time"), Some(1));
    subscription.unsubscribe();
    events.tick(Tick { n: 2 });
    ends_without_ticks(received).await;
    server.stop().await;
}

#[tokio::test]
async fn dropping_a_callback_subscription_stops_delivery() {
    let (server, events) = start("ev-drop").await;
    let (client, _) = connect(server.address()).await;
    let (subscription, mut received) = forward_ticks(&client);
    events.tick(Tick { n: 1 });
    assert_eq!(tokio::time::timeout(WAIT, received.recv()).await.expect("in time"), Some(1));
    drop(subscription);
    events.tick(Tick { n: 2 });
    ends_without_ticks(received).await;
    server.stop().await;
}

#[tokio::test]
async fn a_detached_subscription_keeps_delivering() {
    let (server, events) = start("ev-detach").await;
    let (client, _) = connect(server.address()).await;
    let (subscription, mut received) = forward_ticks(&client);
    subscription.detach();
    for n in 0..3 {
        events.tick(Tick { n });
        assert_eq!(tokio::time::timeout(WAIT, received.recv()).await.expect("in time"), Some(n));
    }
    server.stop().await;
}

#[tokio::test]
async fn dropping_one_stream_leaves_the_others_subscribed() {
    let (server, events) = start("ev-drop-stream").await;
    let (client, _) = connect(server.address()).await;
    let dropped = client.tick();
    let mut kept = client.tick();
    events.tick(Tick { n: 1 });
    drop(dropped);
    events.tick(Tick { n: 2 });
    assert_eq!(next(&mut kept).await, Tick { n: 1 });
    assert_eq!(next(&mut kept).await, Tick { n: 2 });
    let mut fresh = client.tick();
    events.tick(Tick { n: 3 });
    assert_eq!(next(&mut fresh).await, Tick { n: 3 }, "a new stream starts from now");
    server.stop().await;
}

#[tokio::test]
async fn streams_end_when_the_server_stops() {
    let (server, _events) = start("ev-end").await;
    let (client, _) = connect(server.address()).await;
    let mut ticks = client.tick();
    server.stop().await;
    let end = tokio::time::timeout(WAIT, ticks.recv()).await.expect("the stream ends in time");
    assert!(end.is_none());
}

#[tokio::test]
async fn client_events_reach_every_on_event_handler_in_order() {
    let (tx, mut received) = mpsc::unbounded_channel();
    let (tx2, mut also) = mpsc::unbounded_channel();
    let server = Server::bind("memory://ev-emit").await.expect("the name is free");
    let server = server
        .serve(TickerServer::new(Clock))
        .on_event::<Note, _, _>(move |note, cx| {
            let _ = tx.send((note.text, cx.source.clone(), cx.client_id().to_string()));
            async {}
        })
        .on_event::<Note, _, _>(move |note, _cx| {
            let _ = tx2.send(note.text);
            async {}
        });
    let server = server.start().await.expect("the server starts");
    let client = Client::builder().source("app").connect(server.address()).await;
    let client = TickerClient::from_client(client.expect("the server is bound"));
    let id = client.who_am_i(WhoAmI { note: String::new() }).await.expect("whoAmI answers");
    for text in ["one", "two", "three"] {
        client.emit(Note { text: text.into() }).expect("the connection is open");
    }
    for text in ["one", "two", "three"] {
        let got = tokio::time::timeout(WAIT, received.recv()).await.expect("in time");
        assert_eq!(got, Some((text.to_owned(), Some("app".to_owned()), id.clone())));
        let got = tokio::time::timeout(WAIT, also.recv()).await.expect("in time");
        assert_eq!(got.as_deref(), Some(text));
    }
    server.stop().await;
}

#[tokio::test]
async fn publish_to_reaches_only_that_client() {
    let (server, events) = start("ev-publish-to").await;
    let (a, id_a) = connect(server.address()).await;
    let (b, _) = connect(server.address()).await;
    let (mut ticks_a, mut ticks_b) = (a.tick(), b.tick());
    events.publish_to(&client_id(&server, &id_a), Tick { n: 7 }).expect("a is connected");
    events.tick(Tick { n: 8 });
    assert_eq!(next(&mut ticks_a).await, Tick { n: 7 });
    assert_eq!(next(&mut ticks_a).await, Tick { n: 8 });
    assert_eq!(next(&mut ticks_b).await, Tick { n: 8 }, "b never saw the tick for a");
    server.stop().await;
}

#[tokio::test]
async fn publish_to_a_departed_client_is_unknown_client() {
    let (server, events) = start("ev-departed").await;
    let (client, id) = connect(server.address()).await;
    let departed = client_id(&server, &id);
    client.inner().close();
    until("the client leaves the list", || server.clients().is_empty()).await;
    let error = events.publish_to(&departed, Tick { n: 1 }).expect_err("the client is gone");
    assert_eq!(error, PublishError::UnknownClient(id));
    server.stop().await;
}

#[tokio::test]
async fn a_broadcast_right_after_connect_reaches_the_new_client() {
    let (server, events) = start("ev-first").await;
    // No round trip first: `connect` returns only once the server has registered the client.
    for round in 0..20 {
        let client = TickerClient::connect(server.address()).await.expect("connects");
        let mut stream = client.tick();
        assert!(events.tick(Tick { n: round }) >= 1, "round {round}: the new client is counted");
        assert_eq!(next(&mut stream).await.n, round);
    }
    server.stop().await;
}

/// A transport that reaches every client with one publish (as a broker does): `memory://`
/// underneath, with a fanout that counts what it is asked to publish.
#[derive(Clone, Default)]
struct Broker {
    published: Arc<std::sync::Mutex<Vec<String>>>,
}

impl messaging_runtime::transport::Fanout for Broker {
    fn publish(&self, event: messaging_runtime::transport::EventFrame) -> usize {
        self.published.lock().expect("not poisoned").push(event.name.into_owned());
        7
    }
}

struct BrokerListener {
    inner: Box<dyn messaging_runtime::transport::Listener>,
    broker: Broker,
}

#[async_trait::async_trait]
impl messaging_runtime::transport::Listener for BrokerListener {
    async fn accept(&mut self) -> Option<messaging_runtime::transport::ServerLink> {
        self.inner.accept().await
    }

    fn local_addr(&self) -> String {
        self.inner.local_addr().replacen("memory://", "broker://", 1)
    }

    fn fanout(&self) -> Option<Arc<dyn messaging_runtime::transport::Fanout>> {
        Some(Arc::new(self.broker.clone()))
    }
}

#[async_trait::async_trait]
impl messaging_runtime::transport::Transport for Broker {
    fn scheme(&self) -> &'static str {
        "broker"
    }

    async fn bind(
        &self,
        address: &str,
    ) -> Result<Box<dyn messaging_runtime::transport::Listener>, messaging_runtime::TransportError>
    {
        let memory = address.replacen("broker://", "memory://", 1);
        let inner = messaging_runtime::transport::memory::MemoryTransport.bind(&memory).await?;
        Ok(Box::new(BrokerListener { inner, broker: self.clone() }))
    }

    async fn connect(
        &self,
        address: &str,
    ) -> Result<messaging_runtime::transport::ClientLink, messaging_runtime::TransportError> {
        let memory = address.replacen("broker://", "memory://", 1);
        messaging_runtime::transport::memory::MemoryTransport.connect(&memory).await
    }
}

#[tokio::test]
async fn a_transport_with_a_fanout_gets_each_broadcast_as_one_publish() {
    let broker = Broker::default();
    let server = Server::bind_with(broker.clone(), "broker://events-fanout").await.expect("binds");
    let server = server.serve(TickerServer::new(Clock)).start().await.expect("starts");
    let mut clients = Vec::new();
    for _ in 0..2 {
        let builder = Client::builder().transport(broker.clone());
        clients.push(builder.connect("broker://events-fanout").await.expect("connects"));
    }
    assert_eq!(server.clients().len(), 2);
    let reached = TickerEvents::new(server.broadcaster()).tick(Tick { n: 1 });
    assert_eq!(reached, 7, "the transport's own count");
    assert_eq!(*broker.published.lock().expect("not poisoned"), vec!["tick".to_owned()]);
    server.stop().await;
}
