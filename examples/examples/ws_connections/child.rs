//! The child process: opens the connections, reads one event on each, closes them when told.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Socket = WebSocketStream<tokio::net::TcpStream>;

/// How many connections are opened at once.
const CONCURRENT_CONNECTS: usize = 256;

pub(crate) fn main(args: &[String]) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start a runtime: {e}")),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(reason: &str) -> ExitCode {
    println!("error: {reason}");
    ExitCode::from(2)
}

async fn run(args: &[String]) -> Result<(), String> {
    let [address, connections, round] = args else {
        return Err("usage: --child ADDRESS CONNECTIONS ROUND".into());
    };
    let connections: usize = connections.parse().map_err(|_| "bad connection count")?;
    let round: u8 = round.parse().map_err(|_| "bad round")?;
    rlimit::increase_nofile_limit(connections as u64 + 256)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let server: SocketAddr = address
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .map_err(|e| format!("bad address `{address}`: {e}"))?;
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, round.wrapping_add(1).max(2)));
    let mut sockets = connect_all(address, server, source, connections).await?;
    println!("connected");
    for socket in &mut sockets {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => {}
            other => return Err(format!("expected the event, read {other:?}")),
        }
    }
    println!("received");
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    match stdin.next_line().await {
        Ok(Some(line)) if line == "close" => {}
        other => return Err(format!("expected `close`, read {other:?}")),
    }
    let closing: FuturesUnordered<_> = sockets.iter_mut().map(|s| s.close(None)).collect();
    let _ = closing.collect::<Vec<_>>().await;
    drop(sockets);
    println!("closed");
    Ok(())
}

async fn connect_all(
    url: &str,
    server: SocketAddr,
    source: IpAddr,
    connections: usize,
) -> Result<Vec<Socket>, String> {
    let mut sockets = Vec::with_capacity(connections);
    let mut opening = FuturesUnordered::new();
    for _ in 0..connections {
        if opening.len() >= CONCURRENT_CONNECTS {
            sockets.push(opening.next().await.ok_or("nothing opening")??);
        }
        opening.push(connect_one(url, server, source));
    }
    while let Some(socket) = opening.next().await {
        sockets.push(socket?);
    }
    Ok(sockets)
}

async fn connect_one(url: &str, server: SocketAddr, source: IpAddr) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("cannot make a socket: {e}"))?;
    socket.bind(SocketAddr::new(source, 0)).map_err(|e| format!("cannot bind {source}: {e}"))?;
    let stream = socket.connect(server).await.map_err(|e| format!("cannot connect: {e}"))?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| format!("handshake failed: {e}"))?;
    Ok(ws)
}
