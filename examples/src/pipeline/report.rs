//! What the pipeline demo saw: each request's answer, and the metrics.

use std::fmt;

use messaging_runtime::{CallError, ErrorCode, ValidationFailure, WireError};
use serde::Serialize;

use super::MetricsSnapshot;

/// The code [`Step::code`] gives a successful answer.
pub const OK: &str = "OK";

/// One request of the demo and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the request shows: `login`, `passes`, `validation-client`, `validation`,
    /// `unauthenticated`, `forbidden` or `burst`.
    pub scenario: &'static str,
    /// Its wire name.
    pub request_type: &'static str,
    /// Who sent what.
    pub description: String,
    /// The answer as JSON, or the error as it came back over the wire.
    pub outcome: Result<serde_json::Value, WireError>,
}

impl Step {
    /// A step from a typed call's answer.
    pub fn new<T: Serialize, E: ErrorCode>(
        scenario: &'static str,
        request_type: &'static str,
        description: impl Into<String>,
        answer: Result<T, CallError<E>>,
    ) -> Self {
        let outcome = match answer {
            Ok(value) => {
                serde_json::to_value(value).map_err(|e| WireError::internal(e.to_string()))
            }
            Err(error) => Err(wire_error(error)),
        };
        Self { scenario, request_type, description: description.into(), outcome }
    }

    /// `OK`, or the error's code.
    pub fn code(&self) -> &str {
        match &self.outcome {
            Ok(_) => OK,
            Err(error) => &error.code,
        }
    }

    /// The error's status, if it failed.
    pub fn status(&self) -> Option<u16> {
        self.outcome.as_ref().err().and_then(|error| error.status)
    }

    /// The failing fields, for a `VALIDATION_ERROR`.
    pub fn validation(&self) -> Option<ValidationFailure> {
        self.outcome.as_ref().err().and_then(ValidationFailure::from_wire)
    }
}

/// The wire error behind a failed call, whichever side it came from.
fn wire_error<E: ErrorCode>(error: CallError<E>) -> WireError {
    match error {
        CallError::Contract(e) => e.to_wire(),
        // Refused by the client before sending, or answered so by the server.
        CallError::Validation(failure) => failure.to_wire(),
        CallError::Internal(wire)
        | CallError::Unauthenticated(wire)
        | CallError::Forbidden(wire) => wire,
        CallError::Timeout(after) => {
            WireError::new("TIMEOUT", 504, format!("no answer within {} ms", after.as_millis()))
        }
        CallError::Disconnected => WireError::new("DISCONNECTED", 503, "the connection was lost"),
        CallError::UnknownRequestType(m) => WireError::new("UNKNOWN_REQUEST_TYPE", 404, m),
        CallError::InvalidPayload(m) => WireError::new("INVALID_PAYLOAD", 400, m),
        other => WireError::internal(other.to_string()),
    }
}

impl fmt::Display for Step {
    /// `[scenario] description (requestType)`, then the answer's JSON or the error with one
    /// line per failing field (or its details).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[{}] {} ({})", self.scenario, self.description, self.request_type)?;
        let error = match &self.outcome {
            Ok(value) => return write!(f, "    -> OK {value}"),
            Err(error) => error,
        };
        write!(f, "    -> {}", error.code)?;
        if let Some(status) = error.status {
            write!(f, " ({status})")?;
        }
        write!(f, ": {}", error.message)?;
        if let Some(failure) = self.validation() {
            for field in failure.fields() {
                write!(f, "\n       {} ({}): {}", field.field, field.rule, field.message)?;
            }
        } else if let Some(details) = &error.details {
            write!(f, "\n       details: {details}")?;
        }
        Ok(())
    }
}

/// Everything the demo saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Each request, in the order sent.
    pub steps: Vec<Step>,
    /// What the metrics layer counted.
    pub metrics: MetricsSnapshot,
}

impl Report {
    /// The steps of one scenario, in order.
    pub fn scenario<'a>(&'a self, scenario: &'a str) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps.iter().filter(move |step| step.scenario == scenario)
    }

    /// The codes of one scenario's steps, in order.
    pub fn codes(&self, scenario: &str) -> Vec<&str> {
        self.steps.iter().filter(|step| step.scenario == scenario).map(Step::code).collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        write!(f, "{}", self.metrics)
    }
}
