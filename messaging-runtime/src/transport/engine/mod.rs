//! The connection engine every frame transport shares: `ws://` and `tcp://` differ only in
//! how they accept, dial and frame a connection, then hand it here.
//!
//! A connection is a [`FrameSocket`]: a stream and a sink of messages (text frames of the
//! JSON envelope in `envelope`, pings, close frames). Reading never waits for
//! writing: each connection's read side and write side run beside each other in one task;
//! what waits to be written is bounded; a peer that stops reading is closed as a slow
//! consumer at the write timeout. The client side correlates answers by the ids the client
//! runtime gave its requests, and cancels by id.

mod client;
mod client_write;
mod listener;
mod outbox;
mod pending;
mod server;
mod server_write;

use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

pub(crate) use client::start as start_client;
pub(crate) use listener::{listen, spawn_listener};
use server::serve_socket;
pub(crate) use server::{close, close_frame};

use crate::transport::{
    event_queue, CloseReason, ConnectionDriver, EventReceiver, Inbound, ServerLink,
};

/// A connection the engine can drive: messages in, messages out. WebSocket framing has the
/// message type of its own; another framing maps its frames onto it.
pub(crate) trait FrameSocket:
    Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send + 'static
{
}

impl<T> FrameSocket for T where
    T: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Unpin
        + Send
        + 'static
{
}

/// The heartbeat's ticks, the first one `interval` from now, as a stream polled only when a
/// tick is due (a tick's future registers with the timer on every poll, and the loops
/// that wait for it turn once per frame).
pub(crate) fn heartbeats(interval: Duration) -> impl Stream<Item = ()> + Unpin {
    let start = tokio::time::Instant::now() + interval;
    let mut ticker = tokio::time::interval_at(start, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    crate::transport::woken::Woken::new(futures_util::stream::poll_fn(move |cx| {
        ticker.poll_tick(cx).map(|_| Some(()))
    }))
}

/// Runs `write`, which must finish within `limit` once it has to wait; `None` when it
/// waited longer. A write that finishes on its first poll (the socket took it) costs no
/// timer: a timer per write reads the clock and finds the runtime's handle, which showed up
/// in the profile of every round trip. The timer starts at the first poll that waits, and
/// `write` is polled only when woken (a `yield_now` inside it still yields).
pub(crate) async fn within_limit<F: std::future::Future>(
    limit: Duration,
    write: F,
) -> Option<F::Output> {
    use std::future::Future as _;
    use std::task::Poll;
    let mut write = std::pin::pin!(write);
    let mut timer = std::pin::pin!(None::<tokio::time::Sleep>);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = write.as_mut().poll(cx) {
            return Poll::Ready(Some(done));
        }
        if timer.is_none() {
            timer.set(Some(tokio::time::sleep(limit)));
        }
        match timer.as_mut().as_pin_mut() {
            Some(timer) => timer.poll(cx).map(|()| None),
            None => Poll::Pending,
        }
    })
    .await
}

/// How many encoded answers (and pings) may wait for a server connection's write side;
/// past it the connection reads no more requests until the write side catches up. A peer
/// that keeps sending while it reads nothing fills it, and is closed as a slow consumer
/// (1008) once its writes make no progress for the write timeout.
pub(crate) const MAX_QUEUED_ANSWERS: usize = 4096;

/// What each connection's task needs to know of its transport's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionOptions {
    /// How often each side pings the other; a peer silent for a whole interval is dead.
    pub(crate) heartbeat: Duration,
    /// How long one write may make no progress before the peer is taken for a slow consumer.
    pub(crate) write_timeout: Duration,
}

/// What the server made of a new client.
pub(crate) enum Registration {
    /// Registered: serve it with [`Accepted::serve`].
    Accepted(Accepted),
    /// Refused, for this reason.
    Refused(CloseReason),
    /// The server is gone.
    Gone,
}

/// A client the server registered.
pub(crate) struct Accepted {
    /// The id the server registered the client under.
    pub(crate) client_id: String,
    /// Where the client's requests go.
    inbound: mpsc::UnboundedSender<Inbound>,
    /// The client's events.
    events: EventReceiver,
    /// Where the connection's loops go, for the server to run beside its dispatch.
    driver: oneshot::Sender<ConnectionDriver>,
}

impl Accepted {
    /// Serves the connection until it ends: on the server's task for it, which dispatches
    /// its requests (so a request and its answer cross no task), or on this one when the
    /// server no longer takes it.
    pub(crate) async fn serve<S: FrameSocket>(self, socket: S, options: ConnectionOptions) {
        let serving =
            ConnectionDriver::new(serve_socket(socket, self.inbound, self.events, options));
        if let Err(serving) = self.driver.send(serving) {
            serving.await;
        }
    }
}

/// Hands the server a link for a new client (`peer` as the transport describes it) and waits
/// until it is registered or refused.
pub(crate) async fn register(
    links: &mpsc::UnboundedSender<ServerLink>,
    peer: String,
) -> Registration {
    let (inbound, server_inbound) = mpsc::unbounded_channel();
    let (server_outbound, events) = event_queue();
    let (registered, ready) = oneshot::channel();
    let (driver, driven) = oneshot::channel();
    let link = ServerLink {
        inbound: server_inbound,
        outbound: server_outbound,
        peer,
        registered: Some(registered),
        sessions: true,
        client_id: None,
        driver: Some(driven),
    };
    if links.send(link).is_err() {
        return Registration::Gone;
    }
    match (ready.await, events.close_reason()) {
        (Ok(client_id), _) => {
            Registration::Accepted(Accepted { client_id, inbound, events, driver })
        }
        (Err(_), Some(reason)) => Registration::Refused(reason),
        (Err(_), None) => Registration::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_done_at_once_needs_no_time_and_a_stuck_one_ends_at_the_limit() {
        let done = within_limit(Duration::from_secs(1), async { 7 }).await;
        assert_eq!(done, Some(7));
        let started = tokio::time::Instant::now();
        let stuck = within_limit(Duration::from_secs(3), std::future::pending::<()>()).await;
        assert_eq!(stuck, None, "a write that never finishes is given up");
        assert_eq!(started.elapsed(), Duration::from_secs(3), "at the limit, not before");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_a_while_within_the_limit_finishes() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "written"
        };
        assert_eq!(within_limit(Duration::from_secs(3), slow).await, Some("written"));
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_tick_once_per_interval_from_one_interval_on() {
        let started = tokio::time::Instant::now();
        let mut ticks = heartbeats(Duration::from_secs(5));
        assert_eq!(ticks.next().await, Some(()));
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the first tick one interval on");
        assert_eq!(ticks.next().await, Some(()));
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
