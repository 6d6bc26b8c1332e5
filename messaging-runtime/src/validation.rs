//! Validation of request and event payloads against the rules declared in the contract.
//!
//! Rules are written with the [`validator`] crate's attributes on the message type, and
//! `#[request]` / `#[event]` pick them up on their own:
//!
//! ```
//! use messaging_runtime::prelude::*;
//!
//! /// Creates an account.
//! #[request("createUser", response = String)]
//! #[derive(Debug, Clone, Serialize, Deserialize, Validate)]
//! pub struct CreateUser {
//!     /// 3 to 50 characters.
//!     #[validate(length(min = 3, max = 50))]
//!     pub username: String,
//!     /// A valid address.
//!     #[validate(email)]
//!     pub email: String,
//! }
//!
//! let bad = CreateUser { username: "al".into(), email: "nope".into() };
//! let failure = bad.validate_message().expect_err("breaks a rule");
//! assert_eq!(failure.to_string(), "validation failed: email (email), username (length)");
//! let wire = failure.to_wire();
//! assert_eq!((wire.code.as_str(), wire.status), ("VALIDATION_ERROR", Some(400)));
//! ```
//!
//! `Validate` comes with the prelude (it is `validator`'s derive and trait, re-exported as
//! [`crate::validator`]), so a contract crate needs no dependency of its own on `validator`
//! as long as `#[request]` / `#[event]` is written *above* `#[derive(.., Validate)]`, as
//! everywhere in these docs: the attribute then points the derive at the re-exported crate.
//! With the derive above the attribute (the attribute cannot see it), either depend on
//! `validator` 0.20 directly or add `#[validate(crate = "messaging_runtime::validator")]`.
//!
//! The runtime enforces the rules: the server checks every inbound request before its
//! handler runs and every event a client emits, and the client checks a request before
//! sending it. A failure travels as `VALIDATION_ERROR` (status 400) listing every failing
//! field; see [`ValidationFailure::to_wire`].

use core::fmt;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::wire::{codes, WireError};

/// The status a validation failure answers with.
pub const VALIDATION_STATUS: u16 = 400;

/// A message broke one or more of its rules: every failing field with its rule and message.
///
/// Built from `validator`'s [`ValidationErrors`] (nested structs and lists are flattened into
/// paths like `items[0].quantity`), sorted by path so its order, its message and its wire form
/// are deterministic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationFailure {
    fields: Vec<FieldFailure>,
}

/// One rule one field broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldFailure {
    /// The path to the field, by Rust field name: `username`, `address.city`,
    /// `items[0].quantity`; `__all__` (or `items[0].__all__`) for a struct-level rule.
    pub field: String,
    /// The rule's code: `length`, `email`, `range`, ..., or a custom rule's code.
    pub rule: String,
    /// A human-readable message: the rule's own `message = "..."` if it has one.
    pub message: String,
    /// The rule's parameters (`min`, `max`, ...). The rejected value is never included,
    /// so a password or a token does not travel back or end up in logs.
    #[serde(default)]
    pub params: Map<String, Value>,
}

impl FieldFailure {
    /// A failure of `rule` on `field`, with a message and no params.
    pub fn new(
        field: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self { field: field.into(), rule: rule.into(), message: message.into(), params: Map::new() }
    }
}

impl ValidationFailure {
    /// A failure made of these field failures (kept in the given order).
    pub fn new(fields: Vec<FieldFailure>) -> Self {
        Self { fields }
    }

    /// Every failing field, sorted by path.
    pub fn fields(&self) -> &[FieldFailure] {
        &self.fields
    }

    /// The failing fields, by value.
    pub fn into_fields(self) -> Vec<FieldFailure> {
        self.fields
    }

    /// The failures of one field, by path (`username`, `items[0].quantity`).
    pub fn field<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a FieldFailure> + 'a {
        self.fields.iter().filter(move |f| f.field == path)
    }

    /// The rule codes one field broke, in order.
    pub fn rules(&self, path: &str) -> Vec<&str> {
        self.fields.iter().filter(|f| f.field == path).map(|f| f.rule.as_str()).collect()
    }

    /// Whether no field failed (a failure built from an empty list).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The wire form: `VALIDATION_ERROR` (400), the message of [`Display`](fmt::Display), and
    /// `details: {"fields": [{"field", "rule", "message", "params"}, ...]}` with every failure.
    pub fn to_wire(&self) -> WireError {
        WireError::new(codes::VALIDATION_ERROR, VALIDATION_STATUS, self.to_string())
            .with_details(serde_json::json!({ "fields": self.fields }))
    }

    /// Reads a failure back from its wire form; `None` when the code is not
    /// `VALIDATION_ERROR` or the details do not list fields.
    pub fn from_wire(error: &WireError) -> Option<Self> {
        if error.code != codes::VALIDATION_ERROR {
            return None;
        }
        let fields = error.details.as_ref()?.get("fields")?;
        Vec::<FieldFailure>::deserialize(fields).ok().map(Self::new)
    }
}

/// `validation failed: email (email), username (length)`: each failing field once, with the
/// rules it broke.
impl fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("validation failed")?;
        let mut previous: Option<&str> = None;
        for (i, failure) in self.fields.iter().enumerate() {
            if previous == Some(failure.field.as_str()) {
                write!(f, ", {}", failure.rule)?;
                continue;
            }
            if previous.is_some() {
                f.write_str(")")?;
            }
            let sep = if i == 0 { ": " } else { ", " };
            write!(f, "{sep}{} ({}", failure.field, failure.rule)?;
            previous = Some(&failure.field);
        }
        if previous.is_some() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationFailure {}

impl From<ValidationFailure> for WireError {
    fn from(failure: ValidationFailure) -> Self {
        failure.to_wire()
    }
}

impl From<&ValidationFailure> for WireError {
    fn from(failure: &ValidationFailure) -> Self {
        failure.to_wire()
    }
}

impl From<ValidationErrors> for ValidationFailure {
    fn from(errors: ValidationErrors) -> Self {
        Self::from(&errors)
    }
}

impl From<&ValidationErrors> for ValidationFailure {
    fn from(errors: &ValidationErrors) -> Self {
        let mut found = Vec::new();
        flatten(errors, &mut Vec::new(), &mut found);
        // Sorted by path (list indices numerically); a field's own rules keep their order.
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Self { fields: found.into_iter().map(|(_, failure)| failure).collect() }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Field(String),
    Index(usize),
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(name) if out.is_empty() => out.push_str(name),
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn flatten(
    errors: &ValidationErrors,
    path: &mut Vec<Step>,
    out: &mut Vec<(Vec<Step>, FieldFailure)>,
) {
    for (name, kind) in errors.errors() {
        path.push(Step::Field(name.to_string()));
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    out.push((path.clone(), field_failure(render(path), error)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    path.push(Step::Index(*index));
                    flatten(inner, path, out);
                    path.pop();
                }
            }
        }
        path.pop();
    }
}

fn field_failure(field: String, error: &ValidationError) -> FieldFailure {
    let params: Map<String, Value> = error
        .params
        .iter()
        .filter(|(k, _)| k.as_ref() != "value")
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let message = match &error.message {
        Some(m) => m.to_string(),
        None => default_message(&error.code, &params),
    };
    FieldFailure { field, rule: error.code.to_string(), message, params }
}

/// A param as text: strings without quotes.
fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

/// The message of a built-in rule that has no `message = "..."` of its own.
fn default_message(code: &str, params: &Map<String, Value>) -> String {
    let p = |key: &str| params.get(key).map(text);
    match code {
        "length" => match (p("equal"), p("min"), p("max")) {
            (Some(n), _, _) => format!("length must be exactly {n}"),
            (None, Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(min), None) => format!("length must be at least {min}"),
            (None, None, Some(max)) => format!("length must be at most {max}"),
            (None, None, None) => "length is out of range".into(),
        },
        "range" => {
            let mut bounds = Vec::new();
            if let Some(v) = p("min") {
                bounds.push(format!("at least {v}"));
            }
            if let Some(v) = p("exclusive_min") {
                bounds.push(format!("greater than {v}"));
            }
            if let Some(v) = p("max") {
                bounds.push(format!("at most {v}"));
            }
            if let Some(v) = p("exclusive_max") {
                bounds.push(format!("less than {v}"));
            }
            if bounds.is_empty() {
                "value is out of range".into()
            } else {
                format!("must be {}", bounds.join(" and "))
            }
        }
        "email" => "must be a valid email address".into(),
        "url" => "must be a valid URL".into(),
        "required" => "is required".into(),
        "regex" => "does not match the required pattern".into(),
        "credit_card" => "must be a valid credit card number".into(),
        "non_control_character" => "must not contain control characters".into(),
        "ip" => "must be a valid IP address".into(),
        "ipv4" => "must be a valid IPv4 address".into(),
        "ipv6" => "must be a valid IPv6 address".into(),
        "must_match" => match p("other") {
            Some(other) => format!("must match `{other}`"),
            None => "must match the other field".into(),
        },
        "contains" => match p("needle") {
            Some(needle) => format!("must contain `{needle}`"),
            None => "does not contain the required text".into(),
        },
        "does_not_contain" => match p("needle") {
            Some(needle) => format!("must not contain `{needle}`"),
            None => "contains forbidden text".into(),
        },
        other => format!("failed the `{other}` rule"),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn error(code: &'static str, params: &[(&'static str, Value)]) -> ValidationError {
        let mut e = ValidationError::new(code);
        for (k, v) in params {
            e.add_param(Cow::Borrowed(*k), v);
        }
        e
    }

    #[test]
    fn flattens_nested_and_list_paths_in_order() {
        let mut first = ValidationErrors::new();
        first.add("quantity", error("range", &[("min", 1.into()), ("value", 0.into())]));
        let mut tenth = ValidationErrors::new();
        tenth.add("quantity", error("range", &[("min", 1.into())]));
        let mut address = ValidationErrors::new();
        address.add("zip", error("length", &[("equal", 5.into())]));
        let mut root = ValidationErrors::new();
        let items = [(10, Box::new(tenth)), (1, Box::new(first))].into_iter().collect();
        root.errors_mut().insert(Cow::Borrowed("items"), ValidationErrorsKind::List(items));
        root.errors_mut()
            .insert(Cow::Borrowed("address"), ValidationErrorsKind::Struct(Box::new(address)));
        let failure = ValidationFailure::from(root);
        let paths: Vec<_> = failure.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(paths, ["address.zip", "items[1].quantity", "items[10].quantity"]);
        assert_eq!(failure.fields()[1].message, "must be at least 1");
        assert!(!failure.fields()[1].params.contains_key("value"), "the value never travels");
        assert_eq!(failure.fields()[0].message, "length must be exactly 5");
    }

    #[test]
    fn message_groups_rules_per_field_and_round_trips() {
        let failure = ValidationFailure::new(vec![
            FieldFailure::new("a", "length", "x"),
            FieldFailure::new("a", "regex", "y"),
            FieldFailure::new("b", "email", "z"),
        ]);
        assert_eq!(failure.to_string(), "validation failed: a (length, regex), b (email)");
        let wire = failure.to_wire();
        assert_eq!(wire.status, Some(400));
        assert_eq!(ValidationFailure::from_wire(&wire), Some(failure));
        assert_eq!(ValidationFailure::from_wire(&WireError::internal("x")), None);
    }
}
