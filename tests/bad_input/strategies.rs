//! The cases' frames: the strategies the properties draw from (junk bytes, mutated, duplicated
//! and deep-or-huge frames, valid requests), and how a frame is mutated.

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::BoxedStrategy;

use crate::frames::{any_frame, request_body, request_frame, request_id};
use crate::oracle::ENVELOPE;
use crate::values::{any_value, deep, json_string, json_value, number, object};

/// One frame of a case.
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    /// Sent as they are: as text when `binary` is false and they are UTF-8.
    Bytes { bytes: Vec<u8>, binary: bool },
    /// A JSON frame with `@ID@`/`@NUM@` where fresh request ids go, then mutated.
    Frame { text: String, binary: bool, mutations: Vec<Mutation> },
}

/// One change to a frame's bytes.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, u8),
    Splice(Index, &'static str),
}

impl Mutation {
    pub(crate) fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |index: &Index, bytes: &Vec<u8>| index.index(bytes.len() + 1);
        match self {
            Self::Truncate(i) => bytes.truncate(at(i, bytes)),
            Self::Flip(i, mask) => {
                if !bytes.is_empty() {
                    let i = i.index(bytes.len());
                    bytes[i] ^= mask.max(&1);
                }
            }
            Self::Insert(i, inserted) => {
                let i = at(i, bytes);
                bytes.splice(i..i, inserted.iter().copied());
            }
            Self::Delete(i, n) => {
                let i = at(i, bytes);
                let end = (i + usize::from(*n)).min(bytes.len());
                bytes.drain(i..end);
            }
            Self::Splice(i, token) => {
                let i = at(i, bytes);
                bytes.splice(i..i, token.bytes());
            }
        }
    }
}

/// JSON fragments that parsers trip over.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "null",
    "1e400",
    "-",
    "0x1",
    "NaN",
    "Infinity",
    "\u{0}",
    "\u{feff}",
    "\"requestId\":",
    "\"type\":\"request\",",
    "\"type\":\"cancel\",",
    "\"requestId\":\"dup\",",
    ",\"x\":1",
    "  ",
    "\n",
    "\u{1F600}",
    "\u{7f}",
];

/// A frame of any type with one or two envelope fields written once more (the key now and
/// then spelt with an escape, `"\u0074ype"`), at the start or the end of the object.
pub(crate) fn duplicated() -> BoxedStrategy<Spec> {
    let value = prop_oneof![
        2 => request_id(),
        2 => select(&[r#""request""#, r#""event""#, r#""cancel""#, r#""getOrderById""#][..])
            .prop_map(str::to_owned),
        1 => any_value(),
    ];
    let extra = (select(&ENVELOPE[..]), prop::bool::weighted(0.2), value, any::<bool>());
    (any_frame(0), prop::collection::vec(extra, 1..3), prop::bool::weighted(0.1))
        .prop_map(|(mut text, extras, binary)| {
            for (key, escaped, value, first) in extras {
                text = with_entry(&text, key, escaped, &value, first);
            }
            Spec::Frame { text, binary, mutations: Vec::new() }
        })
        .boxed()
}

/// `object` (the text of a JSON object) with one more entry, first or last; `escaped`
/// spells the key's first character as a `\u` escape.
fn with_entry(object: &str, key: &str, escaped: bool, value: &str, first: bool) -> String {
    let key = match key.chars().next() {
        Some(c) if escaped => format!(r#""\u{:04x}{}""#, u32::from(c), &key[c.len_utf8()..]),
        _ => json_string(key),
    };
    let entry = format!("{key}:{value}");
    let inner = object.strip_prefix('{').and_then(|o| o.strip_suffix('}')).unwrap_or_default();
    match (inner.is_empty(), first) {
        (true, _) => format!("{{{entry}}}"),
        (false, true) => format!("{{{entry},{inner}}}"),
        (false, false) => format!("{{{inner},{entry}}}"),
    }
}

pub(crate) fn frame(text: BoxedStrategy<String>) -> BoxedStrategy<Spec> {
    (text, prop::bool::weighted(0.1))
        .prop_map(|(text, binary)| Spec::Frame { text, binary, mutations: Vec::new() })
        .boxed()
}

pub(crate) fn valid_request() -> BoxedStrategy<Spec> {
    request_frame(0, request_id)
        .prop_map(|text| Spec::Frame { text, binary: false, mutations: Vec::new() })
        .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Truncate),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, m)| Mutation::Flip(i, m)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1u8..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::Splice(i, t)),
    ]
    .boxed()
}

pub(crate) fn junk() -> BoxedStrategy<Spec> {
    let token_soup = prop::collection::vec(select(TOKENS), 0..24).prop_map(|t| t.concat());
    prop_oneof![
        3 => (prop::collection::vec(any::<u8>(), 0..300), any::<bool>())
            .prop_map(|(bytes, binary)| Spec::Bytes { bytes, binary }),
        2 => (any::<String>(), prop::bool::weighted(0.2))
            .prop_map(|(s, binary)| Spec::Bytes { bytes: s.into_bytes(), binary }),
        2 => (token_soup, prop::bool::weighted(0.2))
            .prop_map(|(s, binary)| Spec::Bytes { bytes: s.into_bytes(), binary }),
        1 => json_value().prop_map(|s| Spec::Bytes { bytes: s.into_bytes(), binary: false }),
    ]
    .boxed()
}

/// A valid request, event or response frame, with one to four mutations.
pub(crate) fn mutated() -> BoxedStrategy<Spec> {
    (any_frame(0), prop::collection::vec(mutation(), 1..5), prop::bool::weighted(0.1))
        .prop_map(|(text, mutations, binary)| Spec::Frame { text, binary, mutations })
        .boxed()
}

/// A valid request with one slot (the id, the type, the payload, a payload field, the
/// context, a context field, an unknown field) replaced by deep JSON or a huge number.
pub(crate) fn deep_or_huge() -> BoxedStrategy<Spec> {
    let value = prop_oneof![deep(), number()];
    (request_body(0), value, 0..8u8)
        .prop_map(|((name, payload), value, slot)| {
            let mut fields = vec![
                ("type".to_owned(), json_string("request")),
                ("requestId".to_owned(), "@ID@".to_owned()),
                ("requestType".to_owned(), name),
                ("payload".to_owned(), payload),
            ];
            let inner = |entries: &[(&str, &str)]| {
                object(
                    &entries
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<Vec<_>>(),
                )
            };
            match slot {
                0 => fields[1].1 = value,
                1 => fields[2].1 = value,
                2 => fields[3].1 = value,
                3 => fields[3].1 = inner(&[("orderId", "\"order-1\""), ("extra", &value)]),
                4 => fields.push(("context".into(), value)),
                5 => fields
                    .push(("context".into(), inner(&[("metadata", &inner(&[("k", &value)]))]))),
                6 => fields.push(("context".into(), inner(&[("deadlineMs", &value)]))),
                _ => fields.push(("unknownField".into(), value)),
            }
            let text = object(&fields);
            Spec::Frame { text, binary: false, mutations: Vec::new() }
        })
        .boxed()
}

pub(crate) fn cases(frame: BoxedStrategy<Spec>) -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(frame, 1..5)
}
