//! JSON values: edge numbers, awkward strings, values of any type (a few levels deep, or far
//! deeper), and objects of fields in any order with unknown fields now and then.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;

use crate::oracle::ENVELOPE;

/// Numbers no native type holds, and other edge numbers.
const NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "1180591620717411303424",
    "-1180591620717411303424",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "4294967296",
    "1.7976931348623157e309",
    "4.9e-325",
    "1e-400",
    "123456789012345678901234567890.123456789e-3",
    "-0",
    "0.0",
    "1E+2",
    "1e+0000000000000000000000000000000000000000000001",
];

/// Strings that are valid JSON but awkward.
pub(crate) const STRINGS: &[&str] = &[
    r#""""#,
    r#"" ""#,
    r#""\u0000""#,
    r#""\ud800""#,
    r#""\udc00\ud800""#,
    r#""\uD83D\uDE00""#,
    r#""\"""#,
    r#""\\""#,
    r#""req\u0075est""#,
    r#""request""#,
    r#""event""#,
    r#""response""#,
    r#""Request""#,
    r#""getOrderById""#,
    r#""createOrder""#,
    r#""$login""#,
    r#""__proto__""#,
    r#""constructor""#,
];

pub(crate) fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

pub(crate) fn number() -> BoxedStrategy<String> {
    prop_oneof![
        select(NUMBERS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter_map("finite", |f| f.is_finite().then(|| format!("{f:e}"))),
        (1u32..400, any::<bool>()).prop_map(|(digits, negative)| {
            format!("{}{}", if negative { "-" } else { "" }, "9".repeat(digits as usize))
        }),
    ]
    .boxed()
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        number(),
        select(STRINGS).prop_map(str::to_owned),
        any::<String>().prop_map(|s| json_string(&s)),
        "[a-zA-Z0-9-]{0,12}".prop_map(|s| json_string(&s)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&ENVELOPE[..]).prop_map(str::to_owned),
        3 => "[a-zA-Z]{1,10}",
        1 => any::<String>(),
        1 => select(&["orderId", "items", "quantity", "deadlineMs", "metadata", "__proto__"][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

pub(crate) fn object(entries: &[(String, String)]) -> String {
    let body: Vec<String> =
        entries.iter().map(|(key, value)| format!("{}:{value}", json_string(key))).collect();
    format!("{{{}}}", body.join(","))
}

/// Any JSON value, a few levels deep.
pub(crate) fn json_value() -> BoxedStrategy<String> {
    scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key(), inner), 0..4).prop_map(|v| object(&v)),
            ]
        })
        .boxed()
}

/// JSON nested far deeper than anything reads recursively (up to 100,000 levels), closed
/// or (a tenth of the time) not.
pub(crate) fn deep() -> BoxedStrategy<String> {
    (select(&[127usize, 128, 129, 1_000, 10_000, 10_000, 10_000, 100_000][..]), 0..4u8, 0..10u8)
        .prop_map(|(depth, shape, unclosed)| {
            let (open, close) = match shape {
                0 => ("[", "]"),
                1 => (r#"{"a":"#, "}"),
                2 => (r#"[{"orderId":"#, "}]"),
                _ => ("[1,", "]"),
            };
            let depth = if shape == 0 { depth } else { depth.min(20_000) };
            let mut out = open.repeat(depth);
            out.push('0');
            if unclosed != 0 {
                out.push_str(&close.repeat(depth));
            }
            out
        })
        .boxed()
}

/// A value of any type at all: mostly ordinary JSON, sometimes deep or a huge number.
pub(crate) fn any_value() -> BoxedStrategy<String> {
    prop_oneof![8 => json_value(), 1 => deep(), 2 => number()].boxed()
}

/// An object's field, as its key and value, or `None` when it is left out.
pub(crate) type Field = BoxedStrategy<Option<(String, String)>>;

/// A field that is mostly `valid`, sometimes of any type at all, sometimes missing.
pub(crate) fn field(name: &'static str, valid: BoxedStrategy<String>, wrong: u32) -> Field {
    prop_oneof![
        16 => valid.prop_map(move |v| Some((name.to_owned(), v))),
        wrong => any_value().prop_map(move |v| Some((name.to_owned(), v))),
        1 => Just(None),
    ]
    .boxed()
}

/// An object of these fields, in any order, with unknown fields now and then.
pub(crate) fn object_of(fields: Vec<Field>, wrong: u32) -> BoxedStrategy<String> {
    let extras = prop_oneof![
        6 => Just(Vec::new()),
        wrong => prop::collection::vec((key(), any_value()), 1..3),
    ];
    (fields, extras)
        .prop_flat_map(|(fields, extras)| {
            let entries: Vec<(String, String)> =
                fields.into_iter().flatten().chain(extras).collect();
            Just(entries).prop_shuffle()
        })
        .prop_map(|entries| object(&entries))
        .boxed()
}

pub(crate) fn text_of(pattern: &'static str) -> BoxedStrategy<String> {
    pattern.prop_map(|s| json_string(&s)).boxed()
}
