//! The client side of a connection: requests out under the ids the client gave them,
//! responses matched back to their callers, events handed to the client's dispatcher.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::pending::{Pending, Waiting};
use super::{ConnectionOptions, FrameSocket};
use crate::envelope::{self as wire, Frame};
use crate::payload::Payload;
use crate::transport::{
    event_queue, ClientLink, CloseReason, EventFrame, EventSender, Inbound, QueueError,
};

/// How many events read from the socket may wait for the client's dispatcher, which takes
/// them only as fast as the client's subscribers do
/// ([`crate::client::ClientBuilder::event_buffer`]). Reading never waits for the
/// dispatcher (responses keep coming); a client whose backlog fills is a slow consumer of
/// its own events, and closes its connection (close code 1008).
pub(crate) const CLIENT_EVENT_BACKLOG: usize = 1024;

/// The reason a client gives the server when its event backlog is full.
const SLOW_CONSUMER: &str = "slow consumer: the client's event backlog is full";

/// Starts the task that drives a connection whose handshake is done, and hands back the
/// client's end of it.
pub(crate) fn start<S: FrameSocket>(socket: S, options: ConnectionOptions) -> ClientLink {
    let (outbound, requests) = mpsc::unbounded_channel();
    let (event_sink, events) = event_queue();
    // Outside tokio's cooperative budget: the loops take their own turns (see `crate::transport::fair`).
    tokio::spawn(crate::transport::fair::fair(drive(socket, requests, event_sink, options)));
    ClientLink { outbound, events, client_id: None, encoded_requests: true }
}

/// Drives one connection until either side closes it. When it ends, every request still
/// waiting fails at once (its reply sender is dropped) and the event stream ends.
///
/// Reading never waits for writing: the socket is split, and its read side (responses
/// matched to their callers, events handed on, pings and close frames answered) runs beside
/// its write side ([`super::client_write`]) in this one task, so a server that is itself
/// busy writing to this client never waits for a write of ours to finish. A write that
/// makes no progress for the write timeout (the server stopped reading) ends the connection.
async fn drive<S: FrameSocket>(
    ws: S,
    mut requests: mpsc::UnboundedReceiver<Inbound>,
    events: EventSender,
    options: ConnectionOptions,
) {
    let (mut sink, mut stream) = ws.split();
    let pending = Mutex::new(Pending::new());
    let (control, mut controls) = mpsc::channel(CONTROL_QUEUE);
    // The write side first: a caller's request leaves before the socket is polled again.
    let end = tokio::select! {
        biased;
        end = super::client_write::write_side(&mut sink, &mut requests, &mut controls, &pending, options.write_timeout) => end,
        end = read_side(&mut stream, &pending, &events, &control, options.heartbeat) => end,
    };
    // Every caller still waiting learns at once that the connection is gone.
    drop(pending);
    let Ok(mut ws) = sink.reunite(stream) else { return };
    let frame = match end {
        ClientEnd::Over => return,
        // Answers the server's close frame (RFC 6455 5.5.1): tungstenite queued the answer
        // when it read the frame (and refuses a close frame of our own), a flush sends it.
        ClientEnd::PeerClosed => {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.flush()).await;
            return;
        }
        ClientEnd::Closed => None,
        ClientEnd::SlowConsumer => {
            Some(CloseFrame { code: CloseCode::Policy, reason: SLOW_CONSUMER.into() })
        }
        ClientEnd::Stalled => Some(CloseFrame {
            code: CloseCode::Policy,
            reason: "slow consumer: the server stopped reading".into(),
        }),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.send(Message::Close(frame))).await;
}

/// How many pings the read side may queue for the write side; more are not needed.
const CONTROL_QUEUE: usize = 4;

/// How long closing the connection may take: the server may not be reading.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// How a client connection ends.
pub(super) enum ClientEnd {
    /// The socket failed.
    Over,
    /// The server sent a close frame.
    PeerClosed,
    /// The client is gone (closed or dropped): close the socket.
    Closed,
    /// The client's event backlog filled: close as a slow consumer (1008).
    SlowConsumer,
    /// The server stopped reading what this client writes.
    Stalled,
}

/// The read side: responses to their callers, events to the client's dispatcher. Every
/// `heartbeat` it has the write side ping the server; a server from which nothing arrived
/// for a whole interval after a ping is taken for dead.
async fn read_side<S: FrameSocket>(
    stream: &mut SplitStream<S>,
    pending: &Mutex<Pending>,
    events: &EventSender,
    control: &mpsc::Sender<Message>,
    heartbeat: std::time::Duration,
) -> ClientEnd {
    let mut ticks = super::heartbeats(heartbeat);
    // Whether anything came from the server since the last heartbeat.
    let mut heard = true;
    loop {
        // Frames that arrive faster than they are handled must not starve the write side,
        // or other tasks.
        crate::transport::fair::turn().await;
        tokio::select! {
            biased;
            message = stream.next() => {
                heard = true;
                if let Some(end) = on_message(message, pending, events) {
                    return end;
                }
            }
            _ = ticks.next() => {
                if !heard {
                    tracing::warn!("the server answered no heartbeat: taking the connection for dead");
                    return ClientEnd::Over;
                }
                heard = false;
                // A full queue holds pings already: one is enough.
                let _ = control.try_send(Message::Ping(Default::default()));
            }
        }
    }
}

/// Handles what the socket read; `false` when the connection is over.
fn on_message(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    pending: &Mutex<Pending>,
    events: &EventSender,
) -> Option<ClientEnd> {
    match message {
        Some(Ok(Message::Text(text))) => on_text(text.as_str(), pending, events),
        Some(Ok(Message::Close(frame))) => {
            log_close(frame.as_ref());
            Some(ClientEnd::PeerClosed)
        }
        Some(Ok(_)) => None,
        Some(Err(e)) => {
            tracing::debug!(error = %e, "websocket read failed");
            Some(ClientEnd::Over)
        }
        None => Some(ClientEnd::Over),
    }
}

/// Logs why the server closed the connection: an orderly close at debug level (the status
/// says it), anything else (a slow consumer, too many connections, ...) at warn with the
/// server's reason, so that a client learns why it was let go.
fn log_close(frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    match frame {
        Some(frame) if !matches!(frame.code, CloseCode::Normal | CloseCode::Away) => {
            let (code, reason) = (u16::from(frame.code), frame.reason.as_str());
            tracing::warn!(code, reason, "the server closed the connection");
        }
        frame => tracing::debug!(?frame, "the server closed the connection"),
    }
}

/// Hands the answer to request `id` to its caller, made by `answer` from the caller's own
/// buffer when it sent one.
fn deliver(
    pending: &Mutex<Pending>,
    id: &str,
    answer: impl FnOnce(Option<String>) -> crate::transport::Reply,
) {
    let mut pending = pending.lock().unwrap_or_else(PoisonError::into_inner);
    match pending.take(id) {
        Some(Waiting { reply, buffer }) => {
            // The caller may have given up already; nothing to do then.
            if reply.send(answer(buffer)).is_ok() {
                pending.owed += 1;
            }
        }
        None => tracing::debug!(request_id = %id, "response to a request nobody waits for"),
    }
}

/// `frame`, in the caller's buffer when there is one.
fn into_buffer(frame: &str, buffer: Option<String>) -> String {
    match buffer {
        Some(mut buffer) => {
            buffer.clear();
            buffer.push_str(frame);
            buffer
        }
        None => frame.to_owned(),
    }
}

/// Handles one text frame from the server; `Some` when the connection is over.
fn on_text(text: &str, pending: &Mutex<Pending>, events: &EventSender) -> Option<ClientEnd> {
    // Most frames are answers to our requests: their data is read once, by the caller's
    // decode into its response type.
    if let Some((id, start)) = wire::successful_response(text) {
        deliver(pending, id, |buffer| Ok(Payload::response_data(into_buffer(text, buffer), start)));
        return None;
    }
    match wire::decode(text) {
        Ok(Frame::Response { id, result }) => {
            deliver(pending, &id, |_| result.map(Payload::json));
        }
        Ok(Frame::Event { name, payload, context }) => {
            let event =
                EventFrame { name: Cow::Owned(name), payload: Payload::json(payload), context };
            return match events.try_send(event, CLIENT_EVENT_BACKLOG) {
                Ok(()) => None,
                Err(QueueError::Closed) => Some(ClientEnd::Closed),
                Err(QueueError::Full) => {
                    tracing::warn!(
                        backlog = CLIENT_EVENT_BACKLOG,
                        "{SLOW_CONSUMER}: closing the connection"
                    );
                    // Ends the dispatcher's events at once, even while it waits for a
                    // subscriber that does not read.
                    events.close_now(CloseReason::SlowConsumer);
                    Some(ClientEnd::SlowConsumer)
                }
            };
        }
        Ok(Frame::Request { .. } | Frame::Cancel { .. }) => {
            tracing::warn!("the server sent a request or cancel frame; clients send those");
        }
        // An answer under `"requestId":null`: the server could not read a frame we sent.
        Err(bad) => match wire::read_unaddressed_error(text) {
            Some(error) => tracing::warn!(code = %error.code, message = %error.message,
                "the server could not read a frame this client sent"),
            None => tracing::warn!(reason = %bad.reason, "dropped a frame the server sent"),
        },
    }
    None
}
