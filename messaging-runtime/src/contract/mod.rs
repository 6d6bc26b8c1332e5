//! The traits the macros implement, the static descriptors of a contract, and what is
//! built from them: JSON Schemas, snapshots, the compatibility check, AsyncAPI, TypeScript
//! and the version handshake.

pub mod asyncapi;
pub mod compat;
pub mod handshake;
pub mod schema;
pub mod snapshot;
pub mod typescript;

use core::fmt::{Debug, Display};

use schemars::{Schema, SchemaGenerator};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::validation::ValidationFailure;
use crate::wire::{Severity, WireError};

/// A message published by a server to its clients (or emitted by a client to its server).
///
/// Implemented by `#[event]`; the wire name is [`Event::NAME`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type",
    label = "not an `#[event]`",
    note = "annotate the type with `#[event]` (or `#[event(\"wireName\")]`) to make it an event"
)]
pub trait Event: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The name this event travels under on the wire.
    const NAME: &'static str;

    /// Checks the rules declared on the type with `validator` attributes
    /// (`#[derive(Validate)]`); `Ok(())` for a type without rules.
    ///
    /// `#[event]` implements it: it calls [`validator::Validate::validate`] when the type
    /// implements `Validate`. The server runs it on every event a client emits.
    fn validate_message(&self) -> Result<(), ValidationFailure> {
        Ok(())
    }
}

/// Several event types received as one stream, in arrival order: a contract's generated
/// `{Trait}Event` enum (one variant per event), which `{Trait}Client::events()` yields.
///
/// Implemented by `#[contract]`; there is little reason to implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of events",
    label = "not a contract's generated `{{Trait}}Event` enum",
    note = "`#[contract(.., events(A, B))]` generates `{{Trait}}Event`, which implements `EventSet`"
)]
pub trait EventSet: Sized + Send + 'static {
    /// The wire names of the events, in the order [`EventSet::decode`] numbers them.
    const NAMES: &'static [&'static str];

    /// Decodes the payload of the event named `NAMES[index]`.
    ///
    /// # Errors
    /// When the payload is not that event, or `index` is out of range.
    fn decode(
        index: usize,
        payload: crate::payload::Payload,
    ) -> Result<Self, crate::wire::DecodeError>;
}

/// A message that asks a server for exactly one [`Request::Response`].
///
/// Implemented by `#[request("wireName", response = T)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a request type",
    label = "not a `#[request]`",
    note = "annotate the struct with `#[request(\"wireName\", response = T)]` to make it a request"
)]
pub trait Request: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name this request travels under on the wire (`requestType`).
    const NAME: &'static str;
    /// What a successful call returns.
    type Response: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Checks the rules declared on the type with `validator` attributes
    /// (`#[derive(Validate)]`); `Ok(())` for a type without rules.
    ///
    /// `#[request]` implements it: it calls [`validator::Validate::validate`] when the type
    /// implements `Validate`. The server runs it before the handler, the client before
    /// sending.
    fn validate_message(&self) -> Result<(), ValidationFailure> {
        Ok(())
    }
}

/// A contract's typed error: every variant has a code, a status and a message template.
///
/// Implemented by `#[error_code]`. Conversion to and from [`WireError`] is lossless, so a
/// client gets back the same variant the server returned.
///
/// # Examples
///
/// ```
/// use messaging_runtime::prelude::*;
/// use messaging_runtime::Severity;
///
/// /// What a stock lookup can fail with.
/// #[error_code]
/// #[derive(Debug, Clone, PartialEq)]
/// pub enum StockError {
///     /// Not enough units.
///     #[error(status = 409, message = "only {left} of `{product_id}` left")]
///     OutOfStock { product_id: String, left: u32 },
///     /// The count is being refreshed: worth a retry, not an alert.
///     #[error(status = 503, message = "stock is being counted", severity = "warning")]
///     Counting,
/// }
///
/// let error = StockError::out_of_stock("p-1", 2u32);
/// assert_eq!((error.code(), error.status()), ("OUT_OF_STOCK", 409));
/// assert_eq!(error.to_string(), "only 2 of `p-1` left");
/// assert_eq!(StockError::counting().severity(), Severity::Warning);
/// // On the wire: `{code, message, status, details, severity}`, and back, typed.
/// let wire = error.to_wire();
/// assert_eq!(wire.details.as_ref().map(|d| d["left"].clone()), Some(2.into()));
/// assert_eq!(StockError::from_wire(&wire), Some(error));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a contract error type",
    label = "not an `#[error_code]` enum",
    note = "annotate an enum with `#[error_code]` and give each variant `#[error(status = N, message = \"...\")]`"
)]
pub trait ErrorCode: Display + Debug + Send + Sync + Sized + 'static {
    /// One entry per variant, in declaration order.
    const CATALOG: &'static [ErrorDescriptor];

    /// The machine-readable code, e.g. `ORDER_NOT_FOUND`.
    fn code(&self) -> &'static str;

    /// The HTTP-like status, in `100..=599`.
    fn status(&self) -> u16;

    /// The variant's fields as a JSON object: the values the message template renders.
    fn params(&self) -> serde_json::Map<String, serde_json::Value>;

    /// Rebuilds the typed variant from a wire error; `None` when the code is not in
    /// [`ErrorCode::CATALOG`] or the details do not decode into the variant's fields.
    fn from_wire(error: &WireError) -> Option<Self>;

    /// The JSON Schema of each field of each variant (in [`ErrorCode::CATALOG`] order, the
    /// fields in `params` order); `None` for a field type without `JsonSchema`.
    ///
    /// `#[error_code]` implements it; the default knows no schema.
    fn param_schemas(generator: &mut SchemaGenerator) -> Vec<Vec<Option<Schema>>> {
        let _ = generator;
        Vec::new()
    }

    /// How serious this error is: [`Severity::Error`] unless the variant says otherwise
    /// (`#[error(.., severity = "warning")]`).
    fn severity(&self) -> Severity {
        Severity::Error
    }

    /// The wire form: code, rendered message, status, the params as details, and severity.
    fn to_wire(&self) -> WireError {
        WireError {
            code: self.code().into(),
            message: self.to_string(),
            status: Some(self.status()),
            details: Some(serde_json::Value::Object(self.params())),
            severity: Some(self.severity()),
        }
    }
}

/// A contract: the static description generated by `#[contract]` on a marker type
/// named `{Trait}Contract`.
pub trait Contract: Send + Sync + 'static {
    /// The contract's error type.
    type Error: ErrorCode;
    /// Everything a tool or a peer needs to know about the contract.
    const DESCRIPTOR: &'static ContractDescriptor;
}

/// Marks `Self` as one of the events contract `C` lists; implemented by `#[contract]` for
/// exactly the types in its `events(...)`, so publishing or emitting any other type fails to
/// compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event of contract `{C}`",
    label = "not an event of this contract",
    note = "the events of a contract are the types listed in its `#[contract(events(...))]`"
)]
pub trait EventOf<C: Contract>: Event {}

/// Describes a contract: names, version, events, requests and the error catalog.
#[derive(Debug, Clone, Copy)]
pub struct ContractDescriptor {
    /// The contract name, e.g. `order-service`.
    pub name: &'static str,
    /// The contract version, `major.minor.patch`.
    pub version: &'static str,
    /// The events the contract publishes.
    pub events: &'static [EventDescriptor],
    /// The requests the contract answers.
    pub requests: &'static [RequestDescriptor],
    /// The contract's error catalog.
    pub errors: &'static [ErrorDescriptor],
    /// The JSON Schema of every message type, in the order above, the named types they
    /// refer to collected by the generator. Read it through [`snapshot::Snapshot`] and the
    /// artifacts built from it; a type without `JsonSchema` yields `None`.
    pub schemas: fn(&mut SchemaGenerator) -> schema::MessageSchemas,
}

impl ContractDescriptor {
    /// Finds a request by its wire name.
    pub fn request(&self, wire_name: &str) -> Option<&RequestDescriptor> {
        self.requests.iter().find(|r| r.name == wire_name)
    }

    /// Finds an error by its code.
    pub fn error(&self, code: &str) -> Option<&ErrorDescriptor> {
        self.errors.iter().find(|e| e.code == code)
    }
}

/// Describes one event of a contract.
#[derive(Debug, Clone, Copy)]
pub struct EventDescriptor {
    /// The wire name.
    pub name: &'static str,
    /// The Rust type, as written in the contract.
    pub type_name: &'static str,
}

/// Describes one request of a contract.
#[derive(Debug, Clone, Copy)]
pub struct RequestDescriptor {
    /// The wire name (`requestType`).
    pub name: &'static str,
    /// The trait method that handles it.
    pub method: &'static str,
    /// The request type, as written in the contract.
    pub request_type: &'static str,
    /// The response type, as written in the contract.
    pub response_type: &'static str,
    /// The permission the request requires (`#[permission("orders:write")]` on the contract
    /// method), checked before dispatch when the server has an access policy; `None` when
    /// the method declares none.
    pub permission: Option<&'static str>,
}

/// Describes one error variant.
#[derive(Debug, Clone, Copy)]
pub struct ErrorDescriptor {
    /// The code, e.g. `ORDER_NOT_FOUND`.
    pub code: &'static str,
    /// The status, in `100..=599`.
    pub status: u16,
    /// The message template with `{field}` placeholders.
    pub template: &'static str,
    /// The Rust variant name.
    pub variant: &'static str,
    /// The names of the variant's fields, in order.
    pub params: &'static [&'static str],
}

/// Checks a request against its rules; the wire error (`VALIDATION_ERROR`, 400) when it
/// breaks any. What the server runs before the handler and the client before sending.
pub fn check_request<R: Request>(request: &R) -> Result<(), WireError> {
    request.validate_message().map_err(|failure| failure.to_wire())
}

/// Checks an event against its rules; the wire error (`VALIDATION_ERROR`, 400) when it
/// breaks any. What the server runs on every event a client emits.
pub fn check_event<E: Event>(event: &E) -> Result<(), WireError> {
    event.validate_message().map_err(|failure| failure.to_wire())
}
