//! The server side of a WebSocket connection: frames in, dispatch through the server's
//! link, answers and events out.

use std::borrow::Cow;
use std::future::Future;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::wire::{self, Frame};
use crate::payload::Payload;
use crate::transport::{EventFrame, Inbound, Reply, RequestFrame, ServerLink};

/// Accepts TCP connections and upgrades each on its own task, so a slow handshake does not
/// hold up the next client.
pub(super) async fn accept_loop(
    listener: TcpListener,
    config: WebSocketConfig,
    links: mpsc::UnboundedSender<ServerLink>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let links = links.clone();
                tokio::spawn(async move {
                    // Small frames should leave at once, not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    match tokio_tungstenite::accept_async_with_config(stream, Some(config)).await {
                        Ok(ws) => serve_socket(ws, peer.to_string(), &links).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "websocket handshake failed"),
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

type Socket = WebSocketStream<TcpStream>;

/// What one turn of the loop decided.
enum Step {
    Write(Message),
    Nothing,
    Close(Option<CloseFrame>),
}

async fn serve_socket(mut ws: Socket, peer: String, links: &mpsc::UnboundedSender<ServerLink>) {
    let (inbound, server_inbound) = mpsc::unbounded_channel();
    let (server_outbound, mut events) = mpsc::unbounded_channel();
    let link = ServerLink {
        inbound: server_inbound,
        outbound: server_outbound,
        peer: format!("ws://{peer}"),
    };
    if links.send(link).is_err() {
        let _ = ws.close(None).await;
        return;
    }
    let mut replies = FuturesUnordered::new();
    loop {
        let step = tokio::select! {
            message = ws.next() => on_message(message, &inbound, &mut replies),
            Some((id, reply)) = replies.next(), if !replies.is_empty() => match reply {
                Some(reply) => answer(&id, &reply),
                None => Step::Nothing,
            },
            event = events.recv() => match event {
                Some(event) => encode(|out| wire::encode_event(out, &event.name, &event.payload, &event.context)),
                None => Step::Close(None),
            },
        };
        let sent = match step {
            Step::Write(message) => ws.send(message).await,
            Step::Nothing => Ok(()),
            Step::Close(frame) => {
                let _ = ws.close(frame).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    tracing::debug!(%peer, "websocket connection closed");
}

fn on_message(
    message: Option<Result<Message, WsError>>,
    inbound: &mpsc::UnboundedSender<Inbound>,
    replies: &mut FuturesUnordered<PendingReply>,
) -> Step {
    match message {
        Some(Ok(Message::Text(text))) => on_text(text.as_str(), inbound, replies),
        Some(Ok(Message::Binary(bytes))) => {
            let id = std::str::from_utf8(&bytes).ok().and_then(|text| match wire::decode(text) {
                Ok(Frame::Request { id, .. }) => Some(id),
                Ok(_) => None,
                Err(bad) => bad.id,
            });
            let reason = "binary frames are not supported: send JSON text frames".to_owned();
            reject(wire::BadFrame { id, reason })
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
) -> Step {
    let frame = match wire::decode(text) {
        Ok(frame) => frame,
        Err(bad) => return reject(bad),
    };
    match frame {
        Frame::Request { id, name, payload, context } => {
            let (reply, answer) = oneshot::channel();
            let request = RequestFrame {
                name: Cow::Owned(name),
                payload: Payload::Json(payload),
                context,
                reply,
            };
            if inbound.send(Inbound::Request(request)).is_err() {
                return Step::Close(None);
            }
            replies.push(PendingReply { id, answer });
            Step::Nothing
        }
        Frame::Event { name, payload, context } => {
            let event =
                EventFrame { name: Cow::Owned(name), payload: Payload::Json(payload), context };
            if inbound.send(Inbound::Event(event)).is_err() {
                return Step::Close(None);
            }
            Step::Nothing
        }
        Frame::Response { .. } => reject(wire::BadFrame {
            id: wire::read_request_id(text),
            reason: "a server does not take `response` frames: send `request` or `event`".into(),
        }),
    }
}

/// Answers an unreadable frame with `BAD_MESSAGE` when it carries a request id; otherwise
/// there is no one to answer, so it is logged and dropped.
fn reject(bad: wire::BadFrame) -> Step {
    match bad.id {
        Some(id) => answer(&id, &Err(wire::bad_message(&bad.reason))),
        None => {
            tracing::warn!(reason = %bad.reason, "dropped a frame with no readable request id");
            Step::Nothing
        }
    }
}

fn answer(id: &RawValue, reply: &Reply) -> Step {
    encode(|out| wire::encode_response(out, id, reply))
}

/// Encodes a frame into a text message; a value that cannot be serialised is logged.
fn encode(write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>) -> Step {
    let mut out = Vec::with_capacity(256);
    match write(&mut out).map(|()| String::from_utf8(out)) {
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

/// The server's answer to one request, with the request id it must be sent under.
struct PendingReply {
    id: Box<RawValue>,
    answer: oneshot::Receiver<Reply>,
}

impl Future for PendingReply {
    /// `None` when the server dropped the request unanswered: it is stopping and the
    /// connection closes next, so the client sees `Disconnected` rather than a made-up answer.
    type Output = (Box<RawValue>, Option<Reply>);

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let reply = std::task::ready!(self.answer.poll_unpin(cx)).ok();
        let id = std::mem::replace(&mut self.id, RawValue::NULL.to_owned());
        std::task::Poll::Ready((id, reply))
    }
}
