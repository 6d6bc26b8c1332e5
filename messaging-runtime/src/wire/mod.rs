//! The bottom of the runtime: what travels on the wire when something fails. The wire error
//! `{code, message, status, details}`, the codes the runtime itself answers with, and why a
//! payload did not decode. Every other module may use these; these use nothing of the
//! runtime's.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Error codes the runtime itself answers with, next to a contract's own codes.
pub mod codes {
    /// No handler is registered for the request type.
    pub const UNKNOWN_REQUEST_TYPE: &str = "UNKNOWN_REQUEST_TYPE";
    /// The payload did not decode into the request type.
    pub const INVALID_PAYLOAD: &str = "INVALID_PAYLOAD";
    /// The frame was not one of the protocol's shapes.
    pub const BAD_MESSAGE: &str = "BAD_MESSAGE";
    /// The handler failed in a way the contract does not describe.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
    /// The request did not complete before its deadline.
    pub const TIMEOUT: &str = "TIMEOUT";
    /// The request's own deadline passed on the server; its handler was cancelled. A Rust
    /// client reports it as `CallError::Timeout`.
    pub const DEADLINE_EXCEEDED: &str = "DEADLINE_EXCEEDED";
    /// The server sheds load: too many requests at once.
    pub const OVERLOADED: &str = "OVERLOADED";
    /// The message context's metadata is over the server's limits (413); `details` says
    /// what was found and what is allowed.
    pub const CONTEXT_TOO_LARGE: &str = "CONTEXT_TOO_LARGE";
    /// An option of a call cannot work, e.g. a zero timeout (400); refused before sending.
    pub const INVALID_OPTION: &str = "INVALID_OPTION";
    /// The caller tried too often or too much at once, e.g. logins on one connection (429);
    /// `details.retryAfterMs` says when to try again.
    pub const TOO_MANY_ATTEMPTS: &str = "TOO_MANY_ATTEMPTS";
    /// No valid credentials: a missing, unknown or expired token, or a failed login (401).
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller is known but lacks the permission the request requires (403).
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The payload broke a rule declared on its type (status 400); `details.fields` lists
    /// every failing field (see [`crate::validation::ValidationFailure::to_wire`]).
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    /// Nothing serves the request: over a broker, no server subscribes to its subject
    /// (503). It fails at once, not at the timeout.
    pub const NO_RESPONDERS: &str = "NO_RESPONDERS";
    /// The server that took the request stopped before it answered (503). A Rust client over
    /// a broker reports it as `CallError::Disconnected`, as a socket transport reports a
    /// connection lost under a waiting call.
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
}

/// How serious an error is, as the TypeScript library grades it: `debug`, `info`, `warning`,
/// `error` (the default) or `critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Diagnostic detail.
    Debug,
    /// Worth knowing, nothing failed that matters.
    Info,
    /// Something went wrong that the caller may well expect (a conflict, a retry).
    Warning,
    /// The request failed (the default).
    #[default]
    Error,
    /// The service itself is in trouble.
    Critical,
}

impl Severity {
    /// The wire form: `debug`, `info`, `warning`, `error` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

impl core::fmt::Display for Severity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as it travels on the wire: `{code, message, status, details, severity}`.
///
/// # Examples
///
/// ```
/// use messaging_runtime::WireError;
///
/// let error = WireError::new("OUT_OF_STOCK", 409, "only 2 left")
///     .with_details(serde_json::json!({ "left": 2 }));
/// let json = serde_json::to_value(&error)?;
/// assert_eq!(json["code"], "OUT_OF_STOCK");
/// assert_eq!(json["status"], 409);
/// assert_eq!(serde_json::from_value::<WireError>(json)?, error);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    /// Machine-readable code, e.g. `ORDER_NOT_FOUND`.
    pub code: String,
    /// Human-readable message, already rendered.
    pub message: String,
    /// HTTP-like status; absent when a peer did not send one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Structured details: a contract error's params, or a decoder's path and reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// How serious it is: set on a contract's errors (`error` unless the variant says
    /// otherwise), absent on the runtime's own and when a peer sent none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

impl WireError {
    /// A wire error with a code, a status and a message, and no details.
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: Some(status),
            details: None,
            severity: None,
        }
    }

    /// Adds details.
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `UNKNOWN_REQUEST_TYPE` (404) for a request type no handler serves.
    pub fn unknown_request_type(name: &str) -> Self {
        Self::new(codes::UNKNOWN_REQUEST_TYPE, 404, format!("unknown request type `{name}`"))
            .with_details(serde_json::json!({ "requestType": name }))
    }

    /// `INVALID_PAYLOAD` (400) for a payload that does not decode into the request type;
    /// `details` carries the request type, the path to the offending value (`null` when the
    /// payload as a whole is wrong) and the decoder's reason.
    pub fn invalid_payload(request: &str, error: &DecodeError) -> Self {
        Self::new(codes::INVALID_PAYLOAD, 400, format!("invalid payload for `{request}`: {error}"))
            .with_details(serde_json::json!({
                "requestType": request,
                "path": error.path,
                "reason": error.reason,
            }))
    }

    /// `INTERNAL_ERROR` (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, 500, message)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} ({status}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for WireError {}

/// Why a payload did not decode into the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where in the payload the decoder gave up, like `items[0].quantity`; `None` when the
    /// problem is the payload as a whole.
    pub path: Option<String>,
    /// What the decoder said.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn whole(reason: impl Into<String>) -> Self {
        Self { path: None, reason: reason.into() }
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "at `{path}`: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for DecodeError {}
