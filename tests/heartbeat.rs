//! Heartbeats on `ws://`: a live but idle server keeps its clients connected; a peer that
//! stops answering is noticed within twice the heartbeat interval. (Own test binary: the
//! `ws://` transport with a short heartbeat is registered process-wide.)

use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::transport::{register_transport, ws::WsTransport};
use tokio::net::TcpListener;

const BEAT: Duration = Duration::from_millis(50);

/// Pings.
#[request("ping", response = u8)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {}

/// Unused.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum PingError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Answers pings.
#[contract(name = "pinger", version = "1.0.0", error = PingError)]
pub trait Pinger {
    /// Answers 1.
    async fn ping(&self, req: Ping) -> Result<u8, PingError>;
}

struct One;

impl Pinger for One {
    async fn ping(&self, _req: Ping) -> Result<u8, PingError> {
        Ok(1)
    }
}

fn short_heartbeat() {
    register_transport(Arc::new(WsTransport::new().heartbeat(BEAT)));
}

#[tokio::test]
async fn an_idle_but_live_server_keeps_its_clients_connected() {
    short_heartbeat();
    let server = Server::bind("ws://127.0.0.1:0/ping")
        .await
        .expect("binds")
        .serve(PingerServer::new(One))
        .start()
        .await
        .expect("starts");
    let client = PingerClient::connect(server.address()).await.expect("connects");
    // Ten heartbeat intervals with no traffic but the heartbeats themselves.
    tokio::time::sleep(BEAT * 10).await;
    assert_eq!(client.inner().status(), ConnectionStatus::Connected);
    assert_eq!(client.ping(Ping {}).await.expect("still served"), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_noticed_within_two_intervals() {
    short_heartbeat();
    // A peer that completes the handshake, then never reads again (a hung process).
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = format!("ws://{}/hung", listener.local_addr().expect("address"));
    let hung = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        let socket = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let client = PingerClient::connect(&address).await.expect("connects");
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
