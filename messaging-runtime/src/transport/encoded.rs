//! Requests that their callers encoded already, for a transport that writes the JSON
//! envelope text ([`super::ClientLink::encoded_requests`]).
//!
//! Handed over as a frame, a request (its box, its typed payload and what that holds) is
//! encoded and freed by the connection's task, often on another worker than the caller that
//! allocated it. glibc's allocator takes the owning arena's lock for such a free once the
//! freeing thread's cache of chunks of that size is full, and with many callers on one
//! connection it often is. Encoded by its caller, a request is freed where it was made, and
//! only its text crosses to the connection's task.

use tokio::sync::oneshot;

use super::{Reply, RequestFrame};

/// A request as the `request` envelope its transport writes, encoded by its caller.
#[derive(Debug)]
pub struct EncodedRequest {
    /// The number the client gave the request, as [`RequestFrame::id`] (and the text's
    /// `requestId`).
    pub id: u64,
    /// The whole `request` frame, JSON text.
    pub text: Box<str>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

impl EncodedRequest {
    /// Encodes `frame` as the envelope text; `size` remembers how large the last one was.
    /// A payload that cannot be serialised is answered `INVALID_PAYLOAD` on the frame's
    /// reply, and nothing is returned.
    #[cfg(feature = "ws")]
    pub(crate) fn encode(frame: RequestFrame, size: &crate::payload::BufferSize) -> Option<Self> {
        let RequestFrame { id, name, payload, context, reply } = frame;
        let mut out = size.buffer();
        if let Err(e) = crate::envelope::encode_request(&mut out, id, &name, &payload, &context) {
            let reason = format!("cannot serialise it: {e}");
            let error = crate::payload::DecodeError { path: None, reason };
            let _ = reply.send(Err(crate::error::WireError::invalid_payload(&name, &error)));
            return None;
        }
        size.saw(out.len());
        match String::from_utf8(out) {
            // Copied to a box of its exact size, so that a transport can hand it on without
            // another allocation. Not shrunk in place: glibc's `realloc` always takes the
            // arena's lock, which the connection's task takes too when it frees the text.
            Ok(text) => Some(Self { id, text: Box::from(text.as_str()), reply }),
            Err(e) => {
                let error = crate::error::WireError::internal(format!(
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
        let Self { id, text, reply } = self;
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

/// The name, payload and context of a `request` frame's text.
#[cfg(feature = "ws")]
fn read(
    text: &str,
) -> Result<
    (String, crate::payload::Payload, crate::context::MessageContext),
    crate::error::WireError,
> {
    use crate::envelope::{self as wire, Frame};
    match wire::decode(text) {
        Ok(Frame::Request { name, payload, context, .. }) => {
            Ok((name, crate::payload::Payload::json(payload), context))
        }
        Ok(_) => Err(wire::bad_message("expected a `request` frame")),
        Err(bad) => Err(wire::bad_message(&bad.reason)),
    }
}

/// Without the `ws` feature there is no envelope codec to read the text with.
#[cfg(not(feature = "ws"))]
fn read(
    _text: &str,
) -> Result<
    (String, crate::payload::Payload, crate::context::MessageContext),
    crate::error::WireError,
> {
    Err(crate::error::WireError::internal(
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
        let encoded = EncodedRequest::encode(sent, &BufferSize::default()).expect("encodes");
        assert_eq!(encoded.id, 7);
        assert!(encoded.text.contains(r#""requestId":"7""#), "{}", encoded.text);
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
        assert!(EncodedRequest { id: 1, text, reply }.into_frame().is_none());
        let error = answer.try_recv().expect("answered").expect_err("refused");
        assert_eq!(error.code, crate::error::codes::BAD_MESSAGE, "{error:?}");
    }

    #[test]
    fn a_payload_that_cannot_be_serialised_is_answered_at_once() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1u8);
        let (sent, mut answer) = frame(Payload::typed(map));
        assert!(EncodedRequest::encode(sent, &BufferSize::default()).is_none());
        let error = answer.try_recv().expect("answered").expect_err("refused");
        assert_eq!(error.code, crate::error::codes::INVALID_PAYLOAD, "{error:?}");
    }
}
