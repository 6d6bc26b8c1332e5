//! The server side of a connection: frames in, dispatch through the server's link, answers
//! and events out. Each transport accepts connections its own way, then hands them here.

use std::borrow::Cow;
use std::future::Future;

use futures_util::stream::{FuturesUnordered, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::outbox::Outbox;
use super::{ConnectionOptions, FrameSocket, MAX_QUEUED_ANSWERS};
use crate::envelope::{self as wire, Frame};
use crate::payload::Payload;
use crate::transport::woken::Woken;
use crate::transport::{CloseReason, EventFrame, EventReceiver, Inbound, Reply, RequestFrame};

/// What one turn of the loop decided.
enum Step {
    Write(Message),
    Nothing,
    Close(Option<CloseFrame>),
}

/// The close frame that tells a peer why the server closes its connection.
pub(crate) fn close_frame(reason: CloseReason) -> CloseFrame {
    let code = match reason {
        CloseReason::ShuttingDown => CloseCode::Away,
        CloseReason::SlowConsumer => CloseCode::Policy,
        CloseReason::TooManyConnections => CloseCode::Again,
    };
    CloseFrame { code, reason: reason.to_string().into() }
}

/// How long closing a connection may take: writing the close frame (a peer that does not
/// read may never take it) and waiting for the peer's own close frame.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends a close frame and waits, for a bounded time, for the peer to close its side, so
/// that the peer reads everything sent before the close frame.
pub(crate) async fn close<S: FrameSocket>(ws: &mut S, frame: Option<CloseFrame>) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        // When the peer closed first, tungstenite has queued the answer to
        // its close frame (RFC 6455 5.5.1) and refuses a close frame of our own: flushing
        // sends the answer.
        let sent = match ws.send(Message::Close(frame)).await {
            Err(WsError::Protocol(ProtocolError::SendAfterClosing)) => ws.flush().await,
            sent => sent,
        };
        if sent.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

/// Serves one connection until either side closes it, or until the server closes it at
/// once (a slow consumer), which interrupts even a write the peer does not take.
///
/// Reading never waits for writing: the socket is split, and its read side (frames in,
/// requests dispatched, answers encoded) runs beside its write side ([`super::server_write`])
/// in this one task. A peer that stops reading blocks only the writes; its frames are still
/// read, its pings and close frames still answered, and once what waits to be written
/// reaches its bound, or a write makes no progress for the write timeout,
/// the connection is closed as a slow consumer (1008).
pub(crate) async fn serve_socket<S: FrameSocket>(
    ws: S,
    inbound: mpsc::UnboundedSender<Inbound>,
    mut events: EventReceiver,
    options: ConnectionOptions,
) {
    let signal = events.close_signal();
    // Polled only when it woke: it registers with a `Notify` on every poll.
    let mut closing = Woken::new(Box::pin(signal.wait()));
    let (mut sink, mut stream) = ws.split();
    let outbox = Outbox::new(MAX_QUEUED_ANSWERS);
    // The read side first: the answers it queues are then written in the same turn.
    // Outside tokio's cooperative budget: the loops take their own turns (see `crate::transport::fair`).
    let end = crate::transport::fair::fair(async {
        tokio::select! {
            biased;
            end = read_side(&mut stream, &inbound, &outbox, options.heartbeat) => end,
            end = super::server_write::write_side(&mut sink, &mut events, &outbox, options.write_timeout) => end,
            reason = &mut closing => {
                tracing::info!(%reason, "closing a connection");
                End::Close(Some(close_frame(reason)))
            }
        }
    }).await;
    let Ok(mut ws) = sink.reunite(stream) else { return };
    let end = match end {
        // The server let go of the connection: say why, if it said.
        End::Close(None) if inbound.is_closed() => {
            End::Close(events.close_reason().map(close_frame))
        }
        end => end,
    };
    match end {
        End::Close(frame) => close(&mut ws, frame).await,
        End::Stalled(frame) => {
            // The peer does not read: it may never take the close frame either.
            let _ =
                tokio::time::timeout(STALLED_CLOSE_TIMEOUT, ws.send(Message::Close(Some(frame))))
                    .await;
        }
        End::Over => {}
    }
    tracing::debug!("websocket connection closed");
}

/// How long a close frame to a peer that stopped reading may take to leave.
const STALLED_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(100);

/// The close frame for a peer that does not take what it is sent.
pub(super) fn slow_consumer(why: &str) -> CloseFrame {
    CloseFrame { code: CloseCode::Policy, reason: format!("slow consumer: {why}").into() }
}

/// The read side of a connection: frames in, requests handed to the server, answers encoded
/// and queued for the write side. At most [`MAX_QUEUED_ANSWERS`] wait; past that,
/// reading pauses until the write side catches up, which it does unless the peer stopped
/// reading, and then the write timeout ends the connection as a slow consumer. A client
/// connection never pauses its reading, so two peers can never wait for each other. Once the server lets go of the connection it reads
/// nothing more, queues the answers still in flight, and then closes the queue, so that the
/// write side sends them all before it closes the connection.
///
/// Every `heartbeat` the server pings the client; a client from which nothing at all (not
/// even the pong) arrived for a whole interval is taken for dead and its connection
/// dropped, so a dead client is let go within twice the interval.
///
/// Returns how the connection ends.
async fn read_side<S: FrameSocket>(
    stream: &mut SplitStream<S>,
    inbound: &mpsc::UnboundedSender<Inbound>,
    outbox: &Outbox,
    heartbeat: std::time::Duration,
) -> End {
    // Whether the server let go of the connection: read nothing more, answer what is in
    // flight, then let the write side finish.
    let mut letting_go = false;
    let mut replies: FuturesUnordered<PendingReply> = FuturesUnordered::new();
    // FuturesUnordered wakes its own task whenever one poll went through every future it
    // holds without finding one ready (its way of yielding): with a lone request in flight,
    // that was a wake-up, and a parked worker woken to steal the task, on every request. A
    // future that is never woken keeps the set from ever being gone through whole.
    let (_never_sent, never) = oneshot::channel();
    replies.push(PendingReply { id: None, answer: never, waker: None, cancelled: false });
    let mut size = wire::BufferSize::default();
    let mut ticks = super::heartbeats(heartbeat);
    // Polled only when it woke: a new `closed()` registers with a `Notify` on every poll.
    let mut closed = Woken::new(Box::pin(inbound.closed()));
    // Whether anything came from the client since the last heartbeat.
    let mut heard = true;
    // Frames read since the requests among them were last given their step.
    let mut unanswered = 0;
    loop {
        // A peer whose frames arrive faster than they are handled must not keep the write
        // side (polled beside this one, in the same task), or other tasks, from their turn.
        crate::transport::fair::turn().await;
        if unanswered >= ANSWER_EVERY {
            unanswered = 0;
            crate::transport::fair::step_aside().await;
        }
        if letting_go && replies.len() == 1 {
            // Closing the outbox tells the write side that nothing more comes.
            outbox.close();
            return std::future::pending().await;
        }
        let step = tokio::select! {
            biased;
            Some((id, reply)) = replies.next(), if replies.len() > 1 => {
                on_reply(&id, reply, &mut size)
            }
            () = &mut closed, if !letting_go => {
                letting_go = true;
                Step::Nothing
            }
            message = stream.next(), if !letting_go => {
                heard = true;
                unanswered += 1;
                on_message(message, inbound, &mut replies, &mut size)
            }
            _ = ticks.next() => {
                if !heard {
                    tracing::info!("the client answered no heartbeat: dropping its connection");
                    return End::Over;
                }
                heard = false;
                Step::Write(Message::Ping(Default::default()))
            }
        };
        match step {
            Step::Write(message) => {
                // A full queue means the write side is behind: wait for it (reading pauses)
                // rather than queue without bound. The write side makes progress or, when
                // the peer stopped reading, gives up at the write timeout and ends the
                // connection, which ends this wait too.
                outbox.push(message).await;
            }
            Step::Nothing => {}
            Step::Close(frame) => return End::Close(frame),
        }
    }
}

/// How many frames the read side takes before it steps aside, so that the server handles
/// the requests among them and the write side sends their answers before it reads on.
///
/// Reading all that a pipelining client sent before answering any of it (what the read
/// side did until it stepped aside) made the two ends take turns: the client waited for a
/// whole batch of answers while the server worked through it, then the server waited while
/// the client's callers sent the next batch. On the 2-worker benchmark one worker was idle
/// 40% of the time, and one connection with 64 requests in flight made 113,000 calls a
/// second; answering every 8 frames keeps both ends busy at once, for 190,000 to 235,000.
const ANSWER_EVERY: usize = 8;

/// How a connection ends.
pub(super) enum End {
    /// It is over already (the peer went away, or a write failed).
    Over,
    /// Close it with this frame.
    Close(Option<CloseFrame>),
    /// The peer stopped reading: close it with this frame, without waiting long for it.
    Stalled(CloseFrame),
}

/// The server answered (or, when it is stopping, dropped) one request.
fn on_reply(id: &RawValue, reply: Option<Reply>, size: &mut wire::BufferSize) -> Step {
    match reply {
        Some(reply) => answer(id, &reply, size),
        None => Step::Nothing,
    }
}

fn on_message(
    message: Option<Result<Message, WsError>>,
    inbound: &mpsc::UnboundedSender<Inbound>,
    replies: &mut FuturesUnordered<PendingReply>,
    size: &mut wire::BufferSize,
) -> Step {
    match message {
        Some(Ok(Message::Text(text))) => on_text(text.as_str(), inbound, replies, size),
        Some(Ok(Message::Binary(bytes))) => {
            // Whatever is in it, it is refused: under its request id when the bytes are a
            // JSON object with a valid one, else under `null`.
            let id = std::str::from_utf8(&bytes).ok().and_then(wire::read_request_id);
            let reason = "binary frames are not supported: expected a JSON text frame".to_owned();
            reject(wire::BadFrame { id, reason }, size)
        }
        Some(Ok(Message::Close(_))) | None => Step::Close(None),
        Some(Ok(_)) => Step::Nothing,
        Some(Err(WsError::Capacity(e))) => {
            tracing::info!(error = %e, "closing a connection that sent an oversized message");
            let reason = format!("message too big: {e}");
            Step::Close(Some(CloseFrame { code: CloseCode::Size, reason: reason.into() }))
        }
        Some(Err(e)) => {
            tracing::debug!(error = %e, "websocket read failed");
            Step::Close(None)
        }
    }
}

fn on_text(
    text: &str,
    inbound: &mpsc::UnboundedSender<Inbound>,
    replies: &mut FuturesUnordered<PendingReply>,
    size: &mut wire::BufferSize,
) -> Step {
    let frame = match wire::decode(text) {
        Ok(frame) => frame,
        Err(bad) => return reject(bad, size),
    };
    match frame {
        Frame::Request { id, name, payload, context } => {
            let (reply, answer) = oneshot::channel();
            let request = RequestFrame {
                id: 0,
                name: Cow::Owned(name),
                payload: Payload::json(payload),
                context,
                reply,
            };
            if inbound.send(Inbound::Request(Box::new(request))).is_err() {
                return Step::Close(None);
            }
            replies.push(PendingReply { id: Some(id), answer, waker: None, cancelled: false });
            Step::Nothing
        }
        Frame::Cancel { id } => {
            cancel(replies, &id);
            Step::Nothing
        }
        Frame::Event { name, payload, context } => {
            let event =
                EventFrame { name: Cow::Owned(name), payload: Payload::json(payload), context };
            if inbound.send(Inbound::Event(Box::new(event))).is_err() {
                return Step::Close(None);
            }
            Step::Nothing
        }
        Frame::Response { .. } => {
            let id = wire::read_request_id(text);
            let reason =
                "a server does not take `response` frames: expected `request`, `event` or `cancel`";
            reject(wire::BadFrame { id, reason: reason.into() }, size)
        }
    }
}

/// Answers a frame that could not be read with `BAD_MESSAGE`: under its request id when it
/// has a valid one, otherwise under `null` (JSON-RPC's "no id could be read"). Bad input
/// always gets an answer, never a silent drop.
fn reject(bad: wire::BadFrame, size: &mut wire::BufferSize) -> Step {
    let id = bad.id.as_deref().unwrap_or(RawValue::NULL);
    tracing::debug!(request_id = id.get(), reason = %bad.reason, "refused a frame");
    answer(id, &Err(wire::bad_message(&bad.reason)), size)
}

fn answer(id: &RawValue, reply: &Reply, size: &mut wire::BufferSize) -> Step {
    encode(size, |out| wire::encode_response(out, id, reply))
}

/// Encodes a frame into a text message; a value that cannot be serialised is logged.
fn encode(
    size: &mut wire::BufferSize,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
) -> Step {
    let mut out = size.buffer();
    let written = write(&mut out);
    size.saw(out.len());
    match written.map(|()| String::from_utf8(out)) {
        Ok(Ok(text)) => Step::Write(Message::Text(text.into())),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "an encoded frame was not UTF-8");
            Step::Nothing
        }
        Err(e) => {
            tracing::error!(error = %e, "a frame could not be serialised");
            Step::Nothing
        }
    }
}

/// The client stopped waiting for the request sent under `id`: closing its reply channel
/// tells the server to cancel the handler, and the answer, if one comes, is not sent. An id
/// with no request in flight (answered already, or never sent) is ignored.
fn cancel(replies: &mut FuturesUnordered<PendingReply>, id: &RawValue) {
    let found = replies.iter_mut().find(|p| p.id.as_deref().is_some_and(|i| i.get() == id.get()));
    match found {
        Some(pending) => {
            pending.answer.close();
            pending.cancelled = true;
            // Closing does not wake the future; it must finish to leave the set.
            if let Some(waker) = pending.waker.take() {
                waker.wake();
            }
        }
        None => tracing::debug!(request_id = %id.get(), "cancel for a request not in flight"),
    }
}

/// The server's answer to one request, with the request id it must be sent under.
struct PendingReply {
    /// Taken when the answer comes (a completed future is not polled again).
    id: Option<Box<RawValue>>,
    answer: oneshot::Receiver<Reply>,
    /// The task to wake when the client cancels the request.
    waker: Option<std::task::Waker>,
    /// The client cancelled it: nothing is sent.
    cancelled: bool,
}

impl Future for PendingReply {
    /// `None` when the client cancelled the request, or when the server dropped it
    /// unanswered: it is stopping and the connection closes next, so the client sees
    /// `Disconnected` rather than a made-up answer.
    type Output = (Box<RawValue>, Option<Reply>);

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let reply = if self.cancelled {
            None
        } else {
            match self.answer.poll_unpin(cx) {
                std::task::Poll::Ready(reply) => reply.ok(),
                std::task::Poll::Pending => {
                    if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        self.waker = Some(cx.waker().clone());
                    }
                    return std::task::Poll::Pending;
                }
            }
        };
        match self.id.take() {
            Some(id) => std::task::Poll::Ready((id, reply)),
            None => std::task::Poll::Pending,
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
