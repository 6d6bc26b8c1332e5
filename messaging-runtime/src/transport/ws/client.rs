//! The client side of a WebSocket connection: requests out with fresh ids, responses
//! matched back to their callers, events handed to the client's dispatcher.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::wire::{self, Frame};
use crate::error::{TransportError, WireError};
use crate::payload::{DecodeError, Payload};
use crate::transport::{
    event_queue, ClientLink, CloseReason, EventFrame, EventSender, Inbound, QueueError, Reply,
};

type Socket = WebSocketStream<super::Buffered>;

/// How many events read from the socket may wait for the client's dispatcher, which takes
/// them only as fast as the client's subscribers do
/// ([`crate::client::ClientBuilder::event_buffer`]). Reading never waits for the
/// dispatcher (responses keep coming); a client whose backlog fills is a slow consumer of
/// its own events, and closes its connection (close code 1008).
pub(crate) const CLIENT_EVENT_BACKLOG: usize = 1024;

/// The reason a client gives the server when its event backlog is full.
const SLOW_CONSUMER: &str = "slow consumer: the client's event backlog is full";

/// Performs the WebSocket handshake on `stream` (opened by `stream::dial`) and starts the
/// task that drives the connection. (ws-accept hook: dialling, with or without TLS, moved to
/// `stream.rs`.)
pub(super) async fn connect(
    address: &str,
    stream: super::stream::Conn,
    config: WebSocketConfig,
    heartbeat: std::time::Duration,
) -> Result<ClientLink, TransportError> {
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(address, super::buffered(stream), Some(config))
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::ConnectionRefused =>
                {
                    TransportError::NotFound(address.to_owned())
                }
                other => TransportError::Io(format!("cannot connect to `{address}`: {other}")),
            })?;
    let (outbound, requests) = mpsc::unbounded_channel();
    let (event_sink, events) = event_queue();
    tokio::spawn(drive(ws, requests, event_sink, heartbeat));
    Ok(ClientLink { outbound, events })
}

/// Requests waiting for their response, by the id they were sent under.
struct Pending {
    waiting: HashMap<u64, oneshot::Sender<Reply>, BuildHasherDefault<IdHasher>>,
    next_id: u64,
    prune_at: usize,
    /// Callers woken by a response whose next request has not been seen since: worth a
    /// yield before flushing, so their requests leave in the same write.
    owed: usize,
    /// How large the frames sent of late were.
    size: wire::BufferSize,
}

impl Pending {
    fn new() -> Self {
        Self {
            waiting: HashMap::default(),
            next_id: 0,
            prune_at: 1024,
            owed: 0,
            size: wire::BufferSize::default(),
        }
    }

    /// The id the next request is sent under.
    fn next_id(&self) -> u64 {
        self.next_id + 1
    }

    fn add(&mut self, reply: oneshot::Sender<Reply>) {
        // Callers that gave up (timed out, dropped) leave their sender behind; sweep them
        // now and then rather than on every call.
        if self.waiting.len() >= self.prune_at {
            self.waiting.retain(|_, sender| !sender.is_closed());
            self.prune_at = (self.waiting.len() * 2).max(1024);
        }
        self.next_id += 1;
        self.waiting.insert(self.next_id, reply);
        self.owed = self.owed.saturating_sub(1);
    }

    /// Whether other callers may send soon: some that responses woke have not sent their
    /// next request yet, or other requests are in flight. A lone caller is not kept waiting.
    fn busy(&self) -> bool {
        self.owed > 0 || self.waiting.len() > 1
    }

    /// Forgets the requests whose callers stopped waiting, and returns their ids.
    fn abandoned(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        self.waiting.retain(|id, sender| {
            let gone = sender.is_closed();
            if gone {
                ids.push(*id);
            }
            !gone
        });
        ids
    }

    /// The caller waiting for the response sent under `id` (as it came back on the wire).
    fn take(&mut self, id: &str) -> Option<oneshot::Sender<Reply>> {
        self.waiting.remove(&id.parse::<u64>().ok()?)
    }
}

/// The ids are this client's own counter: a multiplicative hash spreads them well enough,
/// at a fraction of the cost of SipHash. Not exposed to what a peer chooses: a response
/// only ever looks up ids, never inserts them.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Drives one connection until either side closes it. When it ends, every request still
/// waiting fails at once (its reply sender is dropped) and the event stream ends.
///
/// Each turn waits for one thing to do and does it. Before flushing what it wrote, it takes
/// every other request already queued; if other callers may send soon (see
/// [`Pending::busy`]), it yields once so that they can, takes those too, and flushes them
/// all in one write. A lone caller's request leaves at once. The socket is read one frame per
/// turn, polled only when this task has nothing else to do (each poll costs tungstenite a
/// read attempt).
async fn drive(
    mut ws: Socket,
    mut requests: mpsc::UnboundedReceiver<Inbound>,
    events: EventSender,
    heartbeat: std::time::Duration,
) {
    let mut pending = Pending::new();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether anything came from the server since the last heartbeat.
    let mut heard = true;
    'connection: loop {
        // Whether frames were queued on the socket and not flushed yet.
        let mut unflushed = false;
        tokio::select! {
            biased;
            frame = requests.recv() => match frame {
                Some(frame) => {
                    if !send(&mut ws, frame, &mut pending, &mut unflushed).await {
                        break 'connection;
                    }
                }
                None => {
                    let _ = ws.close(None).await;
                    break 'connection;
                }
            },
            message = ws.next() => {
                heard = true;
                if !on_message(message, &mut pending, &events) {
                    // Only this task closes its own queue for a reason: a slow consumer.
                    if events.close_reason().is_some() {
                        close_as_slow_consumer(&mut ws).await;
                    } else {
                        answer_close(&mut ws).await;
                    }
                    break 'connection;
                }
            }
            _ = ticker.tick() => {
                if !heard {
                    tracing::warn!("the server answered no heartbeat: taking the connection for dead");
                    break 'connection;
                }
                heard = false;
                if ws.send(Message::Ping(Default::default())).await.is_err() {
                    break 'connection;
                }
            }
        }
        if !send_ready(&mut ws, &mut requests, &mut pending, &mut unflushed).await {
            break;
        }
        if unflushed && ws.flush().await.is_err() {
            break;
        }
    }
}

/// Queues every request already waiting, unflushed; when other callers may send soon (see
/// [`Pending::busy`]), yields once so that they can, and takes theirs too. `false` when the
/// connection is over (the socket failed, or the client is gone: the socket is then closed).
async fn send_ready(
    ws: &mut Socket,
    requests: &mut mpsc::UnboundedReceiver<Inbound>,
    pending: &mut Pending,
    unflushed: &mut bool,
) -> bool {
    let mut yielded = false;
    loop {
        match requests.try_recv() {
            Ok(frame) => {
                if !send(ws, frame, pending, unflushed).await {
                    return false;
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => {
                let _ = ws.close(None).await;
                return false;
            }
            Err(mpsc::error::TryRecvError::Empty) if *unflushed && !yielded && pending.busy() => {
                // Whoever has not sent by now will not be waited for again.
                pending.owed = 0;
                yielded = true;
                tokio::task::yield_now().await;
            }
            Err(mpsc::error::TryRecvError::Empty) => return true,
        }
    }
}

/// Queues one frame on the socket, unflushed; `false` when the socket failed.
async fn send(
    ws: &mut Socket,
    frame: Inbound,
    pending: &mut Pending,
    unflushed: &mut bool,
) -> bool {
    if let Inbound::Abandoned = frame {
        return cancel_abandoned(ws, pending, unflushed).await;
    }
    match encode_outgoing(frame, pending) {
        Some(message) => {
            *unflushed = true;
            ws.feed(message).await.is_ok()
        }
        None => true,
    }
}

/// Tells the server to cancel every request whose caller stopped waiting; `false` when the
/// socket failed.
async fn cancel_abandoned(ws: &mut Socket, pending: &mut Pending, unflushed: &mut bool) -> bool {
    for id in pending.abandoned() {
        let mut out = Vec::with_capacity(48);
        wire::encode_cancel(&mut out, id);
        let Ok(text) = String::from_utf8(out) else { continue };
        *unflushed = true;
        if ws.feed(Message::Text(text.into())).await.is_err() {
            return false;
        }
    }
    true
}

/// Tells the server that this client closes its connection as a slow consumer (close code
/// 1008), waiting at most a second for the close frame to be written.
async fn close_as_slow_consumer(ws: &mut Socket) {
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::CloseCode, CloseFrame};
    let frame = CloseFrame { code: CloseCode::Policy, reason: SLOW_CONSUMER.into() };
    let closing = ws.close(Some(frame));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), closing).await;
}

/// (ws-accept hook) When the server closed the connection, answers its close frame with a
/// close frame (RFC 6455 5.5.1): tungstenite queued the answer when it read the frame, and a
/// flush sends it. Waits at most a second; after a failed read the flush fails at once.
async fn answer_close(ws: &mut Socket) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.flush()).await;
}

/// Handles what the socket read; `false` when the connection is over.
fn on_message(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    pending: &mut Pending,
    events: &EventSender,
) -> bool {
    match message {
        Some(Ok(Message::Text(text))) => on_text(text.as_str(), pending, events),
        Some(Ok(Message::Close(frame))) => {
            log_close(frame.as_ref());
            false
        }
        Some(Ok(_)) => true,
        Some(Err(e)) => {
            tracing::debug!(error = %e, "websocket read failed");
            false
        }
        None => false,
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

fn encode_outgoing(frame: Inbound, pending: &mut Pending) -> Option<Message> {
    let mut out = pending.size.buffer();
    match frame {
        Inbound::Request(request) => {
            let written = wire::encode_request(
                &mut out,
                pending.next_id(),
                &request.name,
                &request.payload,
                &request.context,
            );
            if let Err(e) = written {
                let error = DecodeError { path: None, reason: format!("cannot serialise it: {e}") };
                let _ = request.reply.send(Err(WireError::invalid_payload(&request.name, &error)));
                return None;
            }
            pending.add(request.reply);
        }
        // Handled by `send` before it gets here.
        Inbound::Abandoned => return None,
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

/// Handles one text frame from the server; `false` when the client is gone.
fn on_text(text: &str, pending: &mut Pending, events: &EventSender) -> bool {
    match wire::decode(text) {
        Ok(Frame::Response { id, result }) => match pending.take(&id) {
            Some(reply) => {
                // The caller may have given up already; nothing to do then.
                if reply.send(result.map(Payload::Json)).is_ok() {
                    pending.owed += 1;
                }
            }
            None => tracing::debug!(request_id = %id, "response to a request nobody waits for"),
        },
        Ok(Frame::Event { name, payload, context }) => {
            let event =
                EventFrame { name: Cow::Owned(name), payload: Payload::Json(payload), context };
            return match events.try_send(event, CLIENT_EVENT_BACKLOG) {
                Ok(()) => true,
                Err(QueueError::Closed) => false,
                Err(QueueError::Full) => {
                    tracing::warn!(
                        backlog = CLIENT_EVENT_BACKLOG,
                        "{SLOW_CONSUMER}: closing the connection"
                    );
                    // Ends the dispatcher's events at once, even while it waits for a
                    // subscriber that does not read.
                    events.close_now(CloseReason::SlowConsumer);
                    false
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
    true
}
