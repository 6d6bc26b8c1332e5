//! Close frames over `ws://` and `wss://`: a peer's Close frame is answered with a Close
//! frame (RFC 6455 5.5.1), by the server and by the client.

use std::time::Duration;

#[path = "support/pinger.rs"]
pub mod pinger;

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use pinger::{One, PingerClient, PingerServer};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_server_answers_a_close_frame_with_a_close_frame() {
    let server = Server::bind("ws://127.0.0.1:0/close")
        .await
        .expect("binds")
        .serve(PingerServer::new(One))
        .start()
        .await
        .expect("starts");
    let (mut ws, _) = tokio_tungstenite::connect_async(server.address()).await.expect("handshake");
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    ws.send(Message::Close(Some(bye))).await.expect("sends close");
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame),
                Some(Ok(_)) => continue,
                other => {
                    eprintln!("ended without a close frame: {other:?}");
                    return None;
                }
            }
        }
    })
    .await
    .expect("in time");
    let frame = answer.expect("a close frame came back");
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::Normal));
    server.stop().await;
}

#[tokio::test]
async fn the_client_answers_a_close_frame_with_a_close_frame() {
    // A raw server that says goodbye as soon as the client is connected.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = format!("ws://{}/bye", listener.local_addr().expect("address"));
    let raw = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        let mut ws = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
        ws.send(Message::Close(Some(bye))).await.expect("sends close");
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    let client = PingerClient::connect(&address).await.expect("connects");
    let answer = tokio::time::timeout(WAIT, raw).await.expect("in time").expect("task");
    let frame = answer.expect("the client answered with a close frame");
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::Normal));
    drop(client);
}
