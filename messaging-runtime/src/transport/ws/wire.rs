//! The JSON frames of the TypeScript library's WebSocket adapter, one object per text frame:
//!
//! ```text
//! {"type":"request","requestId":"…","requestType":"createOrder","payload":{…},"context":{…}}
//! {"type":"response","requestId":"…","success":true,"data":{…}}
//! {"type":"response","requestId":"…","success":false,"error":{"code":"…","message":"…","status":404,"details":{…}}}
//! {"type":"event","event":"orderCreated","payload":{…},"context":{…}}
//! {"type":"cancel","requestId":"…"}
//! ```
//!
//! `cancel` is this library's extension of the protocol: a client that stops waiting for a
//! request (its call was dropped or timed out) tells the server, which cancels the handler
//! and answers nothing. Servers that do not know it answer `BAD_MESSAGE`, which the client
//! ignores; TypeScript clients never send it.
//!
//! Decoding reads the frame in one pass when it is one of these shapes; a frame that is not
//! is read again field by field, so that one malformed field still leaves the request id
//! readable for the error answer. Payloads stay raw JSON until dispatch picks their type.

use std::borrow::Cow;
use std::io::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::context::MessageContext;
use crate::error::WireError;
use crate::payload::Payload;

/// The code answered to a frame that is not one of the protocol's shapes.
pub(crate) const BAD_MESSAGE: &str = crate::error::codes::BAD_MESSAGE;

/// A frame read off the wire.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A request: its id is kept as the raw JSON the peer sent, to be echoed exactly.
    Request { id: Box<RawValue>, name: String, payload: Box<RawValue>, context: MessageContext },
    /// A response to one of our requests.
    Response { id: Cow<'a, str>, result: Result<Box<RawValue>, WireError> },
    /// An event.
    Event { name: String, payload: Box<RawValue>, context: MessageContext },
    /// The client stopped waiting for the request sent under `id` (as raw JSON).
    Cancel { id: Box<RawValue> },
}

/// A frame that could not be read: why, and the request id when one could be read.
#[derive(Debug)]
pub(crate) struct BadFrame {
    pub(crate) id: Option<Box<RawValue>>,
    pub(crate) reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    request_id: Option<&'a RawValue>,
    #[serde(borrow)]
    request_type: Option<&'a RawValue>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
    #[serde(borrow)]
    context: Option<&'a RawValue>,
    // Raw, so a `success` of the wrong type still leaves the request id readable.
    #[serde(borrow)]
    success: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The frame shapes read in one pass: the context and a failed response's error are decoded
/// in place, and nothing is copied but what the frame keeps. Any frame this does not read
/// exactly as [`decode_fields`] would goes through that instead, which says what is wrong.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Option<&'a RawValue>,
    #[serde(borrow)]
    request_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
    context: Option<MessageContext>,
    success: Option<bool>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    error: Option<WireError>,
}

/// Reads one text frame.
pub(crate) fn decode(text: &str) -> Result<Frame<'_>, BadFrame> {
    // serde would read a struct from an array too; the protocol's frames are objects.
    if !text.trim_start().starts_with('{') {
        return Err(BadFrame { id: None, reason: "frame is not a JSON object".into() });
    }
    match serde_json::from_str::<Shape<'_>>(text).ok().and_then(Shape::into_frame) {
        Some(frame) => Ok(frame),
        None => decode_fields(text),
    }
}

impl<'a> Shape<'a> {
    /// The frame, when it is one of the shapes exactly as [`decode_fields`] reads it.
    fn into_frame(self) -> Option<Frame<'a>> {
        let non_empty = |s: Cow<'_, str>| (!s.is_empty()).then(|| s.into_owned());
        match &*self.kind {
            "request" => Some(Frame::Request {
                id: self.request_id?.to_owned(),
                name: non_empty(self.request_type?)?,
                payload: payload_or_null(self.payload),
                context: self.context.unwrap_or_default(),
            }),
            "event" => Some(Frame::Event {
                name: non_empty(self.event?)?,
                payload: payload_or_null(self.payload),
                context: self.context.unwrap_or_default(),
            }),
            "cancel" => Some(Frame::Cancel { id: self.request_id?.to_owned() }),
            "response" => {
                // The id as a string with nothing to unescape; anything else goes the long way.
                let id = self.request_id?.get().strip_prefix('"')?.strip_suffix('"')?;
                if id.is_empty() || id.contains(['\\', '"']) {
                    return None;
                }
                let result = match self.success? {
                    true => Ok(payload_or_null(self.data)),
                    false => Err(self.error?),
                };
                Some(Frame::Response { id: Cow::Borrowed(id), result })
            }
            _ => None,
        }
    }
}

/// Reads one text frame field by field, so that what is wrong with it can be told, with the
/// request id when it has a readable one.
fn decode_fields(text: &str) -> Result<Frame<'static>, BadFrame> {
    let fields: Fields<'_> = serde_json::from_str(text)
        .map_err(|e| BadFrame { id: None, reason: format!("frame is not a JSON object: {e}") })?;
    let id = fields.request_id.map(ToOwned::to_owned);
    let bad = |reason: String| BadFrame { id: id.clone(), reason };
    let kind = string(fields.kind, "type").map_err(&bad)?;
    match kind.as_str() {
        "request" => {
            let Some(id) = fields.request_id else {
                return Err(bad("request frame has no `requestId`".into()));
            };
            Ok(Frame::Request {
                id: id.to_owned(),
                name: string(fields.request_type, "requestType").map_err(&bad)?,
                payload: payload_or_null(fields.payload),
                context: context(fields.context).map_err(&bad)?,
            })
        }
        "event" => Ok(Frame::Event {
            name: string(fields.event, "event").map_err(&bad)?,
            payload: payload_or_null(fields.payload),
            context: context(fields.context).map_err(&bad)?,
        }),
        "response" => decode_response(&fields).map_err(&bad),
        "cancel" => match fields.request_id {
            Some(id) => Ok(Frame::Cancel { id: id.to_owned() }),
            None => Err(bad("cancel frame has no `requestId`".into())),
        },
        other => Err(bad(format!(
            "unknown frame type `{other}`: expected `request`, `response`, `event` or `cancel`"
        ))),
    }
}

fn decode_response(fields: &Fields<'_>) -> Result<Frame<'static>, String> {
    let id = string(fields.request_id, "requestId")?;
    let result = match fields.success.map(|raw| serde_json::from_str::<bool>(raw.get())) {
        Some(Ok(true)) => Ok(payload_or_null(fields.data)),
        Some(Ok(false)) => {
            let raw = fields.error.ok_or("failed response has no `error`")?;
            Err(serde_json::from_str::<WireError>(raw.get())
                .map_err(|e| format!("invalid `error` in response: {e}"))?)
        }
        Some(Err(_)) | None => return Err("response frame has no boolean `success`".into()),
    };
    Ok(Frame::Response { id: Cow::Owned(id), result })
}

fn string(raw: Option<&RawValue>, field: &str) -> Result<String, String> {
    let raw = raw.ok_or_else(|| format!("frame has no `{field}`"))?;
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) if !s.is_empty() => Ok(s),
        Ok(_) => Err(format!("`{field}` is empty")),
        Err(_) => Err(format!("`{field}` must be a string, found `{}`", raw.get())),
    }
}

fn payload_or_null(raw: Option<&RawValue>) -> Box<RawValue> {
    raw.map_or_else(|| RawValue::NULL.to_owned(), ToOwned::to_owned)
}

fn context(raw: Option<&RawValue>) -> Result<MessageContext, String> {
    match raw {
        None => Ok(MessageContext::default()),
        Some(raw) if raw.get() == "null" => Ok(MessageContext::default()),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| format!("invalid `context`: {e}")),
    }
}

/// The request id of a frame, if it has a readable one.
pub(crate) fn read_request_id(text: &str) -> Option<Box<RawValue>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let fields: Fields<'_> = serde_json::from_str(text).ok()?;
    fields.request_id.map(ToOwned::to_owned)
}

/// Writes `{"type":"request",...}` into `out`.
pub(crate) fn encode_request(
    out: &mut Vec<u8>,
    id: u64,
    name: &str,
    payload: &Payload,
    context: &MessageContext,
) -> Result<(), serde_json::Error> {
    write!(out, r#"{{"type":"request","requestId":"{id}""#).map_err(serde_json::Error::io)?;
    out.extend_from_slice(br#","requestType":"#);
    serde_json::to_writer(&mut *out, name)?;
    out.extend_from_slice(br#","payload":"#);
    payload.write_json(out)?;
    out.extend_from_slice(br#","context":"#);
    serde_json::to_writer(&mut *out, context)?;
    out.push(b'}');
    Ok(())
}

/// Writes `{"type":"cancel","requestId":"…"}` into `out`.
pub(crate) fn encode_cancel(out: &mut Vec<u8>, id: u64) {
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, r#"{{"type":"cancel","requestId":"{id}"}}"#);
}

/// Writes `{"type":"response",...}` into `out`, echoing the request id as it was sent.
pub(crate) fn encode_response(
    out: &mut Vec<u8>,
    id: &RawValue,
    result: &Result<Payload, WireError>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"response","requestId":"#);
    out.extend_from_slice(id.get().as_bytes());
    match result {
        Ok(payload) => {
            out.extend_from_slice(br#","success":true,"data":"#);
            payload.write_json(out)?;
        }
        Err(error) => {
            out.extend_from_slice(br#","success":false,"error":"#);
            serde_json::to_writer(&mut *out, error)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes `{"type":"event",...}` into `out`.
pub(crate) fn encode_event(
    out: &mut Vec<u8>,
    name: &str,
    payload: &Payload,
    context: &MessageContext,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"type":"event","event":"#);
    serde_json::to_writer(&mut *out, name)?;
    out.extend_from_slice(br#","payload":"#);
    payload.write_json(out)?;
    out.extend_from_slice(br#","context":"#);
    serde_json::to_writer(&mut *out, context)?;
    out.push(b'}');
    Ok(())
}

/// The `BAD_MESSAGE` (400) answer to a frame that could not be read.
pub(crate) fn bad_message(reason: &str) -> WireError {
    WireError::new(BAD_MESSAGE, 400, format!("bad message: {reason}"))
}

/// Sizes the buffer each frame is encoded into after the frames before it, so that encoding
/// seldom has to grow (and copy) its buffer.
#[derive(Debug, Default)]
pub(crate) struct BufferSize(usize);

impl BufferSize {
    /// A buffer as large as the frames of late, with room to spare.
    pub(crate) fn buffer(&self) -> Vec<u8> {
        Vec::with_capacity((self.0 + self.0 / 8).max(256))
    }

    /// Remembers the size of a frame just encoded (within reason: one huge frame should not
    /// make every buffer after it huge).
    pub(crate) fn saw(&mut self, len: usize) {
        self.0 = len.min(64 * 1024);
    }
}
