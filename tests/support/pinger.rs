//! A one-request contract for transport tests: `ping` answers 1.

use messaging_runtime::prelude::*;

/// Pings.
#[request("ping", response = u8)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {}

/// Unused.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum PingError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Answers pings.
#[contract(name = "pinger", version = "1.0.0", error = PingError)]
pub trait Pinger {
    /// Answers 1.
    async fn ping(&self, req: Ping) -> Result<u8, PingError>;
}

/// Answers every ping with 1.
pub struct One;

impl Pinger for One {
    async fn ping(&self, _req: Ping) -> Result<u8, PingError> {
        Ok(1)
    }
}
