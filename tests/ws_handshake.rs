//! The `ws://` server's handshake over real sockets: a time limit, a cap on handshakes under
//! way kept apart from `max_connections`, HTTP answers to requests that are not upgrades,
//! and options given to one server rather than the whole process.

#[path = "support/pinger.rs"]
pub mod pinger;
#[path = "support/raw.rs"]
pub mod raw;

use std::time::{Duration, Instant};

use messaging_runtime::prelude::*;
use messaging_runtime::transport::ws::WsTransport;
use messaging_runtime::TransportError;
use messaging_tests::wait::until_some;
use pinger::{One, Ping, PingerClient, PingerServer};
use raw::{exchange, upgrade_request, upgrade_status, ws_authority};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

async fn pinger(transport: WsTransport, limit: usize) -> messaging_runtime::RunningServer {
    Server::bind_with(transport, "ws://127.0.0.1:0/ping")
        .await
        .expect("binds")
        .max_connections(limit)
        .serve(PingerServer::new(One))
        .start()
        .await
        .expect("starts")
}

/// Reads until the server closes the socket; `Err` when `bound` passes first.
async fn until_closed(socket: &mut TcpStream, bound: Duration) -> Result<Vec<u8>, ()> {
    let mut got = Vec::new();
    tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 1024];
        while let Ok(n @ 1..) = socket.read(&mut chunk).await {
            got.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .map_err(|_| ())?;
    Ok(got)
}

#[tokio::test]
async fn idle_sockets_take_no_connection_slot_and_are_closed_at_the_limit() {
    let limit = Duration::from_secs(2);
    let transport = WsTransport::new().handshake_timeout(limit).max_pending_handshakes(4096);
    // One connection slot: before, the first idle socket took it.
    let server = pinger(transport, 1).await;
    let authority = ws_authority(server.address());
    let opened = Instant::now();
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        idle.push(TcpStream::connect(&authority).await.expect("connects"));
    }
    let client = PingerClient::connect(server.address()).await.expect("a real client connects");
    assert_eq!(client.ping(Ping {}).await.expect("served"), 1);
    assert_eq!(server.clients().len(), 1, "sockets in their handshake are not clients");
    for socket in &mut idle {
        let got = until_closed(socket, limit + WAIT).await.expect("closed after the limit");
        assert!(got.is_empty(), "a socket that sent nothing gets nothing back");
    }
    assert!(opened.elapsed() >= limit, "not closed before the limit");
    assert_eq!(client.ping(Ping {}).await.expect("still served"), 1);
    server.stop().await;
}

#[tokio::test]
async fn beyond_the_pending_cap_new_sockets_are_closed_at_once() {
    let transport =
        WsTransport::new().handshake_timeout(Duration::from_secs(60)).max_pending_handshakes(8);
    let server = pinger(transport, 100).await;
    let authority = ws_authority(server.address());
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(&authority).await.expect("connects"));
    }
    let mut ninth = TcpStream::connect(&authority).await.expect("connects");
    let got = until_closed(&mut ninth, WAIT).await.expect("closed at once, not at the 60 s limit");
    assert!(got.is_empty());
    drop(idle);
    // Once those sockets went away, their slots are free again.
    let client = until_some("a real client connects once the slots are free", || async {
        PingerClient::connect(server.address()).await.ok()
    })
    .await;
    assert_eq!(client.ping(Ping {}).await.expect("served"), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_trickling_request_head_is_cut_off_at_the_limit() {
    let limit = Duration::from_secs(1);
    let server = pinger(WsTransport::new().handshake_timeout(limit), 100).await;
    let mut socket = TcpStream::connect(ws_authority(server.address())).await.expect("connects");
    let started = Instant::now();
    socket.write_all(b"GET /ping HTTP/1.1\r\n").await.expect("writes");
    // One short header line every 100 ms, for far longer than the limit.
    let answer = tokio::time::timeout(WAIT, async {
        for i in 0..100 {
            let line = format!("X-Slow-{i}: a\r\n");
            if socket.write_all(line.as_bytes()).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut peek = [0u8; 1];
            if let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_millis(1), socket.peek(&mut peek)).await
            {
                break;
            }
        }
        until_closed(&mut socket, WAIT).await
    })
    .await
    .expect("cut off, long before the trickle ends")
    .expect("closed");
    assert!(started.elapsed() >= limit, "not before the limit");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{text}");
    assert!(text.contains("did not arrive within 1s"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn requests_that_are_not_upgrades_get_an_http_answer() {
    let server = pinger(WsTransport::new(), 100).await;
    let authority = ws_authority(server.address());
    let plain = exchange(&authority, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{plain}");
    assert!(plain.contains("\r\nUpgrade: websocket\r\n"), "{plain}");
    assert!(plain.ends_with("this is a websocket endpoint: expected a GET request with `Upgrade: websocket` and `Connection: Upgrade` (RFC 6455)\n"), "{plain}");
    let old = "GET /ping HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let old = exchange(&authority, old).await;
    assert!(old.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{old}");
    assert!(old.contains("Sec-WebSocket-Version: 13\r\n"), "{old}");
    assert!(old.ends_with("unsupported websocket version 8: expected 13\n"), "{old}");
    let garbage = exchange(&authority, "\x16\x03\x01 not http\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{garbage}");
    assert!(garbage.contains("malformed http request"), "{garbage}");
    let keyless = "GET /ping HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    let keyless = exchange(&authority, keyless).await;
    assert!(keyless.ends_with("expected a `Sec-WebSocket-Key` header\n"), "{keyless}");
    // The server is still up and serves a real client.
    let client = PingerClient::connect(server.address()).await.expect("connects");
    assert_eq!(client.ping(Ping {}).await.expect("served"), 1);
    server.stop().await;
}

#[tokio::test]
async fn options_apply_to_one_server_and_one_client() {
    let short = WsTransport::new().handshake_timeout(Duration::from_millis(300));
    let quick = pinger(short, 100).await;
    let usual = pinger(WsTransport::new(), 100).await;
    let mut to_quick = TcpStream::connect(ws_authority(quick.address())).await.expect("connects");
    let mut to_usual = TcpStream::connect(ws_authority(usual.address())).await.expect("connects");
    until_closed(&mut to_quick, WAIT).await.expect("the short limit applies to its server");
    let usual_closed = until_closed(&mut to_usual, Duration::from_millis(1500)).await;
    assert!(usual_closed.is_err(), "the other server keeps the 5 s default");
    // A client with its own transport; the address must be of its scheme.
    let client = Client::builder()
        .transport(WsTransport::new().heartbeat(Duration::from_millis(50)))
        .connect(usual.address())
        .await
        .expect("connects");
    assert_eq!(PingerClient::from_client(client).ping(Ping {}).await.expect("served"), 1);
    let wrong = Client::builder().transport(WsTransport::new()).connect("memory://ping").await;
    let Err(TransportError::InvalidAddress { reason, .. }) = wrong else { panic!("{wrong:?}") };
    assert_eq!(reason, "the transport given serves `ws://` addresses");
    let zero = Server::bind_with(
        WsTransport::new().handshake_timeout(Duration::ZERO),
        "ws://127.0.0.1:0/x",
    );
    let err = zero.await.expect_err("a zero limit is refused");
    assert_eq!(
        err.to_string(),
        "invalid option `handshake_timeout`: must be more than zero, found 0 s"
    );
    let huge = WsTransport::new().max_pending_handshakes(usize::MAX);
    let err = Server::bind_with(huge, "ws://127.0.0.1:0/x").await.expect_err("too many");
    assert!(
        err.to_string().starts_with("invalid option `max_pending_handshakes`: must be from 1 to "),
        "{err}"
    );
    // No limit in practice: still served.
    let endless = pinger(WsTransport::new().handshake_timeout(Duration::MAX), 100).await;
    let client = PingerClient::connect(endless.address()).await.expect("connects");
    assert_eq!(client.ping(Ping {}).await.expect("served"), 1);
    endless.stop().await;
    quick.stop().await;
    usual.stop().await;
}

#[tokio::test]
async fn origins_not_allowed_are_refused_with_403() {
    let page = "http://127.0.0.1:8080";
    let listed = pinger(WsTransport::new().allowed_origins([page]), 100).await;
    let usual = pinger(WsTransport::new(), 100).await;
    for server in [&listed, &usual] {
        let authority = ws_authority(server.address());
        let switching = "HTTP/1.1 101 Switching Protocols";
        // No Origin: not a browser (the Rust, Node and TypeScript clients).
        assert_eq!(upgrade_status(&authority, "").await, switching);
        // The server's own page: same host and port.
        let own = format!("Origin: http://{authority}\r\n");
        assert_eq!(upgrade_status(&authority, &own).await, switching);
        let evil =
            exchange(&authority, &upgrade_request(&authority, "Origin: https://evil.example\r\n"))
                .await;
        assert!(evil.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{evil}");
        assert!(evil.contains("origin `https://evil.example` is not allowed"), "{evil}");
    }
    let page_origin = format!("Origin: {page}\r\n");
    let authority = ws_authority(listed.address());
    assert_eq!(upgrade_status(&authority, &page_origin).await, "HTTP/1.1 101 Switching Protocols");
    let authority = ws_authority(usual.address());
    assert_eq!(upgrade_status(&authority, &page_origin).await, "HTTP/1.1 403 Forbidden");
    // A listed entry that is not an origin is refused when binding.
    let bad = Server::bind_with(
        WsTransport::new().allowed_origins(["127.0.0.1:8080"]),
        "ws://127.0.0.1:0/x",
    );
    let err = bad.await.expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("invalid option `allowed_origins`: `127.0.0.1:8080` is not an origin"),
        "{err}"
    );
    listed.stop().await;
    usual.stop().await;
}
