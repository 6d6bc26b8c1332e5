//! Every error answer of the gateway: an HTTP status and the guide's body
//! `{"error": {"code", "message", "details"}}`, whether the order service refused (its
//! contract's error map gives the status), the runtime failed, or the HTTP request itself
//! was wrong.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use messaging_runtime::error::codes;
use messaging_runtime::{CallError, ErrorCode, WireError};
use serde_json::{json, Value};

/// The gateway's own error codes, next to the order service's and the runtime's.
pub mod gateway_codes {
    /// The body is not JSON at all (400).
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// The body is JSON of the wrong shape: a field missing or of the wrong type (400).
    pub const INVALID_REQUEST_BODY: &str = "INVALID_REQUEST_BODY";
    /// The body is not declared `application/json` (415).
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// The body could not be read, or is larger than the gateway accepts (400 or 413).
    pub const UNREADABLE_BODY: &str = "UNREADABLE_BODY";
    /// A path segment could not be decoded (400).
    pub const INVALID_PATH: &str = "INVALID_PATH";
    /// No route has this path (404).
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The path exists, not with this method (405).
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The order service cannot be reached (503).
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
}

/// An error answer: the HTTP status and what goes into the body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable code, e.g. `ORDER_NOT_FOUND`.
    pub code: String,
    /// The human-readable message.
    pub message: String,
    /// Structured details (a contract error's fields, a decoder's path); `null` when none.
    pub details: Option<Value>,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), details: None }
    }

    /// The same error, with details.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The body: `{"error": {"code", "message", "details"}}`.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details.clone().unwrap_or(Value::Null),
            }
        })
    }

    /// A wire error as the order service (or the runtime on its side) sent it: its own
    /// code, message and details, with its status when that is an error status, else 502
    /// (the upstream answered something that makes no sense as an error).
    pub fn from_wire(error: WireError) -> Self {
        let status = error
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::BAD_GATEWAY);
        Self { status, code: error.code, message: error.message, details: error.details }
    }

    /// Sorts a failed call to the order service into an HTTP answer:
    ///
    /// | call error | status | code |
    /// |---|---|---|
    /// | `Contract(e)` | `e.status()`, from the contract's error map | `e.code()`, details = its fields |
    /// | `Timeout` | 504 | `TIMEOUT` |
    /// | `Disconnected` | 503 | `SERVICE_UNAVAILABLE` |
    /// | `InvalidPayload` | 400 | `INVALID_PAYLOAD` |
    /// | `UnknownRequestType` | 501 | `UNKNOWN_REQUEST_TYPE` |
    /// | `Internal(w)` | `w.status` (500 when absent) | `w.code` (e.g. `INTERNAL_ERROR`, or a runtime code such as `VALIDATION_ERROR`) |
    pub fn from_call<E: ErrorCode>(error: CallError<E>) -> Self {
        match error {
            CallError::Contract(e) => Self::from_wire(e.to_wire()),
            CallError::Timeout(after) => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                codes::TIMEOUT,
                format!("the order service did not answer within {} ms", after.as_millis()),
            ),
            CallError::Disconnected => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                gateway_codes::SERVICE_UNAVAILABLE,
                "the order service is not reachable",
            ),
            CallError::InvalidPayload(message) => {
                Self::new(StatusCode::BAD_REQUEST, codes::INVALID_PAYLOAD, message)
            }
            CallError::UnknownRequestType(message) => {
                Self::new(StatusCode::NOT_IMPLEMENTED, codes::UNKNOWN_REQUEST_TYPE, message)
            }
            CallError::Internal(wire)
            | CallError::Unauthenticated(wire)
            | CallError::Forbidden(wire) => {
                let status = wire.status.unwrap_or(500);
                Self::from_wire(WireError { status: Some(status), ..wire })
            }
            // `CallError` is non-exhaustive: whatever the runtime adds later is a failure
            // the gateway cannot explain better than by its message.
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL_ERROR,
                other.to_string(),
            ),
        }
    }
}

impl<E: ErrorCode> From<CallError<E>> for ApiError {
    fn from(error: CallError<E>) -> Self {
        Self::from_call(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A JSON answer with `status`.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            let message = format!("the answer could not be encoded as JSON: {e}");
            let error = json!({"error": {"code": codes::INTERNAL_ERROR, "message": message, "details": null}});
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string().into_bytes())
        }
    };
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use contracts::order::{OrderError, OrderStatus};

    use super::*;

    type Call = CallError<OrderError>;

    #[test]
    fn a_contract_error_takes_its_status_code_and_fields() {
        let error = ApiError::from(Call::Contract(OrderError::invalid_order_status_transition(
            OrderStatus::Delivered,
            OrderStatus::Pending,
        )));
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error.body(),
            json!({"error": {
                "code": "INVALID_ORDER_STATUS_TRANSITION",
                "message": "Cannot transition order from delivered to pending",
                "details": {"currentStatus": "delivered", "requestedStatus": "pending"},
            }})
        );
        let missing = ApiError::from(Call::Contract(OrderError::order_not_found("order-9")));
        assert_eq!(
            (missing.status, missing.code.as_str()),
            (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
        );
    }

    #[test]
    fn runtime_errors_map_to_gateway_statuses() {
        let status = |e: Call| ApiError::from(e).status.as_u16();
        assert_eq!(status(Call::Timeout(Duration::from_secs(1))), 504);
        assert_eq!(status(Call::Disconnected), 503);
        assert_eq!(status(Call::InvalidPayload("bad".into())), 400);
        assert_eq!(status(Call::UnknownRequestType("nope".into())), 501);
        assert_eq!(status(Call::Internal(WireError::internal("boom"))), 500);
        let forbidden = WireError::new("FORBIDDEN", 403, "no").with_details(json!({"need": "x"}));
        let error = ApiError::from(Call::Internal(forbidden));
        assert_eq!((error.status.as_u16(), error.code.as_str()), (403, "FORBIDDEN"));
        assert_eq!(error.details, Some(json!({"need": "x"})));
        let statusless = WireError { status: None, ..WireError::internal("boom") };
        assert_eq!(status(Call::Internal(statusless)), 500);
        let nonsense = WireError { status: Some(200), ..WireError::internal("boom") };
        assert_eq!(status(Call::Internal(nonsense)), 502);
        let timeout = ApiError::from(Call::Timeout(Duration::from_millis(1500)));
        assert_eq!(timeout.code, "TIMEOUT");
        assert!(timeout.message.contains("1500 ms"), "{}", timeout.message);
    }
}
