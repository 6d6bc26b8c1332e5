//! Reading the JSON Schema keywords `schemars` writes: references, nullability, types,
//! enum variants and required fields.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::contract::snapshot::Snapshot;

/// The definition a `{"$ref": "#/$defs/Name"}` points at, or the schema itself.
pub(super) fn resolve<'a>(schema: &'a Value, snapshot: &'a Snapshot) -> &'a Value {
    match ref_name(schema).and_then(|name| snapshot.definitions.get(name)) {
        Some(def) => def,
        None => schema,
    }
}

pub(super) fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/$defs/")
}

/// Whether a schema admits `null`: `"type": [.., "null"]` or an `anyOf` with a null branch.
pub(super) fn nullable(schema: &Map<String, Value>) -> bool {
    let null = |v: &Value| v.get("type") == Some(&Value::String("null".into()));
    let typed_null = match schema.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => false,
    };
    typed_null || schema.get("anyOf").and_then(Value::as_array).is_some_and(|b| b.iter().any(null))
}

/// The schema without its `null` alternative: `anyOf: [X, null]` becomes X (resolved).
pub(super) fn core(schema: &Map<String, Value>, snapshot: &Snapshot) -> Map<String, Value> {
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
        let rest: Vec<&Value> =
            branches.iter().filter(|b| b.get("type") != Some(&"null".into())).collect();
        if let [only] = rest.as_slice() {
            return resolve(only, snapshot).as_object().cloned().unwrap_or_default();
        }
    }
    schema.clone()
}

/// The `type` keyword as a set, without `null`.
pub(super) fn types(schema: &Map<String, Value>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    };
    set.remove("null");
    set
}

/// The variants of an enum, keyed by their wire name: `enum` values, or `oneOf`/`anyOf`
/// branches keyed by their `const`, their single `enum` value, their tag property's
/// `const` or their single required property (serde's enum representations).
pub(super) fn variants(
    schema: &Map<String, Value>,
    snapshot: &Snapshot,
) -> Option<Vec<(String, Value)>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(|v| (show(Some(v)), Value::Object(Map::new()))).collect());
    }
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let mut out = Vec::new();
    for (i, branch) in branches.iter().enumerate() {
        let resolved = resolve(branch, snapshot);
        out.push((variant_key(resolved).unwrap_or_else(|| format!("#{i}")), branch.clone()));
    }
    Some(out)
}

pub(super) fn variant_key(branch: &Value) -> Option<String> {
    if let Some(c) = branch.get("const") {
        return Some(show(Some(c)));
    }
    if let Some([only]) = branch.get("enum").and_then(Value::as_array).map(Vec::as_slice) {
        return Some(show(Some(only)));
    }
    let properties = branch.get("properties")?.as_object()?;
    if let Some((tag, c)) = properties.iter().find_map(|(k, v)| Some((k, v.get("const")?))) {
        return Some(format!("{tag}={}", show(Some(c))));
    }
    match branch.get("required")?.as_array()?.as_slice() {
        [Value::String(only)] => Some(only.clone()),
        _ => None,
    }
}

pub(super) fn required(schema: &Map<String, Value>) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

pub(super) fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" or ")
}

pub(super) fn show(value: Option<&Value>) -> String {
    match value {
        None => "none".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
