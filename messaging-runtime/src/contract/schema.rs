//! The JSON Schemas of a contract's messages, generated with `schemars` from the Rust types
//! (serde attributes and `validator` rules included), and the contract's JSON Schema
//! document (draft 2020-12).
//!
//! `#[contract]` collects one schema per request, response, event and error field through
//! the descriptor's `schemas` function ([`super::ContractDescriptor::schemas`]); a type that does not derive `JsonSchema` yields `None`
//! there, and every artifact built from the contract then fails with a [`SchemaError`]
//! naming it, rather than describing it as "anything".

use std::fmt;

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::snapshot::Snapshot;
use super::Contract;

/// The dialect every schema of a contract is written in.
pub const JSON_SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schemas of a contract's message types, in descriptor order; `None` for a type that
/// does not implement `JsonSchema`. Built by `#[contract]`, read through [`Snapshot`].
#[derive(Debug, Default)]
pub struct MessageSchemas {
    /// Per request: the request payload and the success response.
    pub requests: Vec<(Option<Schema>, Option<Schema>)>,
    /// Per event: its payload.
    pub events: Vec<Option<Schema>>,
    /// Per error variant: the schema of each field, in `ErrorDescriptor::params` order.
    pub errors: Vec<Vec<Option<Schema>>>,
}

/// A contract whose artifacts cannot be built: some of its types have no JSON Schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The contract name.
    pub contract: &'static str,
    /// Each type without a schema and where the contract uses it, e.g.
    /// `` `Order` (response of `getOrderById`) ``.
    pub missing: Vec<String>,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "contract `{}` has types without a JSON Schema: {}; add `#[derive(JsonSchema)]` to \
             each of them (and to the types they contain)",
            self.contract,
            self.missing.join(", ")
        )
    }
}

impl std::error::Error for SchemaError {}

/// The generator every contract schema comes from: draft 2020-12, definitions under
/// `$defs`, and the *deserialize* contract: a schema says what a Rust peer accepts (so a
/// field with `#[serde(default)]` is optional), which is what a client must send and what
/// it can rely on receiving.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().for_deserialize().into_generator()
}

/// The contract's JSON Schema document (draft 2020-12): every request, response, event and
/// error as a subschema, the types they share under `$defs`.
///
/// The messages sit under `requests.<name>.request`, `requests.<name>.response`,
/// `events.<name>` and `errors.<CODE>` (keywords a validator ignores, so the document itself
/// is a valid schema and each message is addressed with a JSON pointer, e.g.
/// `#/requests/createOrder/request`). An error is the wire error with its code and status
/// fixed and its `details` described.
///
/// # Errors
/// When a type of the contract does not derive `JsonSchema`.
///
/// # Examples
///
/// ```
/// # use messaging_runtime::prelude::*;
/// # #[request("echo", response = String)]
/// # #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
/// # pub struct Echo {
/// #     #[validate(length(min = 1, max = 280))]
/// #     pub text: String,
/// # }
/// # #[error_code]
/// # #[derive(Debug, Clone, PartialEq)]
/// # pub enum EchoError {
/// #     #[error(status = 400, message = "nothing to echo")]
/// #     Empty,
/// # }
/// # #[contract(name = "echo", version = "1.2.0", error = EchoError)]
/// # pub trait Echoer {
/// #     async fn echo(&self, req: Echo) -> Result<String, EchoError>;
/// # }
/// // The generated `EchoerContract::json_schema()` is this function for that contract.
/// let schema = messaging_runtime::contract::schema::json_schema::<EchoerContract>()?;
/// let request = &schema["$defs"]["Echo"];
/// assert_eq!(request["properties"]["text"]["maxLength"], 280, "the validator rule travels");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn json_schema<C: Contract>() -> Result<Value, SchemaError> {
    Ok(json_schema_of(&Snapshot::of::<C>()?))
}

/// [`json_schema`] of a snapshot.
pub fn json_schema_of(snapshot: &Snapshot) -> Value {
    let requests: Map<String, Value> = snapshot
        .requests
        .iter()
        .map(|r| {
            let entry = json!({ "request": r.request, "response": r.response });
            (r.name.clone(), entry)
        })
        .collect();
    let events: Map<String, Value> =
        snapshot.events.iter().map(|e| (e.name.clone(), e.payload.clone())).collect();
    let errors: Map<String, Value> =
        snapshot.errors.iter().map(|e| (e.code.clone(), wire_error_schema(e))).collect();
    json!({
        "$schema": JSON_SCHEMA_DIALECT,
        "title": format!("{} {}", snapshot.name, snapshot.version),
        "description": format!(
            "The messages of contract `{}` version {} (hash {}).",
            snapshot.name, snapshot.version, snapshot.hash
        ),
        "requests": requests,
        "events": events,
        "errors": errors,
        "$defs": snapshot.definitions,
    })
}

/// The wire error `{code, message, status, details, severity}` of one error code.
pub(crate) fn wire_error_schema(error: &super::snapshot::ErrorSnapshot) -> Value {
    json!({
        "title": error.code,
        "description": format!("Status {}; message template: {}", error.status, error.template),
        "type": "object",
        "properties": {
            "code": { "const": error.code },
            "message": { "type": "string" },
            "status": { "const": error.status },
            "details": error.details,
            "severity": { "enum": ["debug", "info", "warning", "error", "critical"] },
        },
        "required": ["code", "message", "status", "details"],
    })
}

/// The `details` of an error variant: an object with one required property per field.
pub(crate) fn details_schema(params: &[&str], fields: &[Value]) -> Value {
    let properties: Map<String, Value> =
        params.iter().zip(fields).map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({ "type": "object", "properties": properties, "required": params })
}
