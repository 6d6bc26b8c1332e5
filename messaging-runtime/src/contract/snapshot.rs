//! A contract's snapshot: its descriptor with the JSON Schema of every message and a hash
//! of the lot. Committed next to a contract, it is what a later version is compared with
//! (`compat::diff`); its hash is what a client announces in the version handshake.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};

use blake2::{Blake2s256, Digest};
use schemars::Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{details_schema, generator, SchemaError};
use super::{Contract, ContractDescriptor};

/// The snapshot format this library writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// A contract as data: names, version, hash, and the schema of every message.
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
/// use messaging_runtime::contract::{compat, snapshot::Snapshot};
///
/// let now = EchoerContract::snapshot()?;
/// // Committed next to the contract, read back in a test:
/// let committed = Snapshot::from_json(&now.to_pretty_json())?;
/// assert!(compat::diff(&committed, &now).is_empty());
/// assert!(compat::check(&committed, &now).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`].
    pub format: u32,
    /// The contract name.
    pub name: String,
    /// The contract version, `major.minor.patch`.
    pub version: String,
    /// `blake2s256:` and the hex digest of the canonical JSON of everything else but the
    /// version: equal hashes mean the same messages.
    pub hash: String,
    /// The requests, in declaration order.
    pub requests: Vec<RequestSnapshot>,
    /// The events, in declaration order.
    pub events: Vec<EventSnapshot>,
    /// The error codes, in declaration order.
    pub errors: Vec<ErrorSnapshot>,
    /// The named types the message schemas refer to (`#/$defs/Name`).
    pub definitions: Map<String, Value>,
}

/// One request of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSnapshot {
    /// The wire name.
    pub name: String,
    /// The permission it requires, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The schema of the payload a client sends.
    pub request: Value,
    /// The schema of the success response a client receives.
    pub response: Value,
}

/// One event of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSnapshot {
    /// The wire name.
    pub name: String,
    /// The schema of its payload.
    pub payload: Value,
}

/// One error code of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSnapshot {
    /// The code, e.g. `ORDER_NOT_FOUND`.
    pub code: String,
    /// The status.
    pub status: u16,
    /// The message template.
    pub template: String,
    /// The schema of the wire error's `details`.
    pub details: Value,
}

impl Snapshot {
    /// The snapshot of contract `C`.
    ///
    /// # Errors
    /// When a type of the contract does not derive `JsonSchema`.
    pub fn of<C: Contract>() -> Result<Self, SchemaError> {
        Self::of_descriptor(C::DESCRIPTOR)
    }

    /// The snapshot of the contract `descriptor` describes.
    ///
    /// # Errors
    /// When a type of the contract does not derive `JsonSchema`.
    pub fn of_descriptor(descriptor: &'static ContractDescriptor) -> Result<Self, SchemaError> {
        let (snapshot, missing) = build(descriptor);
        if missing.is_empty() {
            Ok(snapshot)
        } else {
            Err(SchemaError { contract: descriptor.name, missing })
        }
    }

    /// The snapshot as pretty JSON, ending with a newline (the committed form).
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a snapshot written by [`Snapshot::to_pretty_json`].
    ///
    /// # Errors
    /// When `text` is not a snapshot, or one of another format.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let snapshot: Snapshot =
            serde_json::from_str(text).map_err(|e| format!("not a contract snapshot: {e}"))?;
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(format!(
                "snapshot format {} is not supported: this library reads format {SNAPSHOT_FORMAT}",
                snapshot.format
            ));
        }
        Ok(snapshot)
    }
}

/// The hash of a contract, as in its snapshot; types without a schema count as "any".
///
/// Computed once per contract and process (a client computes it at every connect, a server
/// at every handshake).
pub fn descriptor_hash(descriptor: &'static ContractDescriptor) -> String {
    static HASHES: OnceLock<Mutex<HashMap<usize, String>>> = OnceLock::new();
    // Descriptors are `'static`: the address identifies the contract for the process.
    let key = std::ptr::from_ref(descriptor) as usize;
    let hashes = HASHES.get_or_init(Mutex::default);
    if let Some(hash) = hashes.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return hash.clone();
    }
    let hash = build(descriptor).0.hash;
    hashes.lock().unwrap_or_else(PoisonError::into_inner).insert(key, hash.clone());
    hash
}

/// The snapshot of `C` (a type without a schema described as `{}`), and the types without
/// a schema.
fn build(descriptor: &'static ContractDescriptor) -> (Snapshot, Vec<String>) {
    let mut generator = generator();
    let schemas = (descriptor.schemas)(&mut generator);
    let mut missing = Vec::new();
    let mut take = |schema: Option<&Option<Schema>>, what: String| match schema {
        Some(Some(schema)) => schema.clone().to_value(),
        _ => {
            missing.push(what);
            Value::Object(Map::new())
        }
    };
    let requests = descriptor
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let pair = schemas.requests.get(i);
            RequestSnapshot {
                name: r.name.to_owned(),
                permission: r.permission.map(str::to_owned),
                request: take(
                    pair.map(|p| &p.0),
                    format!("`{}` (request `{}`)", r.request_type, r.name),
                ),
                response: take(
                    pair.map(|p| &p.1),
                    format!("`{}` (response of `{}`)", r.response_type, r.name),
                ),
            }
        })
        .collect();
    let events = descriptor
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| EventSnapshot {
            name: e.name.to_owned(),
            payload: take(schemas.events.get(i), format!("`{}` (event `{}`)", e.type_name, e.name)),
        })
        .collect();
    let errors = descriptor
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let fields: Vec<Value> = (0..e.params.len())
                .map(|k| {
                    let schema = schemas.errors.get(i).and_then(|f| f.get(k));
                    take(schema, format!("field `{}` of error `{}`", e.params[k], e.code))
                })
                .collect();
            ErrorSnapshot {
                code: e.code.to_owned(),
                status: e.status,
                template: e.template.to_owned(),
                details: details_schema(e.params, &fields),
            }
        })
        .collect();
    let mut snapshot = Snapshot {
        format: SNAPSHOT_FORMAT,
        name: descriptor.name.to_owned(),
        version: descriptor.version.to_owned(),
        hash: String::new(),
        requests,
        events,
        errors,
        definitions: generator.take_definitions(true),
    };
    snapshot.hash = hash_of(&snapshot);
    (snapshot, missing)
}

/// The hash of everything in `snapshot` but its version and hash.
pub(crate) fn hash_of(snapshot: &Snapshot) -> String {
    let mut value = serde_json::to_value(snapshot).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("hash");
        object.remove("version");
    }
    let mut text = String::new();
    canonical(&value, &mut text);
    let digest = Blake2s256::digest(text.as_bytes());
    let mut hex = String::with_capacity(11 + 64);
    hex.push_str("blake2s256:");
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// JSON with object keys sorted at every level, whatever order the map keeps them in, so
/// the hash does not depend on serde_json's `preserve_order` feature.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
