//! How a client hands frames to its connection: requests under fresh numbers, cancels, and
//! the status change when the connection is found gone.

use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};

use super::{reply, Client, ConnectionStatus};
use crate::context::MessageContext;
#[cfg(feature = "ws")]
use crate::transport::EncodedRequest;
use crate::transport::{Inbound, Reply, RequestFrame};

impl Client {
    pub(super) fn outbound(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, mpsc::UnboundedSender<Inbound>> {
        self.inner.outbound.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a frame on the current connection; `false` at once while not connected.
    pub(crate) fn send(&self, frame: Inbound) -> bool {
        if self.status() != ConnectionStatus::Connected {
            return false;
        }
        let sent = self.outbound().send(frame).is_ok();
        // A client that reconnects leaves the status to its reconnect loop.
        if !sent && !self.inner.reconnects {
            self.mark_disconnected();
        }
        sent
    }

    /// Sends a request on the current connection under a fresh number; the reply to wait
    /// for. `None` at once while not connected.
    pub(crate) fn send_request(
        &self,
        name: std::borrow::Cow<'static, str>,
        payload: crate::payload::Payload,
        context: MessageContext,
    ) -> Option<reply::PendingReply> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let frame = RequestFrame { id: 0, name, payload, context, reply };
        self.send_frame(Box::new(frame), receiver)
    }

    /// Sends a request frame, built by the caller (whose `reply` goes with `receiver`),
    /// under a fresh number; the reply to wait for. `None` at once while not connected.
    ///
    /// A caller that builds the frame in its box once spares the context (the largest part
    /// of a request) the copies that passing it along by value would make.
    pub(crate) fn send_frame(
        &self,
        mut frame: Box<RequestFrame>,
        receiver: oneshot::Receiver<Reply>,
    ) -> Option<reply::PendingReply> {
        if self.status() != ConnectionStatus::Connected {
            return None;
        }
        let id = self.inner.last_request.fetch_add(1, Ordering::Relaxed) + 1;
        frame.id = id;
        let Some(frame) = self.encoded(frame) else {
            // Answered already: it could not be encoded.
            return Some(reply::PendingReply::new(id, receiver));
        };
        let outbound = self.outbound();
        if outbound.send(frame).is_err() {
            drop(outbound);
            // A client that reconnects leaves the status to its reconnect loop.
            if !self.inner.reconnects {
                self.mark_disconnected();
            }
            return None;
        }
        Some(reply::PendingReply::new(id, receiver))
    }

    /// The request as the connection takes it: encoded here, on the caller's task, for a
    /// transport that writes envelope text ([`crate::transport::EncodedRequest`]). `None`
    /// when it could not be encoded; its reply then says why.
    fn encoded(&self, frame: Box<RequestFrame>) -> Option<Inbound> {
        #[cfg(feature = "ws")]
        if self.inner.encoding.wanted.load(Ordering::Relaxed) {
            return self.inner.encoding.encode(*frame).map(Inbound::Encoded);
        }
        Some(Inbound::Request(frame))
    }

    /// Remembers how large a response frame was, so that the next request's text has room
    /// for its response (see [`EncodedRequest`]).
    #[inline]
    pub(super) fn saw_response(&self, payload: &crate::payload::Payload) {
        #[cfg(feature = "ws")]
        self.inner.encoding.saw_response(payload);
        #[cfg(not(feature = "ws"))]
        let _ = payload;
    }

    /// Tells the transport that the caller of request `id` stopped waiting (its reply, if
    /// dropped, is closed already), so that the server cancels the handler.
    pub(crate) fn cancel(&self, id: u64) {
        if self.status() == ConnectionStatus::Connected {
            let _ = self.outbound().send(Inbound::Cancel(id));
        }
    }

    /// Arms `reply` to cancel its request when dropped unanswered (for a caller that does not
    /// cancel by itself).
    pub(crate) fn cancel_on_drop(&self, reply: reply::PendingReply) -> reply::PendingReply {
        reply.cancel_on_drop(&self.outbound())
    }

    pub(super) fn mark_disconnected(&self) {
        self.inner.status.set_if_changed(ConnectionStatus::Disconnected);
    }
}

/// How a client's calls encode their requests for a transport that asks for envelope text
/// ([`crate::transport::ClientLink::encoded_requests`]).
#[cfg(feature = "ws")]
pub(super) struct Encoding {
    /// Whether the connection takes encoded requests; shared with the event dispatcher,
    /// which sets it anew when the client reconnects.
    pub(super) wanted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// How large the last request encoded was.
    request_size: crate::payload::BufferSize,
    /// How large the last response frame read was: the room a request's text makes for its
    /// response.
    response_size: crate::payload::BufferSize,
}

#[cfg(feature = "ws")]
impl Encoding {
    pub(super) fn new(wanted: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { wanted, request_size: Default::default(), response_size: Default::default() }
    }

    /// `frame` as envelope text; `None` when it could not be encoded (its reply says why).
    fn encode(&self, frame: RequestFrame) -> Option<EncodedRequest> {
        EncodedRequest::encode(frame, &self.request_size, &self.response_size)
    }

    #[inline]
    fn saw_response(&self, payload: &crate::payload::Payload) {
        if let Some(len) = payload.frame_len() {
            self.response_size.saw(len);
        }
    }
}
