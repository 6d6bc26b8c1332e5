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
//! A request id is a non-empty JSON string or a JSON number, kept as raw JSON and echoed byte
//! for byte (`1e400` stays `1e400`); any other `requestId`, on any frame, makes the frame
//! bad, and so does an envelope field that appears twice. A frame that cannot be read is
//! answered `BAD_MESSAGE` under its request id when it has a valid one, else under `null`.
//!
//! Decoding reads the frame in one pass when it is one of these shapes; a frame that is not
//! (a duplicate field included) is read again field by field, so that one malformed field
//! still leaves the request id readable for the error answer. Payloads stay raw JSON until
//! dispatch picks their type.

use std::borrow::Cow;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::context::MessageContext;
use crate::error::WireError;

mod encode;

pub(crate) use crate::payload::BufferSize;
pub(crate) use encode::{encode_cancel, encode_event, encode_request, encode_response};

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

/// A frame that could not be read: why, and the request id when it has a valid one.
#[derive(Debug)]
pub(crate) struct BadFrame {
    pub(crate) id: Option<Box<RawValue>>,
    pub(crate) reason: String,
}

/// The envelope's fields as [`decode_fields`] reads them: each raw, so that one of the wrong
/// type still leaves the others (the request id above all) readable.
#[derive(Default)]
struct Fields<'a> {
    kind: Option<&'a RawValue>,
    request_id: Option<&'a RawValue>,
    request_type: Option<&'a RawValue>,
    event: Option<&'a RawValue>,
    payload: Option<&'a RawValue>,
    context: Option<&'a RawValue>,
    success: Option<&'a RawValue>,
    data: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
    /// The first envelope field the object has twice, if any.
    duplicate: Option<&'static str>,
    /// Whether `requestId` itself appears more than once.
    id_repeated: bool,
}

impl<'a> Fields<'a> {
    /// Reads the envelope's fields off a JSON object, noting duplicates; other keys are
    /// ignored. `Err` when the text is not one JSON object.
    fn read(text: &'a str) -> Result<Self, String> {
        // serde would read a map from nothing else, but say so before it tries.
        if !text.trim_start().starts_with('{') {
            return Err(NOT_AN_OBJECT.into());
        }
        let Entries(entries) = serde_json::from_str(text)
            .map_err(|e| format!("frame is not valid JSON: {e}; expected one JSON object"))?;
        let mut fields = Self::default();
        for (key, value) in entries {
            let Some((name, slot)) = fields.slot(&key) else { continue };
            if slot.is_none() {
                *slot = Some(value);
                continue;
            }
            fields.id_repeated |= name == "requestId";
            fields.duplicate.get_or_insert(name);
        }
        Ok(fields)
    }

    /// The envelope field named `key`, with its name; `None` for any other key.
    fn slot(&mut self, key: &str) -> Option<(&'static str, &mut Option<&'a RawValue>)> {
        Some(match key {
            "type" => ("type", &mut self.kind),
            "requestId" => ("requestId", &mut self.request_id),
            "requestType" => ("requestType", &mut self.request_type),
            "event" => ("event", &mut self.event),
            "payload" => ("payload", &mut self.payload),
            "context" => ("context", &mut self.context),
            "success" => ("success", &mut self.success),
            "data" => ("data", &mut self.data),
            "error" => ("error", &mut self.error),
            _ => return None,
        })
    }

    /// The id an answer goes under: the `requestId` when it appears once and is valid.
    fn answer_id(&self) -> Option<Box<RawValue>> {
        match self.request_id {
            Some(id) if !self.id_repeated && valid_id(id) => Some(id.to_owned()),
            _ => None,
        }
    }

    /// Checks what every frame must meet, whatever its type: no envelope field twice, and a
    /// valid `requestId` when it has one. `Ok` carries that id.
    fn check(&self) -> Result<Option<Box<RawValue>>, BadFrame> {
        let id = self.answer_id();
        if let Some(name) = self.duplicate {
            return Err(BadFrame { id, reason: format!("duplicate field `{name}`") });
        }
        match self.request_id {
            Some(raw) if id.is_none() => Err(BadFrame { id: None, reason: invalid_id(raw) }),
            _ => Ok(id),
        }
    }
}

/// Why a frame that does not start like an object is not a frame.
const NOT_AN_OBJECT: &str = "frame is not a JSON object: expected `{\"type\":…}`";

/// A JSON object's entries in order, duplicates kept, values left raw (keys unescaped).
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Collects the entries of a map.
        struct Collect;
        impl<'de> Visitor<'de> for Collect {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Collect)
    }
}

/// The frame shapes read in one pass: the context and a failed response's error are decoded
/// in place, and nothing is copied but what the frame keeps. Any frame this does not read
/// exactly as [`decode_fields`] would goes through that instead, which says what is wrong.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    // `null` read as present (an `Option` alone would take it for a missing id).
    #[serde(borrow, default, deserialize_with = "present")]
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

/// A field that is there, whatever its value, `null` included.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(deserializer).map(Some)
}

/// A successful response that starts as this library's servers write it
/// (`{"type":"response","requestId":"ID","success":true,"data":DATA}`, see
/// [`encode_response`]), split without reading its data: the request id and where the data
/// starts. The data is then read once, by the decode into the caller's type
/// ([`Payload::response_data`], which reads the whole frame only when more fields follow the
/// data). `None` for any other frame, which goes through [`decode`].
pub(crate) fn successful_response(text: &str) -> Option<(&str, usize)> {
    const START: &str = r#"{"type":"response","requestId":""#;
    const SUCCESS: &str = r#"","success":true,"data":"#;
    let rest = text.strip_prefix(START)?;
    let end = rest.find('"')?;
    let id = &rest[..end];
    if id.is_empty() || id.contains('\\') || !rest[end..].starts_with(SUCCESS) {
        return None;
    }
    Some((id, START.len() + end + SUCCESS.len()))
}

/// Reads one text frame.
pub(crate) fn decode(text: &str) -> Result<Frame<'_>, BadFrame> {
    // serde would read a struct from an array too; the protocol's frames are objects.
    if !text.trim_start().starts_with('{') {
        return Err(BadFrame { id: None, reason: NOT_AN_OBJECT.into() });
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
                id: valid(self.request_id?)?.to_owned(),
                name: non_empty(self.request_type?)?,
                payload: payload_or_null(self.payload),
                context: self.context.unwrap_or_default(),
            }),
            "event" => {
                // An event needs no id, but one it has must be valid.
                if self.request_id.is_some_and(|id| !valid_id(id)) {
                    return None;
                }
                Some(Frame::Event {
                    name: non_empty(self.event?)?,
                    payload: payload_or_null(self.payload),
                    context: self.context.unwrap_or_default(),
                })
            }
            "cancel" => Some(Frame::Cancel { id: valid(self.request_id?)?.to_owned() }),
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
/// request id when it has a valid one. Every frame is checked first for duplicate envelope
/// fields and an invalid `requestId` (see [`Fields::check`]).
fn decode_fields(text: &str) -> Result<Frame<'static>, BadFrame> {
    let fields = Fields::read(text).map_err(|reason| BadFrame { id: None, reason })?;
    let id = fields.check()?;
    let bad = |reason: String| BadFrame { id: id.clone(), reason };
    let kind = string(fields.kind, "type").map_err(&bad)?;
    match kind.as_str() {
        "request" => Ok(Frame::Request {
            id: id.clone().ok_or_else(|| bad(no_id("request")))?,
            name: string(fields.request_type, "requestType").map_err(&bad)?,
            payload: payload_or_null(fields.payload),
            context: context(fields.context).map_err(&bad)?,
        }),
        "event" => Ok(Frame::Event {
            name: string(fields.event, "event").map_err(&bad)?,
            payload: payload_or_null(fields.payload),
            context: context(fields.context).map_err(&bad)?,
        }),
        "response" => decode_response(&fields).map_err(&bad),
        "cancel" => Ok(Frame::Cancel { id: id.clone().ok_or_else(|| bad(no_id("cancel")))? }),
        other => Err(bad(format!(
            "unknown frame type `{}`: expected `request`, `response`, `event` or `cancel`",
            snippet(other)
        ))),
    }
}

/// Why a frame of this type with no `requestId` is bad.
fn no_id(kind: &str) -> String {
    format!("{kind} frame has no `requestId`: expected a non-empty string or a number")
}

/// Why `raw` is not a request id.
fn invalid_id(raw: &RawValue) -> String {
    format!("`requestId` must be a non-empty string or a number, found `{}`", snippet(raw.get()))
}

/// Whether `raw` is a valid request id: a non-empty JSON string or a JSON number.
fn valid_id(raw: &RawValue) -> bool {
    // `raw` is valid JSON, so its first byte tells its type.
    match raw.get().as_bytes() {
        [b'"', b'"'] => false,
        [b'"', ..] | [b'-' | b'0'..=b'9', ..] => true,
        _ => false,
    }
}

/// `raw` when it is a valid request id.
fn valid(raw: &RawValue) -> Option<&RawValue> {
    valid_id(raw).then_some(raw)
}

/// Text quoted in an error message, cut to about 40 characters.
fn snippet(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(40) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// Reads a `response` frame's id and result.
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

/// A non-empty string field.
fn string(raw: Option<&RawValue>, field: &str) -> Result<String, String> {
    let raw = raw.ok_or_else(|| format!("frame has no `{field}`: expected a string"))?;
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) if !s.is_empty() => Ok(s),
        Ok(_) => Err(format!("`{field}` is empty: expected a non-empty string")),
        Err(_) => Err(format!("`{field}` must be a string, found `{}`", snippet(raw.get()))),
    }
}

/// A payload, `null` when it is missing.
fn payload_or_null(raw: Option<&RawValue>) -> Box<RawValue> {
    raw.map_or_else(|| RawValue::NULL.to_owned(), ToOwned::to_owned)
}

/// The message context, the default one when it is missing or `null`.
fn context(raw: Option<&RawValue>) -> Result<MessageContext, String> {
    match raw {
        None => Ok(MessageContext::default()),
        Some(raw) if raw.get() == "null" => Ok(MessageContext::default()),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| format!("invalid `context`: {e}")),
    }
}

/// The id an answer to a frame goes under, whatever the frame's shape: its `requestId` when
/// the frame is a JSON object in which it appears once and is valid.
pub(crate) fn read_request_id(text: &str) -> Option<Box<RawValue>> {
    Fields::read(text).ok()?.answer_id()
}

/// The error of a failed response sent under `"requestId":null`: the peer could not read a
/// frame of ours and could not tell which one.
pub(crate) fn read_unaddressed_error(text: &str) -> Option<WireError> {
    let fields = Fields::read(text).ok()?;
    let response = string(fields.kind, "type").ok()? == "response";
    if !response || fields.request_id?.get() != "null" {
        return None;
    }
    serde_json::from_str(fields.error?.get()).ok()
}

/// The `BAD_MESSAGE` (400) answer to a frame that could not be read.
pub(crate) fn bad_message(reason: &str) -> WireError {
    WireError::new(BAD_MESSAGE, 400, format!("bad message: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_response_is_split_without_reading_its_data() {
        let mut out = Vec::new();
        let id = RawValue::from_string(r#""42""#.into()).expect("valid");
        let data = crate::payload::Payload::typed(serde_json::json!({"x": [1, "}"]}));
        encode_response(&mut out, &id, &Ok(data)).expect("encodes");
        let text = std::str::from_utf8(&out).expect("utf-8");
        let (id, start) = successful_response(text).expect("our own shape");
        assert_eq!((id, &text[start..]), ("42", r#"{"x":[1,"}"]}}"#));
        for other in [
            r#"{"type":"response","requestId":"42","success":false,"error":{}}"#,
            r#"{"requestId":"42","type":"response","success":true,"data":1}"#,
            r#"{"type":"response","requestId":"4\"2","success":true,"data":1}"#,
            r#"{"type":"response","requestId":"","success":true,"data":1}"#,
        ] {
            assert_eq!(successful_response(other), None, "{other}");
        }
    }
}
