//! The write side of a client connection: requests, emitted events, cancels and pings out,
//! batched, never holding up the read side (`client.rs`), which runs beside it in the same
//! task.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::client::ClientEnd;
use super::pending::Pending;
use super::FrameSocket;
use crate::envelope as wire;
use crate::error::WireError;
use crate::payload::DecodeError;
use crate::transport::woken::Woken;
use crate::transport::Inbound;

fn lock(pending: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes what the client sends until the client is gone or the socket fails.
///
/// Each turn waits for one frame and queues it. Before flushing, it takes every other request
/// already queued; if other callers may send soon (see [`Pending::busy`]), it yields once so
/// that they can, takes those too, and flushes them all in one write. A lone caller's request
/// leaves at once. A write that makes no progress for `write_timeout` ends the connection.
pub(super) async fn write_side<S: FrameSocket>(
    sink: &mut SplitSink<S, Message>,
    requests: &mut mpsc::UnboundedReceiver<Inbound>,
    controls: &mut mpsc::Receiver<Message>,
    pending: &Mutex<Pending>,
    write_timeout: Duration,
) -> ClientEnd {
    // Polled only when one came: pings are rare, requests are not.
    let mut pings = Woken::new(futures_util::stream::poll_fn(|cx| controls.poll_recv(cx)));
    loop {
        // Callers that send without pause must not keep other tasks from their turn.
        crate::transport::fair::turn().await;
        let first = tokio::select! {
            biased;
            frame = requests.recv() => match frame {
                Some(frame) => Ok(frame),
                None => return ClientEnd::Closed,
            },
            Some(ping) = pings.next() => Err(ping),
        };
        let turn = async {
            match first {
                Ok(frame) => put(sink, frame, pending).await?,
                Err(ping) => sink.feed(ping).await?,
            }
            let more = send_ready(sink, requests, pending).await?;
            sink.flush().await?;
            Ok::<_, tokio_tungstenite::tungstenite::Error>(more)
        };
        match super::within_limit(write_timeout, turn).await {
            Some(Ok(true)) => {}
            Some(Ok(false)) => return ClientEnd::Closed,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "websocket write failed");
                return ClientEnd::Over;
            }
            None => {
                tracing::warn!(limit = ?write_timeout, "the server stopped reading: closing the connection");
                return ClientEnd::Stalled;
            }
        }
    }
}

/// Queues every request already waiting, unflushed; when other callers may send soon (see
/// [`Pending::busy`]), yields once so that they can, and takes theirs too. `Ok(false)` when
/// the client is gone.
async fn send_ready<S: FrameSocket>(
    sink: &mut SplitSink<S, Message>,
    requests: &mut mpsc::UnboundedReceiver<Inbound>,
    pending: &Mutex<Pending>,
) -> Result<bool, tokio_tungstenite::tungstenite::Error> {
    let mut yielded = false;
    loop {
        match requests.try_recv() {
            Ok(frame) => put(sink, frame, pending).await?,
            Err(mpsc::error::TryRecvError::Disconnected) => return Ok(false),
            Err(mpsc::error::TryRecvError::Empty) if !yielded && lock(pending).busy() => {
                // Whoever has not sent by now will not be waited for again.
                lock(pending).owed = 0;
                yielded = true;
                tokio::task::yield_now().await;
            }
            Err(mpsc::error::TryRecvError::Empty) => return Ok(true),
        }
    }
}

/// Queues one frame from the client on the socket, unflushed. A request whose caller gave
/// up becomes a `cancel` frame naming it, if it is still in flight.
async fn put<S: FrameSocket>(
    sink: &mut SplitSink<S, Message>,
    frame: Inbound,
    pending: &Mutex<Pending>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    if let Inbound::Cancel(id) = frame {
        // Only a request still in flight is worth a word to the server.
        let in_flight = lock(pending).cancel(id);
        return match cancel_message(id).filter(|_| in_flight) {
            Some(message) => sink.feed(message).await,
            None => Ok(()),
        };
    }
    let frame = match frame {
        Inbound::Gather(gather) => Inbound::Request(Box::new(gather.into_request())),
        Inbound::Encoded(encoded) => {
            let id = encoded.id();
            let (text, reply) = encoded.into_parts();
            // The socket gets a copy made here (and freed here once written); the caller's
            // text waits to carry the response back.
            let message = Message::Text(text.as_str().into());
            // A large one is not held while its request is in flight.
            let kept = (text.capacity() <= MAX_KEPT_TEXT).then_some(text);
            lock(pending).add(id, reply, kept);
            return sink.feed(message).await;
        }
        frame => frame,
    };
    let message = encode_outgoing(frame, &mut lock(pending));
    match message {
        Some(message) => sink.feed(message).await,
        None => Ok(()),
    }
}

/// The largest request text a connection keeps, to hand its response back in (see
/// [`crate::transport::EncodedRequest`]): twice the room made for a response.
const MAX_KEPT_TEXT: usize = 2 * crate::transport::encoded::MAX_RESPONSE_ROOM;

fn cancel_message(id: u64) -> Option<Message> {
    let mut out = Vec::with_capacity(48);
    wire::encode_cancel(&mut out, id);
    String::from_utf8(out).ok().map(|text| Message::Text(text.into()))
}

fn encode_outgoing(frame: Inbound, pending: &mut Pending) -> Option<Message> {
    let mut out = pending.size.buffer();
    match frame {
        Inbound::Request(request) => {
            let written = wire::encode_request(
                &mut out,
                request.id,
                &request.name,
                &request.payload,
                &request.context,
            );
            if let Err(e) = written {
                let error = DecodeError { path: None, reason: format!("cannot serialise it: {e}") };
                let _ = request.reply.send(Err(WireError::invalid_payload(&request.name, &error)));
                return None;
            }
            pending.add(request.id, request.reply, None);
        }
        // Handled by `put` before it gets here.
        Inbound::Cancel(_) | Inbound::Gather(_) | Inbound::Encoded(_) => return None,
        Inbound::Event(event) => {
            if let Err(e) =
                wire::encode_event(&mut out, &event.name, &event.payload, &event.context)
            {
                tracing::error!(event = %event.name, error = %e, "an event could not be serialised");
                return None;
            }
        }
    }
    pending.size.saw(out.len());
    String::from_utf8(out).ok().map(|text| Message::Text(text.into()))
}
