//! Requests that their callers encoded already, for a transport that writes the JSON
//! envelope text ([`super::ClientLink::encoded_requests`]).
//!
//! Handed over as a frame, a request (its box, its typed payload and what that holds) is
//! encoded and freed by the connection's task, often on another worker than the caller that
//! allocated it. glibc's allocator takes the owning arena's lock for such a free once the
//! freeing thread's cache of chunks of that size is full, and with many callers on one
//! connection it often is. Encoded by its caller, a request is freed where it was made.
//! Its text is made with room for the response too: a transport that copies the text to
//! its socket can keep the caller's buffer and hand the response back in it, so that
//! nothing the caller frees was allocated on another thread, and the other way round.

use tokio::sync::oneshot;

use super::{Reply, RequestFrame};
use crate::context::MessageContext;
use crate::error::WireError;
use crate::payload::Payload;

/// A request as the `request` envelope its transport writes, encoded by its caller
/// ([`crate::Client`] makes them).
#[derive(Debug)]
pub struct EncodedRequest {
    /// The whole `request` frame, JSON text, which starts with its `type` and `requestId`.
    text: String,
    /// Where the answer goes.
    reply: oneshot::Sender<Reply>,
}

/// At most this much room for a response is made in a request's text: each request in
/// flight holds its text until the response comes, and larger responses are rare enough
/// to be copied into a buffer that grows.
#[cfg(feature = "ws")]
pub(crate) const MAX_RESPONSE_ROOM: usize = 4096;

/// How every encoded request starts; the request's number follows, then `"`.
#[cfg_attr(not(feature = "ws"), allow(dead_code, reason = "only the ws feature encodes"))]
const PREFIX: &str = r#"{"type":"request","requestId":""#;

impl EncodedRequest {
    /// Encodes `frame` as the envelope text; `size` remembers how large the last one was.
    /// A payload that cannot be serialised is answered `INVALID_PAYLOAD` on the frame's
    /// reply, and nothing is returned.
    ///
    /// The text has room for a response of `response_size` too (see the module's docs).
    #[cfg(feature = "ws")]
    pub(crate) fn encode(
        frame: RequestFrame,
        size: &crate::payload::BufferSize,
        response_size: &crate::payload::BufferSize,
    ) -> Option<Self> {
        let RequestFrame { id, name, payload, context, reply } = frame;
        let room = response_size.capacity().min(MAX_RESPONSE_ROOM);
        let mut out = Vec::with_capacity(size.capacity().max(room));
        if let Err(e) = crate::envelope::encode_request(&mut out, id, &name, &payload, &context) {
            let reason = format!("cannot serialise it: {e}");
            let error = crate::payload::DecodeError { path: None, reason };
            let _ = reply.send(Err(WireError::invalid_payload(&name, &error)));
            return None;
        }
        size.saw(out.len());
        match String::from_utf8(out) {
            Ok(text) => Some(Self { text, reply }),
            Err(e) => {
                let error = WireError::internal(format!(
                    "the request `{name}` was encoded as text that is not UTF-8: {e}"
                ));
                let _ = reply.send(Err(error));
                None
            }
        }
    }

    /// The request as a frame again, read back from its text: for a transport that takes
    /// frames (the server, in this process). A text that is not a `request` frame is
    /// answered `BAD_MESSAGE` on the reply, and nothing is returned.
    pub fn into_frame(self) -> Option<RequestFrame> {
        let id = self.id();
        let Self { text, reply } = self;
        match read(&text) {
            Ok((name, payload, context)) => {
                let name = std::borrow::Cow::Owned(name);
                Some(RequestFrame { id, name, payload, context, reply })
            }
            Err(error) => {
                let _ = reply.send(Err(error));
                None
            }
        }
    }
}

impl EncodedRequest {
    /// The number the client gave the request, as [`RequestFrame::id`]: the text's
    /// `requestId`, which its encoding wrote first (read back rather than kept beside it, so
    /// that an [`super::Inbound`] stays small).
    pub fn id(&self) -> u64 {
        let digits = self.text.get(PREFIX.len()..).unwrap_or_default();
        let end = digits.find('"').unwrap_or(digits.len());
        digits[..end].parse().unwrap_or_default()
    }

    /// The request's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text, with room for the response, and where the answer goes.
    pub fn into_parts(self) -> (String, oneshot::Sender<Reply>) {
        (self.text, self.reply)
    }
}

/// What a `request` frame's text holds: its name, payload and context.
type Read = Result<(String, Payload, MessageContext), WireError>;

/// The name, payload and context of a `request` frame's text.
#[cfg(feature = "ws")]
fn read(text: &str) -> Read {
    use crate::envelope::{self as wire, Frame};
    match wire::decode(text) {
        Ok(Frame::Request { name, payload, context, .. }) => {
            Ok((name, Payload::json(payload), context))
        }
        Ok(_) => Err(wire::bad_message("expected a `request` frame")),
        Err(bad) => Err(wire::bad_message(&bad.reason)),
    }
}

/// Without the `ws` feature there is no envelope codec to read the text with.
#[cfg(not(feature = "ws"))]
fn read(_text: &str) -> Read {
    Err(WireError::internal(
        "an encoded request cannot be read: the envelope codec needs the `ws` feature",
    ))
}

#[cfg(all(test, feature = "ws"))]
mod tests {
    use super::*;
    use crate::context::MessageContext;
    use crate::payload::{BufferSize, Payload};

    fn frame(payload: Payload) -> (RequestFrame, oneshot::Receiver<Reply>) {
        let (reply, answer) = oneshot::channel();
        let name = "getOrder".into();
        let context = MessageContext::default().with_trace_id("t-1");
        (RequestFrame { id: 7, name, payload, context, reply }, answer)
    }

    #[test]
    fn an_encoded_request_reads_back_as_the_frame_it_was() {
        let (sent, _answer) = frame(Payload::typed(serde_json::json!({ "id": "o-1" })));
        let response_size = BufferSize::default();
        response_size.saw(3000);
        let encoded =
            EncodedRequest::encode(sent, &BufferSize::default(), &response_size).expect("encodes");
        assert_eq!(encoded.id(), 7, "read back from {}", encoded.text());
        assert!(encoded.text().starts_with(PREFIX), "{}", encoded.text());
        assert!(encoded.text.capacity() >= 3000, "room for the response");
        response_size.saw(1 << 20);
        let (huge, _answer) = frame(Payload::typed(1));
        let huge =
            EncodedRequest::encode(huge, &BufferSize::default(), &response_size).expect("encodes");
        assert!(huge.text.capacity() <= 2 * MAX_RESPONSE_ROOM, "no room for huge responses");
        let back = encoded.into_frame().expect("reads back");
        assert_eq!((back.id, back.name.as_ref()), (7, "getOrder"));
        assert_eq!(back.context.trace_id.as_deref(), Some("t-1"));
        let payload: serde_json::Value = back.payload.decode_owned().expect("payload");
        assert_eq!(payload, serde_json::json!({ "id": "o-1" }));
    }

    #[test]
    fn a_text_that_is_no_request_is_answered_bad_message() {
        let (reply, mut answer) = oneshot::channel();
        let text = r#"{"type":"event","event":"x","payload":{}}"#.into();
        assert!(EncodedRequest { text, reply }.into_frame().is_none());
        let error = answer.try_recv().expect("answered").expect_err("refused");
        assert_eq!(error.code, crate::error::codes::BAD_MESSAGE, "{error:?}");
    }

    #[test]
    fn a_payload_that_cannot_be_serialised_is_answered_at_once() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1u8);
        let (sent, mut answer) = frame(Payload::typed(map));
        let size = BufferSize::default();
        assert!(EncodedRequest::encode(sent, &size, &size).is_none());
        let error = answer.try_recv().expect("answered").expect_err("refused");
        assert_eq!(error.code, crate::error::codes::INVALID_PAYLOAD, "{error:?}");
    }
}
