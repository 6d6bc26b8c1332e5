//! The typed client and server over `ws://` and `tcp://` (the same connection engine, two
//! framings): the same contract code as in-process, with only the address changed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::{ClientId, TransportError};
use messaging_tests::echo::{
    Echo, EchoServiceClient, EchoServiceEvents, EchoServiceServer, Echoer, Said,
};
use messaging_tests::wait::until;

const WAIT: Duration = Duration::from_secs(5);

/// Where the tests that run over both framings bind their server.
const ADDRESSES: [&str; 2] = ["ws://127.0.0.1:0/echo", "tcp://127.0.0.1:0"];

type Heard = Arc<Mutex<Vec<(String, ClientId)>>>;

/// An echo server on `address`: the server, what clients said, and its service.
async fn echo_server(address: &str) -> (messaging_runtime::RunningServer, Heard, Echoer) {
    let heard: Heard = Arc::default();
    let echoer = Echoer::default();
    let sink = Arc::clone(&heard);
    let server =
        Server::bind(address)
            .await
            .expect("binds an ephemeral port")
            .serve(EchoServiceServer::new(echoer.clone()))
            .on_event(move |said: Said, cx: Context| {
                let sink = Arc::clone(&sink);
                async move {
                    sink.lock().expect("not poisoned").push((said.text, cx.client_id().clone()))
                }
            })
            .start()
            .await
            .expect("starts");
    (server, heard, echoer)
}

#[tokio::test]
async fn the_bound_address_has_the_real_port() {
    let (server, _, _) = echo_server("ws://127.0.0.1:0/echo").await;
    let address = server.address().to_owned();
    assert!(address.starts_with("ws://127.0.0.1:") && address.ends_with("/echo"), "{address}");
    assert!(!address.contains(":0/"), "port 0 is replaced by the bound port: {address}");
    server.stop().await;
}

#[tokio::test]
async fn many_requests_in_flight_are_answered_in_any_order_and_matched() {
    for address in ADDRESSES {
        many_requests_in_flight_are_answered_in_any_order_and_matched_over(address).await;
    }
}

async fn many_requests_in_flight_are_answered_in_any_order_and_matched_over(address: &str) {
    let (server, _, _) = echo_server(address).await;
    let client = EchoServiceClient::connect(server.address()).await.expect("connects");
    // Later requests finish first, so answers arrive in the reverse order of the requests.
    let calls = (0..20_u32).map(|value| {
        let client = client.clone();
        async move { client.echo(Echo { value, delay_ms: u64::from(20 - value) * 5 }).await }
    });
    let answers =
        tokio::time::timeout(WAIT, futures_util::future::join_all(calls)).await.expect("in time");
    let values: Vec<u32> = answers.into_iter().map(|a| a.expect("each call succeeds")).collect();
    assert_eq!(values, (0..20).collect::<Vec<_>>());
    let burst = (0..500_u32).map(|value| {
        let client = client.clone();
        async move { client.echo(Echo { value, delay_ms: 0 }).await.expect("answered") == value }
    });
    let matched =
        tokio::time::timeout(WAIT, futures_util::future::join_all(burst)).await.expect("in time");
    assert!(matched.iter().all(|m| *m), "every response matches its request");
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_fails_waiting_requests_at_once() {
    for address in ADDRESSES {
        a_dropped_connection_fails_waiting_requests_at_once_over(address).await;
    }
}

async fn a_dropped_connection_fails_waiting_requests_at_once_over(address: &str) {
    let (server, _, echoer) = echo_server(address).await;
    let client = EchoServiceClient::connect(server.address()).await.expect("connects");
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.echo(Echo { value: 1, delay_ms: 60_000 }).await })
    };
    until("the slow echo is being served", || echoer.started() == 1).await;
    server.stop().await;
    let outcome =
        tokio::time::timeout(WAIT, slow).await.expect("fails long before its 30 s timeout");
    assert!(matches!(outcome.expect("task"), Err(CallError::Disconnected)));
    let mut status = client.inner().watch_status();
    let disconnected =
        tokio::time::timeout(WAIT, status.wait_for(|s| *s == ConnectionStatus::Disconnected)).await;
    assert!(disconnected.is_ok(), "status becomes disconnected");
    let later = client.echo(Echo { value: 2, delay_ms: 0 }).await;
    assert!(matches!(later, Err(CallError::Disconnected)), "{later:?}");
}

#[tokio::test]
async fn closing_a_client_closes_its_socket_and_fails_its_waiting_calls() {
    for address in ADDRESSES {
        closing_a_client_closes_its_socket_and_fails_its_waiting_calls_over(address).await;
    }
}

async fn closing_a_client_closes_its_socket_and_fails_its_waiting_calls_over(address: &str) {
    let (server, _, _) = echo_server(address).await;
    let client = EchoServiceClient::connect(server.address()).await.expect("connects");
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.echo(Echo { value: 1, delay_ms: 60_000 }).await })
    };
    until("the client is listed", || server.clients().len() == 1).await;
    // Whether the slow request is in flight or not yet sent, closing fails it at once.
    client.inner().close();
    let outcome = tokio::time::timeout(WAIT, slow).await.expect("fails at once, not in 60 s");
    assert!(matches!(outcome.expect("task"), Err(CallError::Disconnected)));
    // `client` is still alive: the socket closed because of `close`, not a drop.
    until("the server sees the client leave", || server.clients().is_empty()).await;
    let later = client.echo(Echo { value: 2, delay_ms: 0 }).await;
    assert!(matches!(later, Err(CallError::Disconnected)), "{later:?}");
    server.stop().await;
}

#[tokio::test]
async fn events_flow_both_ways_and_to_one_client() {
    for address in ADDRESSES {
        events_flow_both_ways_and_to_one_client_over(address).await;
    }
}

async fn events_flow_both_ways_and_to_one_client_over(address: &str) {
    let (server, heard, _) = echo_server(address).await;
    let alice = EchoServiceClient::connect(server.address()).await.expect("connects");
    let bob = EchoServiceClient::connect(server.address()).await.expect("connects");
    let (mut to_alice, mut to_bob) = (alice.said(), bob.said());
    alice.emit(Said { text: "hello from alice".into() }).expect("emitted");
    // A round trip after the emit means the server has read the event frame before it.
    alice.echo(Echo { value: 0, delay_ms: 0 }).await.expect("answered");
    until("the server heard alice", || !heard.lock().expect("not poisoned").is_empty()).await;
    let (text, alice_id) =
        heard.lock().expect("not poisoned").first().cloned().expect("the server heard alice");
    assert_eq!(text, "hello from alice");
    let events = EchoServiceEvents::new(server.broadcaster());
    assert_eq!(events.said(Said { text: "to everyone".into() }), 2);
    events.publish_to(&alice_id, Said { text: "just alice".into() }).expect("alice is connected");
    assert_eq!(next(&mut to_alice).await, "to everyone");
    assert_eq!(next(&mut to_alice).await, "just alice");
    assert_eq!(next(&mut to_bob).await, "to everyone");
    assert_eq!(server.clients().len(), 2);
    server.stop().await;
}

async fn next(stream: &mut messaging_runtime::EventStream<Said>) -> String {
    tokio::time::timeout(WAIT, stream.recv()).await.expect("in time").expect("open").0.text
}

#[tokio::test]
async fn connecting_to_nothing_and_binding_a_taken_port_fail_clearly() {
    let (server, _, _) = echo_server("ws://127.0.0.1:0/echo").await;
    let taken = server.address().trim_end_matches("/echo").to_owned() + "/again";
    let err = Server::bind(&taken).await.expect_err("the port is taken");
    assert_eq!(err, TransportError::AddressInUse(taken));
    let port = server
        .address()
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .expect("port")
        .to_owned();
    server.stop().await;
    let nobody = format!("ws://127.0.0.1:{port}/echo");
    let err = EchoServiceClient::connect(&nobody).await.expect_err("nothing listens");
    assert_eq!(err.to_string(), format!("no server is bound at `{nobody}`"));
    for bad in ["ws://", "ws://127.0.0.1", "ws://127.0.0.1:http/x", "ws://:80/"] {
        let err = Server::bind(bad).await.expect_err("malformed");
        assert!(matches!(err, TransportError::InvalidAddress { .. }), "{bad}: {err}");
    }
}

#[tokio::test]
async fn a_broadcast_right_after_connect_reaches_the_new_client() {
    for address in ADDRESSES {
        a_broadcast_right_after_connect_reaches_the_new_client_over(address).await;
    }
}

async fn a_broadcast_right_after_connect_reaches_the_new_client_over(address: &str) {
    let (server, _, _) = echo_server(address).await;
    let events = EchoServiceEvents::new(server.broadcaster());
    for round in 0..10 {
        let client = EchoServiceClient::connect(server.address()).await.expect("connects");
        let mut said = client.said();
        assert!(events.said(Said { text: format!("round {round}") }) >= 1, "registered on connect");
        assert_eq!(next(&mut said).await, format!("round {round}"));
    }
    server.stop().await;
}
