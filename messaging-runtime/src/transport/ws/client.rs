//! The client side of a WebSocket connection: requests out with fresh ids, responses
//! matched back to their callers, events handed to the client's dispatcher.

use std::borrow::Cow;
use std::collections::HashMap;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::wire::{self, Frame};
use crate::error::{TransportError, WireError};
use crate::payload::{DecodeError, Payload};
use crate::transport::{ClientLink, EventFrame, Inbound, Reply};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the socket and starts the task that drives it.
pub(super) async fn connect(
    address: &str,
    config: WebSocketConfig,
) -> Result<ClientLink, TransportError> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(address, Some(config), true)
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
    let (event_sink, events) = mpsc::unbounded_channel();
    tokio::spawn(drive(ws, requests, event_sink));
    Ok(ClientLink { outbound, events })
}

/// Requests waiting for their response, by the id they were sent under.
struct Pending {
    waiting: HashMap<String, oneshot::Sender<Reply>>,
    next_id: u64,
    prune_at: usize,
}

impl Pending {
    fn add(&mut self, reply: oneshot::Sender<Reply>) -> String {
        // Callers that gave up (timed out, dropped) leave their sender behind; sweep them
        // now and then rather than on every call.
        if self.waiting.len() >= self.prune_at {
            self.waiting.retain(|_, sender| !sender.is_closed());
            self.prune_at = (self.waiting.len() * 2).max(1024);
        }
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.waiting.insert(id.clone(), reply);
        id
    }
}

/// Drives one connection until either side closes it. When it ends, every request still
/// waiting fails at once (its reply sender is dropped) and the event stream ends.
async fn drive(
    mut ws: Socket,
    mut requests: mpsc::UnboundedReceiver<Inbound>,
    events: mpsc::UnboundedSender<EventFrame>,
) {
    let mut pending = Pending { waiting: HashMap::new(), next_id: 0, prune_at: 1024 };
    loop {
        let outgoing = tokio::select! {
            frame = requests.recv() => match frame {
                Some(frame) => encode_outgoing(frame, &mut pending),
                None => {
                    let _ = ws.close(None).await;
                    break;
                }
            },
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if !on_text(text.as_str(), &mut pending, &events) {
                        break;
                    }
                    None
                }
                Some(Ok(Message::Close(frame))) => {
                    tracing::debug!(?frame, "the server closed the connection");
                    break;
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "websocket read failed");
                    break;
                }
                None => break,
            },
        };
        if let Some(message) = outgoing {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    }
}

fn encode_outgoing(frame: Inbound, pending: &mut Pending) -> Option<Message> {
    let mut out = Vec::with_capacity(256);
    match frame {
        Inbound::Request(request) => {
            let written = {
                let id = pending.next_id + 1;
                wire::encode_request(
                    &mut out,
                    &id.to_string(),
                    &request.name,
                    &request.payload,
                    &request.context,
                )
            };
            if let Err(e) = written {
                let error = DecodeError { path: None, reason: format!("cannot serialise it: {e}") };
                let _ = request.reply.send(Err(WireError::invalid_payload(&request.name, &error)));
                return None;
            }
            pending.add(request.reply);
        }
        Inbound::Event(event) => {
            if let Err(e) =
                wire::encode_event(&mut out, &event.name, &event.payload, &event.context)
            {
                tracing::error!(event = %event.name, error = %e, "an event could not be serialised");
                return None;
            }
        }
    }
    String::from_utf8(out).ok().map(|text| Message::Text(text.into()))
}

/// Handles one text frame from the server; `false` when the client is gone.
fn on_text(text: &str, pending: &mut Pending, events: &mpsc::UnboundedSender<EventFrame>) -> bool {
    match wire::decode(text) {
        Ok(Frame::Response { id, result }) => match pending.waiting.remove(&id) {
            Some(reply) => {
                // The caller may have given up already; nothing to do then.
                let _ = reply.send(result.map(Payload::Json));
            }
            None => tracing::debug!(request_id = %id, "response to a request nobody waits for"),
        },
        Ok(Frame::Event { name, payload, context }) => {
            let event =
                EventFrame { name: Cow::Owned(name), payload: Payload::Json(payload), context };
            return events.send(event).is_ok();
        }
        Ok(Frame::Request { .. }) => {
            tracing::warn!("the server sent a request frame; clients do not serve requests");
        }
        Err(bad) => tracing::warn!(reason = %bad.reason, "dropped a frame the server sent"),
    }
    true
}
