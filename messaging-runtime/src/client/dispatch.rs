//! The client's event dispatcher: one task per client that delivers the server's events to
//! subscribers in arrival order, and reconnects when the client was built to.

use std::sync::Arc;

use tokio::sync::mpsc;
use tower::{Service as TowerService, ServiceExt};

use super::reconnect::{self, Redial};
use super::status::StatusCell;
use super::subscription::Subscriptions;
use super::ConnectionStatus;
use crate::context::MessageContext;
use crate::middleware::{ClientEvent, EventService};
use crate::transport::{CloseReason, EventFrame, EventReceiver, Inbound};

/// One connection's event stream, and the slot its outbound sender lives in.
pub(super) struct Connection {
    /// Bounded by its owner (the server over `memory://`, the connection's task over
    /// `ws://`), which closes the connection when it fills: a slow consumer.
    pub(super) events: EventReceiver,
    pub(super) outbound: Arc<std::sync::RwLock<mpsc::UnboundedSender<Inbound>>>,
    /// Whether the connection takes requests encoded by their callers; set with each new
    /// connection's sender.
    pub(super) encoded_requests: Arc<std::sync::atomic::AtomicBool>,
    /// The slot the connection's id lives in, replaced with each new connection's.
    pub(super) client_id: Arc<std::sync::RwLock<Option<String>>>,
}

/// Delivers the server's events to subscribers, in arrival order (through the event layers
/// when there are any), until the connection ends; then reconnects if the client was built
/// to, keeping every subscription.
pub(super) async fn dispatch_events(
    mut connection: Connection,
    subscriptions: Arc<Subscriptions>,
    mut layers: Option<EventService<MessageContext>>,
    status: Arc<StatusCell>,
    reconnect: Option<Redial>,
) {
    loop {
        pump(&mut connection.events, &subscriptions, &mut layers).await;
        let Some(redial) = &reconnect else { break };
        let address = &redial.address;
        status.set(ConnectionStatus::Reconnecting);
        match reconnect::reconnect(redial).await {
            Ok(link) => {
                // The flag after the sender: a request that reads the old flag with the new
                // sender is read back by whichever side takes the other kind of frame.
                *connection.outbound.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    link.outbound;
                let encoded = link.encoded_requests;
                connection.encoded_requests.store(encoded, std::sync::atomic::Ordering::Relaxed);
                *connection.client_id.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    link.client_id;
                connection.events = link.events;
                status.set(ConnectionStatus::Connected);
                tracing::info!(%address, "reconnected");
            }
            Err(e) => {
                tracing::warn!(%address, error = %e, "gave up reconnecting");
                status.set(ConnectionStatus::Error);
                subscriptions.close_all();
                return;
            }
        }
    }
    status.set(ConnectionStatus::Disconnected);
    subscriptions.close_all();
}

/// Delivers one connection's events until they end, then logs why the connection was closed
/// if it was told. A connection closed at once (a slow consumer) ends even while a delivery
/// waits for room in a subscriber's buffer.
async fn pump(
    events: &mut EventReceiver,
    subscriptions: &Subscriptions,
    layers: &mut Option<EventService<MessageContext>>,
) {
    let closed = events.close_signal();
    while let Some(frame) = events.recv().await {
        // Polled in order: the signal only once the delivery has to wait.
        tokio::select! {
            biased;
            () = deliver(frame, subscriptions, layers) => {}
            _ = closed.wait() => break,
        }
    }
    match events.close_reason() {
        Some(CloseReason::ShuttingDown) => {
            tracing::info!("the connection was closed: {}", CloseReason::ShuttingDown);
        }
        Some(reason) => tracing::warn!("the connection was closed: {reason}"),
        None => {}
    }
}

/// Hands one event to the subscribers (through the event layers when there are any); waits
/// while a subscriber's buffer is full.
async fn deliver(
    frame: EventFrame,
    subscriptions: &Subscriptions,
    layers: &mut Option<EventService<MessageContext>>,
) {
    let Some(pipeline) = layers else {
        subscriptions.deliver(frame).await;
        return;
    };
    let event = ClientEvent { name: frame.name, payload: frame.payload, context: frame.context };
    let outcome = match pipeline.ready().await {
        Ok(ready) => ready.call(event).await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "an event layer failed; the event was not delivered");
    }
}
