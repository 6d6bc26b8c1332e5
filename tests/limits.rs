//! Server resilience: graceful shutdown and the server's limits (connections, requests in
//! flight per connection, the outbound event queue per client), over `memory://` and `ws://`.
//! The client's own event buffers are in `event_buffers.rs`.

use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::TransportError;
use messaging_tests::wait::until_some;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/holder.rs"]
mod holder;
pub use holder::*;

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
        let refusing = format!("{address} refuses new clients once stopping");
        until_some(&refusing, || async { Client::connect(&address).await.err() }).await;
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
    let c = until_some("a place is free again", || async {
        Client::connect(server.address()).await.ok().map(HolderClient::from_client)
    })
    .await;
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

#[tokio::test]
async fn run_until_serves_until_its_signal_then_stops_gracefully() {
    let gate = Gate::default();
    let server = start("memory://limits-run-until", &gate, |s| s).await;
    let client = connect("memory://limits-run-until").await;
    let (fire, signal) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async move {
        let _ = signal.await;
    }));
    assert_eq!(client.ping(Ping { value: 3 }).await.expect("served meanwhile"), 3);
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.hold(Hold { value: 9 }).await }
    });
    gate.started(1).await;
    fire.send(()).expect("the server still runs");
    gate.release.add_permits(1);
    let answer = tokio::time::timeout(WAIT, held).await.expect("in time").expect("task");
    assert_eq!(answer.expect("the request in flight is answered"), 9);
    tokio::time::timeout(WAIT, running).await.expect("stops in time").expect("task");
    let after = client.ping(Ping { value: 4 }).await;
    assert!(matches!(after, Err(CallError::Disconnected)), "{after:?}");
}

#[tokio::test]
async fn a_context_with_too_much_metadata_is_refused_with_a_clear_error() {
    for address in ["memory://limits-context", "ws://127.0.0.1:0/context"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s.max_context_metadata(4, 256)).await;
        let client = connect(server.address()).await;
        let mut many = MessageContext::new();
        for k in 0..5 {
            many.metadata.insert(format!("k{k}"), serde_json::json!(1));
        }
        let mut large = MessageContext::new();
        large.metadata.insert("blob".into(), serde_json::json!("x".repeat(1000)));
        for (what, context) in [("five keys", many), ("a 1 KB value", large)] {
            let refused = client.ping(Ping { value: 1 }).context(context).await;
            let Err(CallError::Internal(wire)) = refused else {
                panic!("{address}: {what}: expected CONTEXT_TOO_LARGE, got {refused:?}");
            };
            assert_eq!((wire.code.as_str(), wire.status), ("CONTEXT_TOO_LARGE", Some(413)));
            assert!(wire.message.contains("at most 4 keys and 256 bytes"), "{}", wire.message);
        }
        let mut fine = MessageContext::new();
        fine.metadata.insert("requestId".into(), serde_json::json!("r-1"));
        let answer = client.ping(Ping { value: 2 }).context(fine).await;
        assert_eq!(answer.expect("within the limits"), 2, "{address}");
        server.stop().await;
    }
}
