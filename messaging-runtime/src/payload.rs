//! A message body: a typed value while it stays in the process, raw JSON once it has been
//! on the wire. Serialisation happens only when a frame actually leaves the process.

use core::any::Any;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

/// A typed value that can still be turned into JSON if it has to cross a wire.
pub(crate) trait ErasedValue: Any + Send + Sync {
    /// Serialises the value.
    fn to_json(&self) -> Result<Box<RawValue>, serde_json::Error>;
    /// Serialises the value onto the end of `out`, with no intermediate buffer.
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error>;
    /// For downcasting a shared value.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting an owned value.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<T: Serialize + Send + Sync + 'static> ErasedValue for T {
    fn to_json(&self) -> Result<Box<RawValue>, serde_json::Error> {
        serde_json::value::to_raw_value(self)
    }
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// The body of a request, a response or an event: a typed value in the process (owned, or
/// shared by the receivers of one event), or JSON text that came off a wire. Which one is
/// the runtime's business; read it with [`Payload::decode`] or [`Payload::to_json`].
pub struct Payload(Repr);

enum Repr {
    /// An owned typed value (a request or a response inside the process).
    Value(Box<dyn ErasedValue>),
    /// A typed value shared by many receivers (an event fanned out inside the process).
    Shared(Arc<dyn ErasedValue>),
    /// JSON text that came off a wire.
    Json(Box<RawValue>),
    /// Text that came off a wire as JSON and was not checked yet: the decode that reads it
    /// checks it, so the text is read once rather than once to check and once to decode.
    Text(Box<str>),
    /// The data of a response frame, not read yet: `frame[start..]` up to the frame's last
    /// `}` when the data is the frame's last field (as this library's servers write it);
    /// otherwise the frame's `data` field, found by reading the whole frame.
    #[cfg_attr(
        not(feature = "ws"),
        allow(dead_code, reason = "only the ws:// and tcp:// clients read frames")
    )]
    Response { frame: String, start: usize },
}

impl core::fmt::Debug for Payload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Repr::Value(_) => f.write_str("Payload(typed ..)"),
            Repr::Shared(_) => f.write_str("Payload(shared ..)"),
            Repr::Json(raw) => write!(f, "Payload({})", raw.get()),
            Repr::Text(text) => write!(f, "Payload(unchecked {text})"),
            Repr::Response { frame, .. } => write!(f, "Payload(data of {frame})"),
        }
    }
}

pub use crate::wire::DecodeError;

impl Payload {
    /// Wraps an owned typed value.
    pub fn typed<T: Serialize + Send + Sync + 'static>(value: T) -> Self {
        Self(Repr::Value(Box::new(value)))
    }

    /// Wraps a typed value to be shared by many receivers.
    pub fn shared<T: Serialize + Send + Sync + 'static>(value: T) -> Self {
        Self(Repr::Shared(Arc::new(value)))
    }

    /// Wraps JSON text that came off a wire (what a transport hands the runtime).
    pub fn json(raw: Box<RawValue>) -> Self {
        Self(Repr::Json(raw))
    }

    /// Wraps text that came off a wire as JSON, unchecked: decoding it checks that it is
    /// one JSON value (and fails with a [`DecodeError`] if not), and so does writing it into
    /// a frame ([`Payload::write_json`]), so an unchecked payload never reaches a wire as
    /// is. Cheaper than [`Payload::json`] for a payload that is decoded anyway: the text is
    /// read once.
    pub fn json_text(text: impl Into<Box<str>>) -> Self {
        Self(Repr::Text(text.into()))
    }

    /// The `data` of a successful response frame (`frame`, a JSON object), which is read
    /// only by the decode into the caller's type: `start` is where the data begins when it
    /// is the frame's last field, as this library's servers write it. When it is not (a peer
    /// that writes more fields after it), the decode finds it by reading the whole frame.
    #[cfg_attr(
        not(feature = "ws"),
        allow(dead_code, reason = "only the ws:// and tcp:// clients read frames")
    )]
    pub(crate) fn response_data(frame: impl Into<String>, start: usize) -> Self {
        Self(Repr::Response { frame: frame.into(), start })
    }

    /// The length of the response frame this payload is the data of, if it is one.
    #[cfg_attr(
        not(feature = "ws"),
        allow(dead_code, reason = "only the ws:// and tcp:// clients read frames")
    )]
    #[inline]
    pub(crate) fn frame_len(&self) -> Option<usize> {
        match &self.0 {
            Repr::Response { frame, .. } => Some(frame.len()),
            _ => None,
        }
    }

    /// Whether this is JSON text off a wire rather than a typed value.
    pub fn is_json(&self) -> bool {
        matches!(self.0, Repr::Json(_) | Repr::Text(_) | Repr::Response { .. })
    }

    /// Another handle to a shared payload. Owned typed values are not shared, so for them
    /// (never produced by fan-out) this serialises; call it on a payload made with
    /// [`Payload::shared`] (or turned so by [`Payload::into_shared`]) or with
    /// [`Payload::json`].
    pub fn share(&self) -> Self {
        Self(match &self.0 {
            Repr::Shared(value) => Repr::Shared(Arc::clone(value)),
            Repr::Json(raw) => Repr::Json(raw.clone()),
            Repr::Text(text) => Repr::Text(text.clone()),
            Repr::Response { frame, start } => {
                Repr::Response { frame: frame.clone(), start: *start }
            }
            Repr::Value(value) => match value.to_json() {
                Ok(raw) => Repr::Json(raw),
                Err(e) => Repr::Json(error_json(&e)),
            },
        })
    }

    /// Turns an owned typed value into a shared one, so it can be handed to many receivers.
    #[must_use]
    pub fn into_shared(self) -> Self {
        match self.0 {
            Repr::Value(value) => Self(Repr::Shared(Arc::from(value))),
            other => Self(other),
        }
    }

    /// Decodes into `T`: a downcast for typed values, JSON decoding for wire payloads.
    pub fn decode<T: DeserializeOwned + Clone + 'static>(self) -> Result<T, DecodeError> {
        match self.0 {
            Repr::Value(value) => {
                value.into_any().downcast::<T>().map(|b| *b).map_err(|_| mismatch::<T>())
            }
            Repr::Shared(value) => {
                value.as_any().downcast_ref::<T>().cloned().ok_or_else(mismatch::<T>)
            }
            Repr::Json(raw) => decode_json(raw.get()),
            Repr::Text(text) => decode_json(&text),
            Repr::Response { frame, start } => decode_response_data(&frame, start),
        }
    }

    /// Decodes an owned payload into `T` without requiring `Clone`; a shared payload is
    /// decoded through JSON.
    pub fn decode_owned<T: DeserializeOwned + 'static>(self) -> Result<T, DecodeError> {
        match self.0 {
            Repr::Value(value) => {
                value.into_any().downcast::<T>().map(|b| *b).map_err(|_| mismatch::<T>())
            }
            Repr::Shared(value) => {
                let raw = value.to_json().map_err(|e| DecodeError::whole(e.to_string()))?;
                decode_json(raw.get())
            }
            Repr::Json(raw) => decode_json(raw.get()),
            Repr::Text(text) => decode_json(&text),
            Repr::Response { frame, start } => decode_response_data(&frame, start),
        }
    }

    /// Appends the JSON text of this payload to `out`, serialising a typed value if needed.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match &self.0 {
            Repr::Value(value) => value.write_json(out),
            Repr::Shared(value) => value.write_json(out),
            Repr::Json(raw) => {
                out.extend_from_slice(raw.get().as_bytes());
                Ok(())
            }
            Repr::Text(text) => {
                let checked: &RawValue = serde_json::from_str(text)?;
                out.extend_from_slice(checked.get().as_bytes());
                Ok(())
            }
            Repr::Response { frame, start } => {
                out.extend_from_slice(response_data_json(frame, *start)?.get().as_bytes());
                Ok(())
            }
        }
    }

    /// The JSON text of this payload, serialising a typed value if needed.
    pub fn to_json(&self) -> Result<Box<RawValue>, serde_json::Error> {
        match &self.0 {
            Repr::Value(value) => value.to_json(),
            Repr::Shared(value) => value.to_json(),
            Repr::Json(raw) => Ok(raw.clone()),
            Repr::Text(text) => RawValue::from_string(text.to_string()),
            Repr::Response { frame, start } => Ok(response_data_json(frame, *start)?.to_owned()),
        }
    }
}

/// The text of a response frame's data when it is the frame's last field.
fn last_field(frame: &str, start: usize) -> &str {
    frame.get(start..frame.len().saturating_sub(1)).unwrap_or_default()
}

/// A response frame's `data`, read whole (for a frame whose data is not its last field).
#[derive(serde::Deserialize)]
struct DataField<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Decodes a response frame's data, read once when it is the frame's last field.
fn decode_response_data<T: DeserializeOwned>(frame: &str, start: usize) -> Result<T, DecodeError> {
    match decode_json(last_field(frame, start)) {
        Ok(value) => Ok(value),
        Err(first) => match serde_json::from_str::<DataField<'_>>(frame) {
            Ok(field) => decode_json(field.data.get()),
            Err(_) => Err(first),
        },
    }
}

/// A response frame's data as checked JSON.
fn response_data_json(frame: &str, start: usize) -> Result<&RawValue, serde_json::Error> {
    serde_json::from_str(last_field(frame, start))
        .or_else(|_| serde_json::from_str::<DataField<'_>>(frame).map(|field| field.data))
}

fn mismatch<T>() -> DecodeError {
    DecodeError::whole(format!("payload is not a `{}`", core::any::type_name::<T>()))
}

/// Decodes JSON text, reporting the path to the value that did not fit.
fn decode_json<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    // The common case pays nothing for path tracking; only a failure decodes again to find
    // where it went wrong.
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        DecodeError { path: (path != ".").then_some(path), reason }
    })?;
    de.end().map_err(|e| DecodeError::whole(e.to_string()))?;
    Ok(value)
}

fn error_json(e: &serde_json::Error) -> Box<RawValue> {
    let text = serde_json::json!({ "serializationError": e.to_string() }).to_string();
    RawValue::from_string(text).unwrap_or_else(|_| Box::<RawValue>::default())
}

/// Sizes the buffer each frame or body is encoded into after the ones before it, so that
/// encoding seldom has to grow (and copy) its buffer. Shared by the encoders of a
/// connection's task (`ws://`, `tcp://`) and of an endpoint's replies (`nats://`), which
/// may be on several tasks: hence the atomic.
#[cfg(any(feature = "ws", feature = "nats"))]
#[derive(Debug, Default)]
pub(crate) struct BufferSize(std::sync::atomic::AtomicUsize);

#[cfg(any(feature = "ws", feature = "nats"))]
impl BufferSize {
    /// A buffer as large as the frames of late, with room to spare.
    pub(crate) fn buffer(&self) -> Vec<u8> {
        Vec::with_capacity(self.capacity())
    }

    /// The capacity of [`BufferSize::buffer`]: the last size, with room to spare.
    pub(crate) fn capacity(&self) -> usize {
        let last = self.0.load(std::sync::atomic::Ordering::Relaxed);
        (last + last / 8).max(256)
    }

    /// Remembers the size of a frame just encoded (within reason: one huge frame should not
    /// make every buffer after it huge).
    pub(crate) fn saw(&self, len: usize) {
        self.0.store(len.min(64 * 1024), std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Point {
        x: i32,
    }

    #[test]
    fn typed_values_downcast_and_json_decodes() {
        assert_eq!(Payload::typed(Point { x: 1 }).decode_owned::<Point>(), Ok(Point { x: 1 }));
        let shared = Payload::shared(Point { x: 2 });
        assert_eq!(shared.share().decode::<Point>(), Ok(Point { x: 2 }));
        assert_eq!(shared.decode_owned::<Point>(), Ok(Point { x: 2 }));
        let raw = RawValue::from_string(r#"{"x":3}"#.into()).expect("valid");
        assert_eq!(Payload::json(raw).decode::<Point>(), Ok(Point { x: 3 }));
    }

    #[test]
    fn mismatches_say_what_was_expected() {
        let err = Payload::typed(5_u8).decode_owned::<Point>().expect_err("wrong type");
        assert!(err.reason.contains("Point"), "{err}");
        let raw = RawValue::from_string(r#"{"x":"no"}"#.into()).expect("valid");
        let err = Payload::json(raw).decode::<Point>().expect_err("wrong field type");
        assert!(err.reason.contains("invalid type"), "{err}");
        assert_eq!(err.path.as_deref(), Some("x"));
    }

    #[test]
    fn unchecked_text_is_checked_when_read_and_before_it_is_written() {
        assert_eq!(Payload::json_text(r#"{"x":4}"#).decode::<Point>(), Ok(Point { x: 4 }));
        let trailing = Payload::json_text(r#"{"x":4},"data":{"x":5}"#);
        let err = trailing.decode::<Point>().expect_err("one value and nothing else");
        assert!(err.reason.contains("trailing characters"), "{err}");
        let mut out = Vec::new();
        let written = Payload::json_text(r#"1,"injected":true"#).write_json(&mut out);
        assert!(written.is_err() && out.is_empty(), "unchecked text never reaches a wire");
        Payload::json_text(" [1, 2] ").write_json(&mut out).expect("valid JSON is written");
        assert_eq!(out, b"[1, 2]");
        assert!(Payload::json_text("nope").to_json().is_err());
    }

    #[test]
    fn response_data_is_read_once_and_found_whatever_follows_it() {
        let ours = r#"{"type":"response","requestId":"1","success":true,"data":{"x":6}}"#;
        let start = ours.find(r#"{"x""#).expect("data");
        assert_eq!(Payload::response_data(ours, start).decode::<Point>(), Ok(Point { x: 6 }));
        let more = r#"{"type":"response","requestId":"1","success":true,"data":{"x":7},"at":1}"#;
        let start = more.find(r#"{"x""#).expect("data");
        let payload = Payload::response_data(more, start);
        assert_eq!(payload.share().decode::<Point>(), Ok(Point { x: 7 }), "found by a full read");
        assert_eq!(payload.to_json().expect("checked").get(), r#"{"x":7}"#);
        let twice = r#"{"type":"response","requestId":"1","success":true,"data":1,"data":2}"#;
        let start = twice.find("1,").expect("data");
        let err = Payload::response_data(twice, start).decode::<u8>().expect_err("ambiguous");
        assert!(err.reason.contains("trailing characters"), "{err}");
    }
}
