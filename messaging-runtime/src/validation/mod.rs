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

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::{codes, WireError};

/// `validator`'s errors turned into a [`ValidationFailure`].
#[cfg(feature = "validate")]
mod from_validator;

/// The status a validation failure answers with.
pub const VALIDATION_STATUS: u16 = 400;

/// A message broke one or more of its rules: every failing field with its rule and message.
///
/// Built from `validator`'s `ValidationErrors` (nested structs and lists are flattened into
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
