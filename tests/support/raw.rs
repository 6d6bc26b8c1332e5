//! Raw sockets against a WebSocket server: plain HTTP exchanges and handshakes with chosen
//! headers.

#![allow(
    dead_code,
    reason = "each test target that includes this module uses a different part of it"
)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of a `ws://host:port/path` or `wss://host:port/path` address.
pub fn ws_authority(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Sends `request` as it is and returns everything the server sends back until it closes
/// the connection (at most 10 s).
pub async fn exchange(authority: &str, request: &str) -> String {
    let mut socket = TcpStream::connect(authority).await.expect("connects");
    socket.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer));
    read.await.expect("the server answers and closes in time").expect("reads");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A WebSocket upgrade request for `/ping` on `authority`, with `extra` header lines.
pub fn upgrade_request(authority: &str, extra: &str) -> String {
    format!(
        "GET /ping HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// The status line of the server's answer to an upgrade request with `extra` header lines
/// (the answer's head only: a `101` is followed by WebSocket frames).
pub async fn upgrade_status(authority: &str, extra: &str) -> String {
    let mut socket = TcpStream::connect(authority).await.expect("connects");
    let request = upgrade_request(authority, extra);
    socket.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    });
    read.await.expect("the server answers in time");
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}
