//! `AuthError` as a contract error, so `Client::login` returns the same typed error the
//! server's gate answered with.

use super::AuthError;
use crate::contract::{ErrorCode, ErrorDescriptor};
use crate::error::{codes, WireError};

impl ErrorCode for AuthError {
    const CATALOG: &'static [ErrorDescriptor] = &[
        ErrorDescriptor {
            code: codes::UNAUTHENTICATED,
            status: 401,
            template: "authentication failed",
            variant: "InvalidCredentials | MissingToken | UnknownToken | ExpiredToken | ForwardedCredentialsRefused",
            params: &["reason"],
        },
        ErrorDescriptor {
            code: codes::FORBIDDEN,
            status: 403,
            template: "permission denied: this request requires `{permission}`",
            variant: "Forbidden",
            params: &["reason", "permission"],
        },
        ErrorDescriptor {
            code: codes::OVERLOADED,
            status: 503,
            template: "too many logins at once: every password hashing slot is busy",
            variant: "Overloaded",
            params: &["reason"],
        },
        ErrorDescriptor {
            code: codes::TOO_MANY_ATTEMPTS,
            status: 429,
            template: "too many logins at once on this connection: try again in {retryAfterMs} ms",
            variant: "TooManyAttempts",
            params: &["reason", "retryAfterMs"],
        },
    ];

    fn code(&self) -> &'static str {
        AuthError::code(self)
    }

    fn status(&self) -> u16 {
        AuthError::status(self)
    }

    fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.to_wire().details {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    fn from_wire(error: &WireError) -> Option<Self> {
        let details = error.details.as_ref();
        let field = |key: &str| details.and_then(|d| d.get(key)).and_then(|v| v.as_str());
        match (error.code.as_str(), field("reason")) {
            (codes::FORBIDDEN, _) => {
                Some(Self::Forbidden { permission: field("permission")?.to_owned() })
            }
            (codes::UNAUTHENTICATED, Some("invalidCredentials")) => Some(Self::InvalidCredentials),
            (codes::UNAUTHENTICATED, Some("missingToken")) => Some(Self::MissingToken),
            (codes::UNAUTHENTICATED, Some("unknownToken")) => Some(Self::UnknownToken),
            (codes::UNAUTHENTICATED, Some("expiredToken")) => Some(Self::ExpiredToken),
            (codes::UNAUTHENTICATED, Some("forwardedCredentialsRefused")) => {
                Some(Self::ForwardedCredentialsRefused)
            }
            (codes::OVERLOADED, Some("hashingBusy")) => Some(Self::Overloaded),
            (codes::TOO_MANY_ATTEMPTS, _) => {
                let retry_after_ms = details.and_then(|d| d.get("retryAfterMs"))?.as_u64()?;
                Some(Self::TooManyAttempts { retry_after_ms })
            }
            _ => None,
        }
    }
}
