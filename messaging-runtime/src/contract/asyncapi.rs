//! A contract's AsyncAPI 3.0 document, from its snapshot.
//!
//! It describes the server application. All frames travel on one WebSocket, so there is one
//! channel (`wire`) carrying every message as its wire envelope: each request is a `receive`
//! operation whose `reply` lists the success response and the contract's error responses
//! (code, status and template in each), each event a `send` operation. Named types sit in
//! `components.schemas`. Only the `ws` binding is given: this library has no NATS transport
//! yet, so no `nats` server, subject or queue group is described.

use serde_json::{json, Map, Value};

use super::schema::SchemaError;
use super::snapshot::{ErrorSnapshot, Snapshot};
use super::Contract;
use crate::contract::schema::wire_error_schema;

/// The AsyncAPI version written.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// The contract's AsyncAPI 3.0 document.
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
/// let document = EchoerContract::asyncapi()?;
/// assert_eq!(document["asyncapi"], "3.0.0");
/// assert_eq!(document["info"]["version"], "1.2.0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn asyncapi<C: Contract>() -> Result<Value, SchemaError> {
    Ok(asyncapi_of(&Snapshot::of::<C>()?))
}

/// [`asyncapi`] of a snapshot.
pub fn asyncapi_of(snapshot: &Snapshot) -> Value {
    let mut messages = Map::new();
    let mut operations = Map::new();
    let wire = |id: &str| json!({ "$ref": format!("#/channels/wire/messages/{id}") });
    let error_ids: Vec<String> =
        snapshot.errors.iter().map(|e| format!("error.{}", e.code)).collect();
    for error in &snapshot.errors {
        messages.insert(format!("error.{}", error.code), error_message(error));
    }
    for request in &snapshot.requests {
        let (ask, answer) =
            (format!("{}.request", request.name), format!("{}.response", request.name));
        messages.insert(
            ask.clone(),
            json!({
                "name": request.name,
                "title": format!("{} request", request.name),
                "payload": envelope("request", json!({
                    "requestId": { "type": "string" },
                    "requestType": { "const": request.name },
                    "payload": request.request,
                    "context": context_schema(),
                }), &["requestId", "requestType", "payload"]),
            }),
        );
        messages.insert(
            answer.clone(),
            json!({
                "name": format!("{}.response", request.name),
                "title": format!("{} response", request.name),
                "payload": envelope("response", json!({
                    "requestId": { "type": "string" },
                    "success": { "const": true },
                    "data": request.response,
                }), &["requestId", "success", "data"]),
            }),
        );
        let mut replies = vec![wire(&answer)];
        replies.extend(error_ids.iter().map(|id| wire(id)));
        let mut operation = json!({
            "action": "receive",
            "channel": { "$ref": "#/channels/wire" },
            "summary": format!("Answers `{}`: its response, or one of the contract's errors.", request.name),
            "messages": [wire(&ask)],
            "reply": { "channel": { "$ref": "#/channels/wire" }, "messages": replies },
        });
        if let Some(permission) = &request.permission {
            operation["description"] = json!(format!("Requires the permission `{permission}`."));
        }
        operations.insert(request.name.clone(), operation);
    }
    for event in &snapshot.events {
        let id = format!("{}.event", event.name);
        messages.insert(
            id.clone(),
            json!({
                "name": event.name,
                "title": format!("{} event", event.name),
                "payload": envelope("event", json!({
                    "event": { "const": event.name },
                    "payload": event.payload,
                    "context": context_schema(),
                }), &["event", "payload"]),
            }),
        );
        operations.insert(
            event.name.clone(),
            json!({
                "action": "send",
                "channel": { "$ref": "#/channels/wire" },
                "summary": format!("Publishes `{}` to the connected clients.", event.name),
                "messages": [wire(&id)],
            }),
        );
    }
    let document = json!({
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": snapshot.name,
            "version": snapshot.version,
            "description": format!(
                "Contract `{}` {} (hash {}). One JSON envelope per WebSocket text frame. \
                 Requests may be preceded by the library's `$handshake` request (see the \
                 README). No NATS binding: this library has no NATS transport yet.",
                snapshot.name, snapshot.version, snapshot.hash
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "ws": {
                "host": "{host}",
                "pathname": "/{path}",
                "protocol": "ws",
                "description": "Any ws:// address the server is bound to.",
                "variables": {
                    "host": { "default": "127.0.0.1:8080", "description": "host and port" },
                    "path": { "default": "", "description": "the path the server is bound to" },
                },
            },
        },
        "channels": {
            "wire": {
                "address": "/",
                "title": "The WebSocket connection",
                "servers": [{ "$ref": "#/servers/ws" }],
                "messages": messages,
                "bindings": { "ws": { "method": "GET", "bindingVersion": "0.1.0" } },
            },
        },
        "operations": operations,
        "components": { "schemas": snapshot.definitions },
    });
    retarget_refs(document)
}

fn error_message(error: &ErrorSnapshot) -> Value {
    json!({
        "name": error.code,
        "title": format!("{} ({})", error.code, error.status),
        "summary": format!("Message template: {}", error.template),
        "payload": envelope("response", json!({
            "requestId": { "type": "string" },
            "success": { "const": false },
            "error": wire_error_schema(error),
        }), &["requestId", "success", "error"]),
    })
}

/// A wire envelope of `kind` with these properties.
fn envelope(kind: &str, properties: Value, required: &[&str]) -> Value {
    let mut properties = properties;
    properties["type"] = json!({ "const": kind });
    let mut required: Vec<&str> = required.to_vec();
    required.insert(0, "type");
    json!({ "type": "object", "properties": properties, "required": required })
}

fn context_schema() -> Value {
    json!({
        "type": "object",
        "description": "The message context: source, target, auth, metadata, traceId, deadline.",
    })
}

/// Points `#/$defs/X` references at `#/components/schemas/X`.
fn retarget_refs(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let r = match r.strip_prefix("#/$defs/") {
                            Some(name) => format!("#/components/schemas/{name}"),
                            None => r,
                        };
                        (k, Value::String(r))
                    }
                    (_, v) => (k, retarget_refs(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(retarget_refs).collect()),
        other => other,
    }
}
