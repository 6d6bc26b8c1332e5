//! The accept loop and the per-connection loop; what a connection does with each frame is in
//! `dispatch.rs`.

use std::sync::Arc;

use futures_util::stream::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::dispatch::Connection;
use super::driver::Driver;
use super::pipeline::Pipelines;
use super::registry::{Broadcaster, Registry};
use super::router::Router;
use super::woken::SelfWaking;
use super::Limits;
use crate::transport::woken::Woken;
use crate::transport::{CloseReason, Listener, ServerLink};

/// Accepts clients until the listener closes, the server stops, or the task is aborted
/// (which aborts every connection it started).
///
/// On stop it drops the listener first (the address can be bound again), tells every
/// connection to finish, waits for them for at most the grace period, then aborts the rest.
pub(super) async fn accept_loop(
    mut listener: Box<dyn Listener>,
    router: Arc<Router>,
    pipelines: Arc<Pipelines>,
    registry: Arc<Registry>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut watching = shutdown.clone();
    // Resolves when the server stops (or is dropped).
    let stopping = async move {
        let _ = watching.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            link = listener.accept() => match link {
                Some(link) => {
                    while connections.try_join_next().is_some() {}
                    if connections.len() >= limits.max_connections {
                        tracing::warn!(peer = %link.peer, max = limits.max_connections, "refused a connection: too many connections");
                        // Dropping the link unregistered tells the transport; the reason says why.
                        link.outbound.finish(CloseReason::TooManyConnections);
                        continue;
                    }
                    // Only a transport's own loops on the task wake it from within.
                    let drives = link.driver.is_some();
                    let serve = serve_connection(link, Arc::clone(&router), Arc::clone(&pipelines), Arc::clone(&registry), limits.max_in_flight, shutdown.clone());
                    if drives {
                        connections.spawn(SelfWaking::new(Box::pin(serve)));
                    } else {
                        connections.spawn(serve);
                    }
                }
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // Stopping (or the server was dropped).
            () = &mut stopping => break,
        }
    }
    listener.close().await;
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace = ?limits.shutdown_grace,
            "requests still in flight after the grace period are cancelled"
        );
    }
    connections.shutdown().await;
}

/// Why a connection's loop ends, other than its client's frames ending.
enum Ending {
    /// The transport let go of the client's events: the client is gone.
    Closed,
    /// The server stops; the client's event queue, to say so.
    Stopping(crate::transport::EventSender),
}

/// Serves one client: requests run concurrently on this task, so a slow handler does not
/// hold up the next request, and no task is spawned per request.
///
/// At most `max_in_flight` requests wait for their answer at once; one more is answered
/// `OVERLOADED` (503) at once. When the server stops, the connection stops reading, lets
/// what is in flight finish, and ends (the transport then closes it, saying the server is
/// shutting down).
async fn serve_connection(
    link: ServerLink,
    router: Arc<Router>,
    pipelines: Arc<Pipelines>,
    registry: Arc<Registry>,
    max_in_flight: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let ServerLink { mut inbound, outbound, peer, registered, sessions, client_id, driver } = link;
    // The transport's loops for this connection, polled when they woke.
    let mut driver = Woken::new(Driver::new(driver));
    let client_id = registry.add(peer, outbound.clone(), client_id);
    if let Some(registered) = registered {
        // The client may have given up connecting already; it then leaves at once.
        let _ = registered.send(client_id.to_string());
    }
    let broadcaster = Broadcaster::new(Arc::clone(&registry));
    let mut connection =
        Connection::new(router, pipelines, client_id, broadcaster, max_in_flight, sessions);
    tracing::debug!(client = %connection.client_id, "client connected");
    // Why the loop would stop other than a frame: the client let go of its events, or the
    // server stops (or is dropped). Polled only when one of them woke, not once per frame.
    let mut ending = Woken::new(Box::pin(async move {
        tokio::select! {
            () = outbound.closed() => Ending::Closed,
            _ = shutdown.wait_for(|stop| *stop) => Ending::Stopping(outbound),
        }
    }));
    loop {
        tokio::select! {
            biased;
            Some(()) = connection.in_flight.next(), if !connection.in_flight.is_empty() => {}
            Some(()) = connection.handling.next(), if !connection.handling.is_empty() => {}
            () = &mut driver, if driver.inner().is_running() => {}
            frame = inbound.recv() => match frame {
                Some(frame) => {
                    connection.on_inbound(frame);
                    // And what else is queued, in the same turn.
                    for _ in 0..MORE_FRAMES_PER_TURN {
                        let Ok(frame) = inbound.try_recv() else { break };
                        connection.on_inbound(frame);
                    }
                }
                None => break,
            },
            ending = &mut ending => match ending {
                Ending::Closed => break,
                Ending::Stopping(outbound) => {
                    // Read nothing more: what the client sends now is dropped unanswered
                    // when the connection closes (`Disconnected` on the client). Answer what
                    // is in flight (the server bounds how long), then close.
                    outbound.finish(CloseReason::ShuttingDown);
                    // The transport writes the answers on a task of its own from here.
                    driver.inner_mut().release();
                    connection.drain().await;
                    break;
                }
            },
        }
    }
    registry.remove(&connection.client_id);
    drop(driver);
    // Let handlers that already started finish (their side effects are not lost); replies
    // have nowhere to go.
    connection.drain().await;
    tracing::debug!(client = %connection.client_id, "client disconnected");
}

/// How many queued frames one turn of a connection's loop takes at most.
const MORE_FRAMES_PER_TURN: usize = 64;
