//! Server middleware in the real request path: closures in the `(request, next)` shape and
//! tower layers, in registration order, able to change the context, answer early and
//! observe the answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Instant;

use messaging_runtime::middleware::{
    from_fn, reject, BoxError, ClientEvent, ClientRequest, FromFnLayer, Next,
};
use messaging_runtime::payload::Payload;
use messaging_runtime::prelude::*;
use messaging_runtime::server::{ServerEvent, ServerRequest};
use messaging_runtime::RunningServer;
use messaging_tests::wait::until;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;

/// Asks for a greeting, after an optional delay.
#[request("greet", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Greet {
    /// Who to greet.
    pub name: String,
    /// How long the handler takes.
    pub delay_ms: u64,
}

/// Asks for the time; has no layers of its own.
#[request("ping", response = u8)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {}

/// A client waved.
#[event("waved")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waved {
    /// Who waved.
    pub who: String,
}

/// What greeting fails with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum GreetError {
    /// Refused by a middleware.
    #[error(status = 403, message = "{name} may not be greeted")]
    Refused {
        /// Who was refused.
        name: String,
    },
}

/// Greets.
#[contract(name = "greeter", version = "1.0.0", error = GreetError, events(Waved))]
pub trait Greeter {
    /// Greets one person.
    async fn greet(&self, req: Greet, cx: Context) -> Result<String, GreetError>;
    /// Answers 1.
    async fn ping(&self, req: Ping) -> Result<u8, GreetError>;
}

type Log = Arc<Mutex<Vec<String>>>;

#[derive(Default)]
struct Greeter1 {
    log: Log,
    calls: AtomicUsize,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

impl Greeter for Arc<Greeter1> {
    async fn greet(&self, req: Greet, cx: Context) -> Result<String, GreetError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        self.log.lock().expect("log").push("handler".into());
        tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let tag = cx.metadata.get("tag").and_then(|t| t.as_str()).unwrap_or("none").to_owned();
        Ok(format!("hello {} ({tag})", req.name))
    }

    async fn ping(&self, _req: Ping) -> Result<u8, GreetError> {
        Ok(1)
    }
}

/// A layer that logs `"{name} in"` and `"{name} out"` around the rest of the pipeline.
fn logging(
    log: &Log,
    name: &'static str,
) -> FromFnLayer<impl Fn(ServerRequest, Next<ServerRequest>) -> BoxedAnswer + Clone> {
    let log = Arc::clone(log);
    from_fn(move |request: ServerRequest, next: Next<ServerRequest>| -> BoxedAnswer {
        let log = Arc::clone(&log);
        Box::pin(async move {
            log.lock().expect("log").push(format!("{name} in"));
            let answer = next.run(request).await;
            log.lock().expect("log").push(format!("{name} out"));
            answer
        })
    })
}

type BoxedAnswer = Pin<Box<dyn Future<Output = Result<Payload, BoxError>> + Send>>;

async fn serve(
    name: &str,
    service: &Arc<Greeter1>,
    configure: impl FnOnce(Server) -> Server,
) -> (RunningServer, GreeterClient) {
    let server = Server::bind(&format!("memory://{name}")).await.expect("binds");
    let server = configure(server.serve(GreeterServer::new(Arc::clone(service))));
    let running = server.start().await.expect("starts");
    let client =
        Client::builder().timeout(WAIT).connect(running.address()).await.expect("connects");
    (running, GreeterClient::from_client(client))
}

fn greet(name: &str, delay_ms: u64) -> Greet {
    Greet { name: name.into(), delay_ms }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn layers_run_in_registration_order_around_the_handler() {
    let service = Arc::new(Greeter1::default());
    let log = Arc::clone(&service.log);
    let (server, client) = serve("mw-order", &service, |s| {
        s.layer(logging(&log, "first")).layer(logging(&log, "second"))
    })
    .await;
    client.greet(greet("ada", 0)).await.expect("answered");
    let seen = log.lock().expect("log").clone();
    assert_eq!(seen, ["first in", "second in", "handler", "second out", "first out"]);
    server.stop().await;
}

#[tokio::test]
async fn a_layer_changes_the_context_the_handler_sees() {
    let service = Arc::new(Greeter1::default());
    let tagging = from_fn(|mut request: ServerRequest, next: Next<ServerRequest>| async move {
        request.context.message_mut().metadata.insert("tag".into(), "from-middleware".into());
        next.run(request).await
    });
    let (server, client) = serve("mw-context", &service, |s| s.layer(tagging)).await;
    let answer = client.greet(greet("ada", 0)).await.expect("answered");
    assert_eq!(answer, "hello ada (from-middleware)");
    server.stop().await;
}

#[tokio::test]
async fn a_layer_answers_with_a_contract_error_and_the_handler_is_not_called() {
    let service = Arc::new(Greeter1::default());
    let guard = from_fn(|request: ServerRequest, next: Next<ServerRequest>| async move {
        let name = request.payload.to_json().map(|raw| raw.get().to_owned()).unwrap_or_default();
        if name.contains("mallory") {
            return Err(reject(&GreetError::refused("mallory")));
        }
        next.run(request).await
    });
    let (server, client) = serve("mw-reject", &service, |s| s.layer(guard)).await;
    let err = client.greet(greet("mallory", 0)).await.expect_err("refused");
    assert_eq!(err.into_contract(), Some(GreetError::refused("mallory")));
    assert_eq!(service.calls.load(Ordering::SeqCst), 0, "the handler never ran");
    assert!(client.greet(greet("ada", 0)).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn a_layer_observes_the_answer_and_the_time_taken() {
    let service = Arc::new(Greeter1::default());
    let seen: Arc<Mutex<Vec<(bool, Duration)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let metrics = from_fn(move |request: ServerRequest, next: Next<ServerRequest>| {
        let sink = Arc::clone(&sink);
        async move {
            let started = Instant::now();
            let answer = next.run(request).await;
            sink.lock().expect("metrics").push((answer.is_ok(), started.elapsed()));
            answer
        }
    });
    let (server, client) = serve("mw-metrics", &service, |s| s.layer(metrics)).await;
    client.greet(greet("ada", 20)).await.expect("answered");
    let seen = seen.lock().expect("metrics").clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].0, "the answer was a success");
    assert!(
        seen[0].1 >= Duration::from_millis(20),
        "the handler's time is inside: {:?}",
        seen[0].1
    );
    server.stop().await;
}

#[tokio::test]
async fn tower_timeout_answers_timeout() {
    let service = Arc::new(Greeter1::default());
    let (server, client) =
        serve("mw-timeout", &service, |s| s.layer(TimeoutLayer::new(Duration::from_millis(30))))
            .await;
    let err = client.greet(greet("ada", 2_000)).await.expect_err("too slow");
    let CallError::Internal(wire) = err else {
        panic!("expected the server's timeout, got {err:?}")
    };
    assert_eq!((wire.code.as_str(), wire.status), ("TIMEOUT", Some(504)));
    assert!(client.greet(greet("ada", 0)).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn tower_concurrency_limit_holds_and_load_shedding_answers_overloaded() {
    let service = Arc::new(Greeter1::default());
    let (server, client) =
        serve("mw-limit", &service, |s| s.layer(ConcurrencyLimitLayer::new(1))).await;
    let calls = (0..4).map(|_| client.greet(greet("ada", 20)).into_future());
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(service.most_at_once.load(Ordering::SeqCst), 1, "never two handlers at once");
    server.stop().await;

    let service = Arc::new(Greeter1::default());
    let shedding = ServiceBuilder::new().load_shed().concurrency_limit(1);
    let (server, client) = serve("mw-shed", &service, |s| s.layer(shedding)).await;
    let slow = client.greet(greet("first", 1_000));
    let fast = async {
        until("the first greeting holds the one slot", || {
            service.running.load(Ordering::SeqCst) == 1
        })
        .await;
        client.greet(greet("second", 0)).await
    };
    let (slow, fast) = tokio::join!(slow.into_future(), fast);
    assert!(slow.is_ok());
    let CallError::Internal(wire) = fast.expect_err("shed") else { panic!("expected OVERLOADED") };
    assert_eq!((wire.code.as_str(), wire.status), ("OVERLOADED", Some(503)));
    server.stop().await;
}

#[tokio::test]
async fn tower_rate_limit_behind_a_buffer_holds_back_the_excess() {
    let service = Arc::new(Greeter1::default());
    let limited = ServiceBuilder::new().buffer(16).rate_limit(2, Duration::from_secs(60));
    let (server, client) = serve("mw-rate", &service, |s| s.layer(limited)).await;
    for _ in 0..2 {
        client.greet(greet("ada", 0)).await.expect("within the rate");
    }
    let third = client.greet(greet("ada", 0)).timeout(Duration::from_millis(200)).await;
    assert!(matches!(third, Err(CallError::Timeout(_))), "{third:?}");
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_layer_for_one_request_type_leaves_the_others_alone() {
    let service = Arc::new(Greeter1::default());
    let log = Arc::clone(&service.log);
    let (server, client) =
        serve("mw-per-type", &service, |s| s.layer_for::<Greet, _>(logging(&log, "greet-only")))
            .await;
    assert_eq!(client.ping(Ping {}).await.expect("answered"), 1);
    assert!(log.lock().expect("log").is_empty(), "ping passed no layer");
    client.greet(greet("ada", 0)).await.expect("answered");
    assert_eq!(log.lock().expect("log").clone(), ["greet-only in", "handler", "greet-only out"]);
    server.stop().await;
}

#[tokio::test]
async fn an_event_layer_can_drop_events_before_their_handlers() {
    let service = Arc::new(Greeter1::default());
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&heard);
    let only_friends = from_fn(|event: ServerEvent, next: Next<ServerEvent, ()>| async move {
        let text = event.payload.to_json().map(|raw| raw.get().to_owned()).unwrap_or_default();
        if text.contains("stranger") {
            Ok(())
        } else {
            next.run(event).await
        }
    });
    let (server, client) = serve("mw-events", &service, |s| {
        s.event_layer(only_friends).on_event(move |waved: Waved, _cx: Context| {
            let sink = Arc::clone(&sink);
            async move { sink.lock().expect("heard").push(waved.who) }
        })
    })
    .await;
    for who in ["friend", "stranger", "neighbour"] {
        client.emit(Waved { who: who.into() }).expect("emitted");
    }
    client.ping(Ping {}).await.expect("a round trip after the events");
    until("the server heard both events", || heard.lock().expect("heard").len() >= 2).await;
    assert_eq!(heard.lock().expect("heard").clone(), ["friend", "neighbour"]);
    server.stop().await;
}

#[tokio::test]
async fn client_layers_see_every_outgoing_request_and_can_answer_early() {
    let service = Arc::new(Greeter1::default());
    let server = Server::bind("memory://mw-client").await.expect("binds");
    let server =
        server.serve(GreeterServer::new(Arc::clone(&service))).start().await.expect("starts");
    let tagging = from_fn(|mut request: ClientRequest, next: Next<ClientRequest>| async move {
        request.context.metadata.insert("tag".into(), "from-the-client".into());
        next.run(request).await
    });
    let offline_ping = from_fn(|request: ClientRequest, next: Next<ClientRequest>| async move {
        if request.name == "ping" {
            return Ok(Payload::typed(7_u8));
        }
        next.run(request).await
    });
    let client = Client::builder()
        .timeout(WAIT)
        .layer(tagging)
        .layer(offline_ping)
        .connect(server.address())
        .await
        .expect("connects");
    let client = GreeterClient::from_client(client);
    assert_eq!(
        client.greet(greet("ada", 0)).await.expect("answered"),
        "hello ada (from-the-client)"
    );
    assert_eq!(client.ping(Ping {}).await.expect("answered by the layer"), 7);
    server.stop().await;
}

#[tokio::test]
async fn client_event_layers_filter_incoming_events_in_order() {
    let service = Arc::new(Greeter1::default());
    let server = Server::bind("memory://mw-client-events").await.expect("binds");
    let events = GreeterEvents::new(server.broadcaster());
    let server =
        server.serve(GreeterServer::new(Arc::clone(&service))).start().await.expect("starts");
    let no_strangers = from_fn(|event: ClientEvent, next: Next<ClientEvent, ()>| async move {
        let text = event.payload.to_json().map(|raw| raw.get().to_owned()).unwrap_or_default();
        if text.contains("stranger") {
            Ok(())
        } else {
            next.run(event).await
        }
    });
    let client = Client::builder()
        .event_layer(no_strangers)
        .connect(server.address())
        .await
        .expect("connects");
    let client = GreeterClient::from_client(client);
    let mut waves = client.waved();
    for who in ["friend", "stranger", "neighbour"] {
        events.waved(Waved { who: who.into() });
    }
    for expected in ["friend", "neighbour"] {
        let (waved, _) =
            tokio::time::timeout(WAIT, waves.recv()).await.expect("in time").expect("open");
        assert_eq!(waved.who, expected);
    }
    server.stop().await;
}
