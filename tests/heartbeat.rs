//! Heartbeats on `ws://`, both ways: a live but idle server keeps its clients connected; a
//! server that stops answering is noticed by its clients, and a client that stops answering
//! by its server, within twice the heartbeat interval. The short heartbeat is given to each
//! server and client of these tests, not registered for the whole process.

use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::transport::ws::WsTransport;
use messaging_tests::wait::until;
use tokio::net::TcpListener;

#[path = "support/pinger.rs"]
pub mod pinger;
use pinger::{One, Ping, PingerClient, PingerServer};

const BEAT: Duration = Duration::from_millis(50);

fn short_heartbeat() -> WsTransport {
    WsTransport::new().heartbeat(BEAT)
}

/// A pinger server at `address`, over the `ws://` transport with the short heartbeat.
async fn start_pinger(address: &str) -> messaging_runtime::RunningServer {
    Server::bind_with(short_heartbeat(), address)
        .await
        .expect("binds")
        .serve(PingerServer::new(One))
        .start()
        .await
        .expect("starts")
}

/// A pinger client of `address`, over the `ws://` transport with the short heartbeat.
async fn connect(address: &str) -> PingerClient {
    let client = Client::builder().transport(short_heartbeat()).connect(address).await;
    PingerClient::from_client(client.expect("connects"))
}

#[tokio::test]
async fn an_idle_but_live_server_keeps_its_clients_connected() {
    let server = start_pinger("ws://127.0.0.1:0/ping").await;
    let client = connect(server.address()).await;
    // Ten heartbeat intervals with no traffic but the heartbeats themselves.
    tokio::time::sleep(BEAT * 10).await;
    assert_eq!(client.inner().status(), ConnectionStatus::Connected);
    assert_eq!(client.ping(Ping {}).await.expect("still served"), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_noticed_within_two_intervals() {
    // A peer that completes the handshake, then never reads again (a hung process).
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = format!("ws://{}/hung", listener.local_addr().expect("address"));
    let hung = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        let socket = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let client = connect(&address).await;
    let pending = {
        let client = client.clone();
        tokio::spawn(async move { client.ping(Ping {}).timeout(Duration::from_secs(20)).await })
    };
    let mut status = client.inner().watch_status();
    let noticed = tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| *s == ConnectionStatus::Disconnected),
    )
    .await;
    assert!(noticed.is_ok(), "the dead peer was noticed, long before the call's 20 s timeout");
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("in time")
        .expect("task");
    assert!(matches!(outcome, Err(CallError::Disconnected)), "{outcome:?}");
    hung.abort();
}

#[tokio::test]
async fn a_server_lets_go_of_a_client_that_stops_answering() {
    let server = start_pinger("ws://127.0.0.1:0/ping-server").await;
    let live = PingerClient::connect(server.address()).await.expect("connects");
    // A client that completes the handshake, then never reads again: it answers no ping.
    let (hung, _) = tokio_tungstenite::connect_async(server.address()).await.expect("handshake");
    until("both clients registered", || server.clients().len() >= 2).await;
    until("the silent client was let go within a few intervals", || server.clients().len() <= 1)
        .await;
    // The live client answers the server's pings (its transport reads all the time).
    assert_eq!(live.inner().status(), ConnectionStatus::Connected);
    assert_eq!(live.ping(Ping {}).await.expect("still served"), 1);
    drop(hung);
    server.stop().await;
}
