//! Close frames over `ws://` and `wss://`: a peer's Close frame is answered with a Close
//! frame (RFC 6455 5.5.1), by the server and by the client. (The `wss://` test registers a
//! `wss://` transport process-wide, which is why these tests have a binary of their own.)

use std::time::Duration;

use certificate::Certificate;
use messaging_runtime::transport::register_transport;
use messaging_runtime::transport::ws::{Tls, WsTransport};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;

#[path = "support/certificate.rs"]
pub mod certificate;
#[path = "support/pinger.rs"]
pub mod pinger;

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use pinger::{One, PingerClient, PingerServer};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

/// Sends `close(1000, "bye")` and returns the close frame's code that comes back.
async fn say_bye<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> CloseCode {
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    ws.send(Message::Close(Some(bye))).await.expect("sends close");
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    });
    answer.await.expect("in time").expect("the close frame has a code").code
}

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
    assert_eq!(say_bye(&mut ws).await, CloseCode::Normal);
    server.stop().await;
}

#[tokio::test]
async fn over_wss_too_and_a_registered_wss_transport_is_used_by_connect() {
    let cert = Certificate::new("close");
    let identity = Tls::new().identity_from_pem(cert.cert(), cert.key()).expect("reads");
    let server = Server::bind_with(WsTransport::new().tls(identity), "wss://127.0.0.1:0/close")
        .await
        .expect("binds")
        .serve(PingerServer::new(One))
        .start()
        .await
        .expect("starts");
    // Every `wss://` client of this process now trusts the test certificate.
    let trust = Tls::new().roots_from_pem(cert.cert()).expect("reads");
    register_transport(Arc::new(WsTransport::new().tls(trust)));
    let client = PingerClient::connect(server.address()).await.expect("connects");
    assert_eq!(client.ping(pinger::Ping {}).await.expect("answered"), 1);
    // A raw client over TLS.
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::pem::PemObject::pem_file_iter(cert.cert()).expect("opens") {
        roots.add(c.expect("a certificate")).expect("trusted");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let authority =
        server.address().trim_start_matches("wss://").split('/').next().map(str::to_owned);
    let tcp =
        tokio::net::TcpStream::connect(authority.expect("authority")).await.expect("connects");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await;
    let url = server.address().replace("127.0.0.1", "localhost");
    let (mut ws, _) =
        tokio_tungstenite::client_async(url, tls.expect("tls")).await.expect("handshake");
    assert_eq!(say_bye(&mut ws).await, CloseCode::Normal);
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
