//! Accepting WebSocket connections: each is registered with the server before its handshake
//! completes, then served (`server.rs`) or refused with a close frame that says why.

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::server::{close, close_frame, serve_socket};
use crate::transport::{event_queue, CloseReason, EventReceiver, Inbound, ServerLink};

/// Accepts TCP connections and upgrades each on its own task, so a slow handshake does not
/// hold up the next client.
pub(super) async fn accept_loop(
    listener: TcpListener,
    config: WebSocketConfig,
    options: super::ConnectionOptions,
    links: mpsc::UnboundedSender<ServerLink>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let links = links.clone();
                tokio::spawn(async move {
                    // Small frames should leave at once, not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    let stream = super::buffered(stream);
                    // The server registers the client before the handshake completes, so a
                    // client never misses an event published right after it connected.
                    let admitted = match register(&links, &peer).await {
                        Registration::Gone => return,
                        admitted => admitted,
                    };
                    let mut ws = match tokio_tungstenite::accept_async_with_config(
                        stream,
                        Some(config),
                    )
                    .await
                    {
                        Ok(ws) => ws,
                        Err(e) => {
                            return tracing::debug!(%peer, error = %e, "websocket handshake failed")
                        }
                    };
                    match admitted {
                        Registration::Accepted(inbound, events) => {
                            serve_socket(ws, inbound, events, options).await
                        }
                        // Refused (too many connections): say why in a close frame.
                        Registration::Refused(reason) => {
                            tracing::info!(%peer, %reason, "refused a connection");
                            close(&mut ws, Some(close_frame(reason))).await;
                        }
                        Registration::Gone => {}
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// What the server made of a new client.
enum Registration {
    /// Registered: its requests go to `inbound`, its events come from the receiver.
    Accepted(mpsc::UnboundedSender<Inbound>, EventReceiver),
    /// Refused, for this reason.
    Refused(CloseReason),
    /// The server is gone.
    Gone,
}

/// Hands the server a link for a new client and waits until it is registered or refused.
async fn register(
    links: &mpsc::UnboundedSender<ServerLink>,
    peer: &std::net::SocketAddr,
) -> Registration {
    let (inbound, server_inbound) = mpsc::unbounded_channel();
    let (server_outbound, events) = event_queue();
    let (registered, ready) = oneshot::channel();
    let link = ServerLink {
        inbound: server_inbound,
        outbound: server_outbound,
        peer: format!("ws://{peer}"),
        registered: Some(registered),
    };
    if links.send(link).is_err() {
        return Registration::Gone;
    }
    match (ready.await, events.close_reason()) {
        (Ok(()), _) => Registration::Accepted(inbound, events),
        (Err(_), Some(reason)) => Registration::Refused(reason),
        (Err(_), None) => Registration::Gone,
    }
}
