//! Items the macros' generated code names by absolute path. Not a public API: it changes
//! without notice.

pub use crate::error::CallError;

pub use crate::client::{
    AllEvents, Call, CallbackResult, Client, ClientBuilder, ConnectionStatus, EventStream, Gather,
    Subscription,
};
pub use crate::context::MessageContext;
pub use crate::contract::handshake::{Hello, NoError};
pub use crate::contract::schema::{MessageSchemas, SchemaError};
pub use crate::contract::snapshot::Snapshot;
pub use crate::contract::{
    Contract, ContractDescriptor, ErrorCode, ErrorDescriptor, Event, EventDescriptor, EventOf,
    EventSet, Request, RequestDescriptor,
};
pub use crate::error::{PublishError, TransportError, WireError};
pub use crate::server::{Broadcaster, ClientId, Context, Router, Service};
pub use crate::validation::ValidationFailure;
pub use futures_core::Stream;
pub use schemars;
pub use schemars::{Schema, SchemaGenerator};
pub use serde;
pub use serde_json;
#[cfg(feature = "validate")]
pub use validator;

/// The artifact builders the generated `{Trait}Contract` functions call.
pub mod artifacts {
    pub use crate::contract::asyncapi::asyncapi;
    pub use crate::contract::schema::json_schema;
    pub use crate::contract::typescript::typescript;
}

pub use core::fmt::{Display, Formatter, Result as FmtResult};
pub use core::future::Future;
pub use core::marker::PhantomData;
pub use core::option::Option;
pub use core::result::Result;
pub use std::boxed::Box;
pub use std::string::String;
pub use std::sync::Arc;
pub use std::vec::Vec;

pub use crate::payload::Payload;
pub use crate::wire::{DecodeError, Severity};

/// The error of an `EventSet::decode` given an index outside its `NAMES`.
#[must_use]
pub fn unknown_event_index(index: usize, names: &[&str]) -> DecodeError {
    DecodeError::whole(format!(
        "event index {index} is out of range: the set has {} events",
        names.len()
    ))
}

/// Compiles only when `T` is an `#[error_code]` enum (spanned at the user's type).
pub const fn assert_error_code<T: ErrorCode>() {}

/// Compiles only when the request `R` answers with `T`.
pub const fn assert_response<R: Request<Response = T>, T>() {}

/// Whether `names[index]` equals any other of `names` (for the duplicate wire name check at
/// compile time: every entry of a duplicate pair fails, so each is marked).
pub const fn name_shared(names: &[&str], index: usize) -> bool {
    let mut i = 0;
    while i < names.len() {
        if i != index && str_eq(names[index], names[i]) {
            return true;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A value as JSON for an error's params; a value that cannot be represented becomes `null`.
pub fn param_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Decodes one param of a wire error's details, `None` when absent or of the wrong shape.
pub fn param_from<T: serde::de::DeserializeOwned>(
    details: Option<&serde_json::Value>,
    key: &str,
) -> Option<T> {
    let value = details?.as_object()?.get(key)?;
    T::deserialize(value).ok()
}

/// Wraps a message so that method resolution can tell whether its type implements
/// `validator::Validate` (autoref specialisation): `#[request]` and `#[event]` generate
///
/// ```text
/// use ::messaging_runtime::__private::{RulesOfValidate as _, NoRules as _};
/// (&::messaging_runtime::__private::Probe(self)).__messaging_rules()
/// ```
///
/// On a receiver `&Probe<T>`, [`RulesOfValidate`] (implemented for `Probe<T>` with
/// `T: Validate`, taken by `&self`) matches without an extra borrow and wins; otherwise method
/// resolution autorefs and finds [`NoRules`] (implemented for every `&Probe<T>`). The choice
/// is made on the concrete type where the impl is generated, so the attribute's position
/// relative to `#[derive(Validate)]` does not matter.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// The message's type has rules: run them.
pub trait RulesOfValidate {
    /// Runs `validator::Validate::validate`.
    fn __messaging_rules(&self) -> Result<(), ValidationFailure>;
}

// Without the `validate` feature no type has rules: every message resolves to `NoRules`.
#[cfg(feature = "validate")]
impl<T: validator::Validate + ?Sized> RulesOfValidate for Probe<'_, T> {
    #[inline]
    fn __messaging_rules(&self) -> Result<(), ValidationFailure> {
        validator::Validate::validate(self.0).map_err(ValidationFailure::from)
    }
}

/// The message's type has no rules: nothing to check.
pub trait NoRules {
    /// Always `Ok(())`.
    fn __messaging_rules(&self) -> Result<(), ValidationFailure>;
}

impl<T: ?Sized> NoRules for &Probe<'_, T> {
    #[inline]
    fn __messaging_rules(&self) -> Result<(), ValidationFailure> {
        Result::Ok(())
    }
}

/// Wraps a type so that method resolution can tell whether it implements `JsonSchema`
/// (autoref specialisation, as [`Probe`] does for `Validate`): `#[contract]` and
/// `#[error_code]` generate
///
/// ```text
/// use ::messaging_runtime::__private::{HasSchema as _, NoSchema as _};
/// (&::messaging_runtime::__private::SchemaProbe::<T>::new()).__schema(generator)
/// ```
///
/// which is `Some(schema)` for a `T: JsonSchema` and `None` otherwise, so a contract whose
/// types derive no `JsonSchema` still compiles (its artifacts then fail with a
/// [`SchemaError`] naming those types).
pub struct SchemaProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Default for SchemaProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> SchemaProbe<T> {
    /// The probe for `T`.
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

/// The type has a schema.
pub trait HasSchema {
    /// `Some` of the type's schema (a `$ref` for a named type, collected by `generator`).
    fn __schema(&self, generator: &mut SchemaGenerator) -> Option<Schema>;
}

impl<T: schemars::JsonSchema + ?Sized> HasSchema for SchemaProbe<T> {
    fn __schema(&self, generator: &mut SchemaGenerator) -> Option<Schema> {
        Option::Some(generator.subschema_for::<T>())
    }
}

/// The type has no schema.
pub trait NoSchema {
    /// Always `None`.
    fn __schema(&self, generator: &mut SchemaGenerator) -> Option<Schema>;
}

impl<T: ?Sized> NoSchema for &SchemaProbe<T> {
    fn __schema(&self, _: &mut SchemaGenerator) -> Option<Schema> {
        Option::None
    }
}

/// The client's side of the version handshake: announces `descriptor` over `client` and
/// fails when the server says it serves an incompatible version.
///
/// Only that answer fails: a server that does not know `$handshake` (an older one, or one
/// of another library) has no opinion, and a handshake lost to the transport (no answer
/// within [`HANDSHAKE_WAIT`], the connection dropped) leaves the connection to the client's
/// own machinery (reconnection, call timeouts), as before the handshake existed.
///
/// # Errors
/// [`TransportError::IncompatibleContract`], naming both versions.
pub async fn handshake(
    client: &Client,
    descriptor: &'static ContractDescriptor,
) -> Result<(), TransportError> {
    let hello = Hello {
        contract: descriptor.name.to_owned(),
        version: descriptor.version.to_owned(),
        hash: crate::contract::snapshot::descriptor_hash(descriptor),
    };
    let wait = client.default_timeout().min(HANDSHAKE_WAIT);
    match client.call::<Hello, NoError>(hello).timeout(wait).await {
        Ok(answer) if answer.compatible => {
            if let Some(reason) = answer.reason {
                tracing::warn!(contract = descriptor.name, %reason, "version handshake");
            }
            Ok(())
        }
        Ok(answer) => Err(TransportError::IncompatibleContract {
            contract: descriptor.name.to_owned(),
            client_version: descriptor.version.to_owned(),
            server_version: answer.version,
            reason: answer.reason.unwrap_or_default(),
        }),
        // A server from before the handshake: nothing to compare with.
        Err(CallError::UnknownRequestType(_)) => Ok(()),
        Err(other) => {
            tracing::warn!(contract = descriptor.name, error = %other, "no answer to the version handshake: carrying on without it");
            Ok(())
        }
    }
}

/// How long `connect` waits for the answer to the version handshake at most.
pub const HANDSHAKE_WAIT: core::time::Duration = core::time::Duration::from_secs(5);

/// Broadcasts `event` (generated publishers call it after their compile-time contract check).
pub fn broadcast<E: crate::contract::Event>(broadcaster: &Broadcaster, event: E) -> usize {
    broadcaster.broadcast(event)
}

/// Broadcasts `event` with `context` (generated publishers only).
pub fn broadcast_with<E: crate::contract::Event>(
    broadcaster: &Broadcaster,
    event: E,
    context: MessageContext,
) -> usize {
    broadcaster.broadcast_with(event, context)
}

/// Sends `event` to one client (generated publishers only).
///
/// # Errors
/// As [`Broadcaster`]'s publishers: an unknown client, a closed or slow one.
pub fn send_to<E: crate::contract::Event>(
    broadcaster: &Broadcaster,
    client: &ClientId,
    event: E,
) -> Result<(), PublishError> {
    broadcaster.send_to(client, event)
}
