//! The behaviours every transport must show, each a function of the transport's fixture.

use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use messaging_runtime::client::Backoff;
use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;

use crate::contract::*;
use crate::fixtures::Fixture;
use messaging_tests::wait::until;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// A running server, what its service counted, and the shouts it heard.
struct Running {
    server: RunningServer,
    service: Service,
    heard: Arc<Mutex<Vec<String>>>,
}

async fn start(fixture: &Fixture, address: &str, tune: impl FnOnce(Server) -> Server) -> Running {
    let service = Service::default();
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&heard);
    let server = bind(fixture, address).await;
    let server = tune(server)
        .serve(ConformanceServer::new(service.clone()))
        .on_event(move |shout: Shout, _cx| {
            let sink = Arc::clone(&sink);
            async move { sink.lock().expect("not poisoned").push(shout.text) }
        })
        .start()
        .await
        .expect("starts");
    Running { server, service, heard }
}

/// Binds `address`. A server started again on the port of one just stopped can find it
/// taken for a moment: another test's outgoing connection may have been given it as its
/// local port. Then it tries again, at most 50 times over about 5 s.
async fn bind(fixture: &Fixture, address: &str) -> Server {
    for _ in 0..50 {
        match fixture.bind(address).await {
            Err(messaging_runtime::TransportError::AddressInUse(_)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            bound => return bound.expect("binds"),
        }
    }
    panic!("{address} stayed in use for 5 s");
}

async fn connect(fixture: &Fixture, address: &str) -> ConformanceClient {
    ConformanceClient::connect_with(fixture.client().timeout(WAIT), address)
        .await
        .expect("connects")
}

pub(crate) async fn requests_in_flight_are_answered_and_matched(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    // Later requests wait less, so answers overtake each other.
    let calls = (0..50u32)
        .map(|i| client.echo(Echo { value: i, delay_ms: u64::from(50 - i) }).into_future());
    let answers = tokio::time::timeout(WAIT, join_all(calls)).await.expect("all answered");
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.expect("answered"), u32::try_from(i).expect("small"));
    }
    running.server.stop().await;
}

pub(crate) async fn contract_errors_come_back_as_the_same_variant(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let err = client.refuse(Refuse { reason: "no".into() }).await.expect_err("refused");
    let error = err.into_contract().expect("the contract's own error");
    assert_eq!(error, ConfError::refused("no"));
    assert_eq!((error.code(), error.status()), ("REFUSED", 422));
    assert_eq!(error.to_string(), "refused: no");
    assert_eq!(error.to_wire().details, Some(serde_json::json!({ "reason": "no" })));
    running.server.stop().await;
}

pub(crate) async fn events_reach_every_client_one_client_and_the_server(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let (one, two) = (
        connect(fixture, running.server.address()).await,
        connect(fixture, running.server.address()).await,
    );
    let (mut alphas_one, mut alphas_two) = (one.alpha(), two.alpha());
    let mut betas_two = two.beta();
    let events = ConformanceEvents::new(running.server.broadcaster());
    let reached = events.alpha(Alpha { n: 1 });
    assert_eq!(reached, if fixture.is_broker() { 0 } else { 2 }, "both clients reached");
    for stream in [&mut alphas_one, &mut alphas_two] {
        let got = tokio::time::timeout(WAIT, stream.recv()).await.expect("in time");
        assert_eq!(got.map(|(e, _)| e), Some(Alpha { n: 1 }));
    }
    let second = two.who_am_i(WhoAmI {}).await.expect("answered");
    let second = running.server.clients().into_iter().find(|c| c.id.as_str() == second);
    let second = second.expect("the server lists the client").id;
    events.publish_to(&second, Beta { n: 7 }).expect("sent to one");
    let got = tokio::time::timeout(WAIT, betas_two.recv()).await.expect("in time");
    assert_eq!(got.map(|(e, _)| e), Some(Beta { n: 7 }));
    one.emit(Shout { text: "hello".into() }).expect("emitted");
    until("the server heard the shout", || {
        running.heard.lock().expect("not poisoned").as_slice() == ["hello"]
    })
    .await;
    running.server.stop().await;
}

pub(crate) async fn events_of_one_type_keep_their_order(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let mut alphas = client.alpha();
    let events = ConformanceEvents::new(running.server.broadcaster());
    for n in 0..200 {
        events.alpha(Alpha { n });
    }
    for n in 0..200 {
        let got = tokio::time::timeout(WAIT, alphas.recv()).await.expect("in time");
        assert_eq!(got.map(|(e, _)| e.n), Some(n));
    }
    running.server.stop().await;
}

pub(crate) async fn a_dropped_call_cancels_its_handler(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.hold(Hold { value: 1 }).await }
    });
    let service = running.service.clone();
    until("the handler started", || service.started.load(Ordering::SeqCst) == 1).await;
    call.abort();
    until("the handler was cancelled", || service.ended.load(Ordering::SeqCst) == 1).await;
    // The connection carries on.
    assert_eq!(client.echo(Echo { value: 5, delay_ms: 0 }).await.expect("served"), 5);
    running.server.stop().await;
}

pub(crate) async fn a_call_past_its_deadline_times_out_and_its_handler_is_cancelled(
    fixture: &Fixture,
) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let held = client.hold(Hold { value: 1 }).timeout(Duration::from_millis(200)).await;
    assert!(matches!(held, Err(CallError::Timeout(_))), "{held:?}");
    let service = running.service.clone();
    until("the handler was cancelled", || service.ended.load(Ordering::SeqCst) == 1).await;
    running.server.stop().await;
}

pub(crate) async fn a_handler_sees_the_callers_timestamp_and_deadline(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let now_ms = || {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        u64::try_from(since_epoch.expect("after 1970").as_millis()).expect("fits")
    };
    let before = now_ms();
    let timing = client.timing(AskTiming {}).timeout(Duration::from_secs(20)).await;
    let after = now_ms();
    let timing = timing.expect("answered");
    let timestamp = timing.timestamp.expect("the caller's timestamp arrived");
    assert!((before..=after).contains(&timestamp), "{before} <= {timestamp} <= {after}");
    let left = timing.deadline_ms.expect("the caller's deadline arrived");
    assert!(left > 10_000 && left <= 20_000, "most of the 20 s left, got {left} ms");
    running.server.stop().await;
}

pub(crate) async fn a_lost_connection_fails_waiting_calls_at_once(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.hold(Hold { value: 1 }).await }
    });
    let service = running.service.clone();
    until("the handler started", || service.started.load(Ordering::SeqCst) == 1).await;
    // Dropped, not stopped: no grace period, the connection is simply gone.
    drop(running.server);
    let outcome = tokio::time::timeout(WAIT, call).await.expect("fails long before 60 s");
    let outcome = outcome.expect("task");
    assert!(matches!(outcome, Err(CallError::Disconnected)), "{outcome:?}");
}

pub(crate) async fn a_reconnecting_client_resubscribes_and_calls_again(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let address = running.server.address().to_owned();
    let backoff = Backoff {
        initial_delay: Duration::from_millis(10),
        factor: 1.5,
        max_delay: Duration::from_millis(100),
        max_attempts: None,
    };
    let builder = fixture.client().timeout(WAIT).reconnect(backoff);
    let client = ConformanceClient::connect_with(builder, &address).await.expect("connects");
    let mut alphas = client.alpha();
    running.server.stop().await;
    fixture.outage();
    let mut status = client.inner().watch_status();
    let lost = status.wait_for(|s| *s != ConnectionStatus::Connected);
    tokio::time::timeout(WAIT, lost).await.expect("noticed in time").expect("status");
    fixture.recover();
    let again = start(fixture, &address, |s| s).await;
    let back = status.wait_for(|s| *s == ConnectionStatus::Connected);
    tokio::time::timeout(WAIT, back).await.expect("reconnected in time").expect("status");
    let events = ConformanceEvents::new(again.server.broadcaster());
    if !fixture.is_broker() {
        // A broker delivers to the client's subscriptions, made before it reported itself
        // connected; a socket server must have registered the client first.
        until("the server lists the client again", || again.server.clients().len() == 1).await;
    }
    events.alpha(Alpha { n: 42 });
    let got = tokio::time::timeout(WAIT, alphas.recv()).await.expect("in time");
    assert_eq!(got.map(|(e, _)| e.n), Some(42), "the subscription carried on");
    assert_eq!(client.echo(Echo { value: 3, delay_ms: 0 }).await.expect("served"), 3);
    // The id the client holds is its new connection's.
    let served_as = client.who_am_i(WhoAmI {}).await.expect("served");
    assert_eq!(Some(served_as), client.client_id(), "the id follows the reconnection");
    again.server.stop().await;
}

pub(crate) async fn requests_over_the_in_flight_limit_are_overloaded(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s.max_in_flight(2)).await;
    let client = connect(fixture, running.server.address()).await;
    let held: Vec<_> = (0..2)
        .map(|value| {
            let client = client.clone();
            tokio::spawn(async move { client.hold(Hold { value }).await })
        })
        .collect();
    let service = running.service.clone();
    until("both handlers started", || service.started.load(Ordering::SeqCst) == 2).await;
    let third = client.hold(Hold { value: 3 }).await;
    let Err(CallError::Internal(wire)) = third else {
        panic!("expected OVERLOADED, got {third:?}");
    };
    assert_eq!((wire.code.as_str(), wire.status), ("OVERLOADED", Some(503)));
    assert_eq!(service.started.load(Ordering::SeqCst), 2, "the handler never saw it");
    for call in held {
        call.abort();
    }
    running.server.stop().await;
}

pub(crate) async fn a_stopped_server_disconnects_its_clients_and_a_closed_client_calls_nothing(
    fixture: &Fixture,
) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let (staying, leaving) = (
        connect(fixture, running.server.address()).await,
        connect(fixture, running.server.address()).await,
    );
    for client in [&staying, &leaving] {
        assert_eq!(client.echo(Echo { value: 2, delay_ms: 0 }).await.expect("served"), 2);
    }
    leaving.inner().close();
    let after = leaving.echo(Echo { value: 1, delay_ms: 0 }).await;
    assert!(matches!(after, Err(CallError::Disconnected)), "{after:?}");
    until("the server sees the closed client leave", || running.server.clients().len() == 1).await;
    let mut status = staying.inner().watch_status();
    tokio::time::timeout(WAIT, running.server.stop()).await.expect("stops in time");
    if fixture.is_broker() {
        let after = tokio::time::timeout(WAIT, staying.echo(Echo { value: 3, delay_ms: 0 })).await;
        let after = after.expect("fails at once, not at the timeout");
        assert!(matches!(after, Err(CallError::NoResponders(_))), "{after:?}");
        return;
    }
    let down = status.wait_for(|s| *s == ConnectionStatus::Disconnected);
    tokio::time::timeout(WAIT, down).await.expect("in time").expect("status");
}

pub(crate) async fn events_of_different_types_keep_their_order(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (alphas, betas) = (Arc::clone(&seen), Arc::clone(&seen));
    let _alpha = client.on_alpha(move |e, _| {
        let seen = Arc::clone(&alphas);
        async move { seen.lock().expect("not poisoned").push(format!("a{}", e.n)) }
    });
    // A plain closure and an async one, in one lane.
    let _beta =
        client.on_beta(move |e, _| betas.lock().expect("not poisoned").push(format!("b{}", e.n)));
    let published = publish_alternately(&running, 25);
    until("every event arrived", || seen.lock().expect("not poisoned").len() == 50).await;
    assert_eq!(*seen.lock().expect("not poisoned"), published, "in the order published");
    running.server.stop().await;
}

/// Publishes `pairs` pairs of alpha and beta events in turn; what was published, as `a0 b0 a1 ..`.
fn publish_alternately(running: &Running, pairs: u32) -> Vec<String> {
    let events = ConformanceEvents::new(running.server.broadcaster());
    let mut published = Vec::new();
    for n in 0..pairs {
        events.alpha(Alpha { n });
        events.beta(Beta { n });
        published.extend([format!("a{n}"), format!("b{n}")]);
    }
    published
}

pub(crate) async fn one_stream_of_every_event_keeps_their_order(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let client = connect(fixture, running.server.address()).await;
    let mut all = client.events();
    let published = publish_alternately(&running, 25);
    let mut seen = Vec::new();
    while seen.len() < published.len() {
        let next = tokio::time::timeout(WAIT, all.recv()).await.expect("in time");
        let (event, _) = next.expect("the stream lives while the client does");
        seen.push(match event {
            ConformanceEvent::Alpha(a) => format!("a{}", a.n),
            ConformanceEvent::Beta(b) => format!("b{}", b.n),
            ConformanceEvent::Shout(s) => format!("shout {}", s.text),
        });
    }
    assert_eq!(seen, published, "in the order published, whatever their type");
    running.server.stop().await;
}

pub(crate) async fn a_client_knows_the_id_its_server_serves_it_under(fixture: &Fixture) {
    let running = start(fixture, &fixture.fresh_address(), |s| s).await;
    let (first, second) = (
        connect(fixture, running.server.address()).await,
        connect(fixture, running.server.address()).await,
    );
    for client in [&first, &second] {
        let id = client.client_id().expect("the transport tells the client its id");
        let served_as = client.who_am_i(WhoAmI {}).await.expect("served");
        assert_eq!(served_as, id, "the handler sees the id the client was told");
    }
    assert_ne!(first.client_id(), second.client_id(), "each connection has its own id");
    running.server.stop().await;
}
