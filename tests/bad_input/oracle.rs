//! The oracle: what the README's table says a frame gets, decided from the frame's bytes alone
//! (independently of how the frame was generated).

use std::fmt;

use contracts::order::{CancelOrder, CreateOrder, GetOrderById, UpdateOrderStatus};
use messaging_runtime::MessageContext;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a frame gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Nothing: a valid event or a valid cancel.
    Never,
    /// `BAD_MESSAGE` (400), in frame order with the other `BAD_MESSAGE` answers.
    BadMessage,
    /// `UNKNOWN_REQUEST_TYPE` (404).
    UnknownType,
    /// `INVALID_PAYLOAD` (400).
    InvalidPayload,
    /// The handler's answer: success, or any error but the three above.
    Handled,
    /// The probe: `ORDER_NOT_FOUND` (404).
    Probe,
}

/// An answer's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Error { code: String, status: u16 },
}

impl Expect {
    pub(crate) fn allows(self, outcome: &Outcome) -> bool {
        let error = |want: &str, want_status: u16| matches!(outcome, Outcome::Error { code, status } if code == want && *status == want_status);
        match self {
            Self::Never => false,
            Self::BadMessage => error("BAD_MESSAGE", 400),
            Self::UnknownType => error("UNKNOWN_REQUEST_TYPE", 404),
            Self::InvalidPayload => error("INVALID_PAYLOAD", 400),
            Self::Probe => error("ORDER_NOT_FOUND", 404),
            Self::Handled => match outcome {
                Outcome::Success => true,
                Outcome::Error { code, .. } => !matches!(
                    code.as_str(),
                    "BAD_MESSAGE" | "UNKNOWN_REQUEST_TYPE" | "INVALID_PAYLOAD"
                ),
            },
        }
    }
}

/// What the oracle says of one frame.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub(crate) expect: Expect,
    /// The `requestId` its answer carries, as raw JSON: `null` when it has no valid one.
    pub(crate) id: String,
    /// For a valid cancel, the request id it names.
    pub(crate) cancels: Option<String>,
}

impl Verdict {
    /// `BAD_MESSAGE` under `id`, or under `null`.
    fn bad(id: Option<&str>) -> Self {
        Self { expect: Expect::BadMessage, id: id.unwrap_or("null").to_owned(), cancels: None }
    }
}

/// A JSON object's entries in order, duplicates kept, values as raw JSON.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Entry)
    }
}

/// The fields a frame's envelope has; a duplicate of one of them makes the frame bad.
pub(crate) const ENVELOPE: [&str; 9] =
    ["type", "requestId", "requestType", "event", "payload", "context", "success", "data", "error"];

/// Whether raw JSON is a valid request id: a non-empty string or a number.
fn valid_id(raw: &str) -> bool {
    (raw.starts_with('"') && raw != "\"\"")
        || raw.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// What the README's table says `bytes` (sent as a binary frame when `binary`) gets.
pub(crate) fn classify(bytes: &[u8], binary: bool) -> Verdict {
    let Ok(text) = std::str::from_utf8(bytes) else { return Verdict::bad(None) };
    // Not JSON, or JSON that is not an object (serde reads a map from nothing else).
    let Ok(Entries(entries)) = serde_json::from_str::<Entries>(text) else {
        return Verdict::bad(None);
    };
    let all = |field: &'static str| entries.iter().filter(move |(key, _)| key == field);
    let get = |field: &'static str| all(field).next().map(|(_, v)| v.get());
    let id = get("requestId").filter(|raw| all("requestId").count() == 1 && valid_id(raw));
    if ENVELOPE.iter().any(|field| all(field).count() > 1) {
        return Verdict::bad(id);
    }
    if get("requestId").is_some() && id.is_none() {
        return Verdict::bad(None);
    }
    if binary {
        return Verdict::bad(id);
    }
    let string = |raw: Option<&str>| {
        raw.and_then(|raw| serde_json::from_str::<String>(raw).ok()).filter(|s| !s.is_empty())
    };
    let context_ok = || match get("context") {
        None | Some("null") => true,
        Some(raw) => serde_json::from_str::<MessageContext>(raw).is_ok(),
    };
    let expect = match (string(get("type")).as_deref(), id) {
        (Some("request"), Some(_)) => match string(get("requestType")) {
            Some(name) if context_ok() => request(&name, get("payload").unwrap_or("null")),
            _ => Expect::BadMessage,
        },
        (Some("event"), _) if string(get("event")).is_some() && context_ok() => Expect::Never,
        (Some("cancel"), Some(id)) => {
            let id = Some(id.to_owned());
            return Verdict { expect: Expect::Never, id: "null".into(), cancels: id };
        }
        _ => Expect::BadMessage,
    };
    Verdict { expect, id: id.unwrap_or("null").to_owned(), cancels: None }
}

/// What a request of type `name` with this payload gets.
fn request(name: &str, payload: &str) -> Expect {
    match name {
        "createOrder" => decodes::<CreateOrder>(payload),
        "getOrderById" => decodes::<GetOrderById>(payload),
        "updateOrderStatus" => decodes::<UpdateOrderStatus>(payload),
        "cancelOrder" => decodes::<CancelOrder>(payload),
        _ => Expect::UnknownType,
    }
}

/// `Handled` when the payload decodes into `T`, else `InvalidPayload`.
fn decodes<T: for<'de> Deserialize<'de>>(payload: &str) -> Expect {
    match serde_json::from_str::<T>(payload) {
        Ok(_) => Expect::Handled,
        Err(_) => Expect::InvalidPayload,
    }
}
