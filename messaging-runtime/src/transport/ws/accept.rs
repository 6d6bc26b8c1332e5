//! Accepting WebSocket connections: TLS (for `wss://`), the HTTP upgrade (`handshake.rs`)
//! under one deadline, then registration with the server and the `101` answer, then
//! serving (`server.rs`) or refusing with a close frame that says why.
//!
//! A connection counts against the server's `max_connections` only once its upgrade
//! request has been read and allowed. Until then it holds one of a bounded number of
//! handshake slots ([`Accepting::pending`]); when all are taken, a new socket is closed at
//! once, so sockets that never finish a handshake cannot take the slots of real clients,
//! nor every file descriptor. A handshake not done by the deadline is cut off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};
use tokio_rustls::{TlsAcceptor, TlsStream};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::handshake;
use super::origin::Origins;
use super::stream::{buffered, Conn};
use crate::transport::engine::{close, close_frame, register, Registration};
use crate::transport::ServerLink;

/// What every connection of one listener is served with.
pub(super) struct Accepting {
    /// tungstenite's limits.
    pub(super) config: WebSocketConfig,
    /// The heartbeat interval and write timeout of each connection.
    pub(super) options: crate::transport::engine::ConnectionOptions,
    /// How long TLS and the HTTP upgrade may take together.
    pub(super) handshake_timeout: Duration,
    /// One permit per connection whose handshake is under way.
    pub(super) pending: Arc<Semaphore>,
    /// The browser origins allowed besides the server's own.
    pub(super) origins: Origins,
    /// TLS for `wss://`.
    pub(super) tls: Option<TlsAcceptor>,
}

/// A deadline far enough away to be none (about 30 years).
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// Accepts TCP connections and upgrades each on its own task, so a slow handshake does not
/// hold up the next client.
pub(super) async fn accept_loop(
    listener: TcpListener,
    accepting: Arc<Accepting>,
    links: mpsc::UnboundedSender<ServerLink>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let Ok(permit) = Arc::clone(&accepting.pending).try_acquire_owned() else {
                    tracing::debug!(%peer, "too many handshakes under way: closed a new connection");
                    drop(stream);
                    continue;
                };
                let (accepting, links) = (Arc::clone(&accepting), links.clone());
                tokio::spawn(connection(stream, peer, permit, accepting, links));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// One connection, from its handshake to its end.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    accepting: Arc<Accepting>,
    links: mpsc::UnboundedSender<ServerLink>,
) {
    // Small frames should leave at once, not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    // A limit too large to add to the clock (`Duration::MAX`) means no limit in practice.
    let now = Instant::now();
    let deadline = now.checked_add(accepting.handshake_timeout).unwrap_or_else(|| now + FAR);
    // Boxed: its buffers are freed once the handshake is over, rather than kept in this
    // task's future for as long as the connection lives.
    let upgraded = Box::pin(upgrade(stream, &peer, deadline, &accepting, &links)).await;
    let Some((mut ws, admitted)) = upgraded else {
        return;
    };
    drop(permit);
    match admitted {
        Registration::Accepted(accepted) => accepted.serve(ws, accepting.options).await,
        // Refused (too many connections): say why in a close frame.
        Registration::Refused(reason) => {
            tracing::info!(%peer, %reason, "refused a connection");
            close(&mut ws, Some(close_frame(reason))).await;
        }
        Registration::Gone => {}
    }
}

/// TLS, the upgrade request, registration and the `101` answer, all before `deadline`;
/// `None` when the connection ends here (it was answered with an HTTP error, or went away,
/// or ran out of time).
async fn upgrade(
    stream: TcpStream,
    peer: &SocketAddr,
    deadline: Instant,
    accepting: &Accepting,
    links: &mpsc::UnboundedSender<ServerLink>,
) -> Option<(super::Socket, Registration)> {
    let mut conn = match &accepting.tls {
        None => Conn::Plain(stream),
        Some(tls) => match timeout_at(deadline, tls.accept(stream)).await {
            Ok(Ok(stream)) => Conn::Tls(Box::new(TlsStream::Server(stream))),
            Ok(Err(e)) => return debug(peer, &format!("tls handshake failed: {e}")),
            Err(_) => return debug(peer, "tls handshake not done in time: closed"),
        },
    };
    let mut head = Vec::new();
    let read = timeout_at(deadline, handshake::read_head(&mut conn, &mut head)).await;
    let checked = match read {
        Ok(Ok(Some(()))) => handshake::check(&head, &accepting.origins, accepting.tls.is_some()),
        Ok(Ok(None)) => return debug(peer, "closed before sending a whole request head"),
        Ok(Err(refusal)) => Err(refusal),
        Err(_) if head.is_empty() => return debug(peer, "sent nothing in time: closed"),
        Err(_) => Err(handshake::too_slow(accepting.handshake_timeout)),
    };
    drop(head);
    let upgrade = match checked {
        Ok(upgrade) => upgrade,
        Err(refusal) => {
            tracing::debug!(%peer, status = refusal.status, reason = %refusal.reason,
                "refused a handshake");
            refusal.answer(&mut conn).await;
            return None;
        }
    };
    // The server registers the client before the `101` answer is sent, so a client never
    // misses an event published right after it connected.
    let secure = accepting.tls.is_some();
    let peer_name =
        format!("{}://{peer}", if secure { super::SECURE_SCHEME } else { super::SCHEME });
    let admitted = match timeout_at(deadline, register(links, peer_name)).await {
        Ok(Registration::Gone) => return None,
        Ok(admitted) => admitted,
        Err(_) => return debug(peer, "the server did not register the connection in time"),
    };
    let answered = timeout_at(deadline, async {
        let client_id = match &admitted {
            Registration::Accepted(accepted) => Some(accepted.client_id.as_str()),
            _ => None,
        };
        conn.write_all(upgrade.response(client_id).as_bytes()).await?;
        conn.flush().await
    });
    if !matches!(answered.await, Ok(Ok(()))) {
        return debug(peer, "the handshake answer could not be sent in time");
    }
    let socket = buffered(conn);
    let ws = WebSocketStream::from_partially_read(
        socket,
        upgrade.leftover,
        Role::Server,
        Some(accepting.config),
    )
    .await;
    Some((ws, admitted))
}

fn debug<T>(peer: &SocketAddr, what: &str) -> Option<T> {
    tracing::debug!(%peer, "websocket handshake: {what}");
    None
}
