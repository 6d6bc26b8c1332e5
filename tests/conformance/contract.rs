//! The contract the suite speaks: requests that answer, fail or hold, events both ways.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use messaging_runtime::prelude::*;

/// Echoes `value` after `delay_ms`.
#[request("echo", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echo {
    /// What to answer.
    pub value: u32,
    /// How long to wait first.
    pub delay_ms: u64,
}

/// Always fails with the contract's error.
#[request("refuse", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refuse {
    /// Why, echoed in the error.
    pub reason: String,
}

/// Holds for a minute, unless cancelled.
#[request("hold", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// What to answer, should it ever.
    pub value: u32,
}

/// A numbered event of the first kind, from the server.
#[event("alpha")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alpha {
    /// Its number.
    pub n: u32,
}

/// A numbered event of the second kind, from the server.
#[event("beta")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beta {
    /// Its number.
    pub n: u32,
}

/// An event a client emits.
#[event("shout")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shout {
    /// The words.
    pub text: String,
}

/// Asks which id the server gave the caller.
#[request("whoAmI", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {}

/// Asks what the handler's context says of the call's timing.
#[request("timing", response = Timing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AskTiming {}

/// The timing a handler saw in its context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "messaging_runtime::schemars")]
pub struct Timing {
    /// The context's timestamp, ms since the Unix epoch.
    pub timestamp: Option<u64>,
    /// The milliseconds left to the context's deadline when the handler ran.
    pub deadline_ms: Option<u64>,
}

/// What the service fails with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum ConfError {
    /// Refused, as asked.
    #[error(status = 422, message = "refused: {reason}")]
    Refused {
        /// Why.
        reason: String,
    },
}

/// The service every transport serves.
#[contract(name = "conformance", version = "1.0.0", error = ConfError, events(Alpha, Beta, Shout))]
pub trait Conformance {
    /// Echoes.
    async fn echo(&self, req: Echo) -> Result<u32, ConfError>;
    /// Fails.
    async fn refuse(&self, req: Refuse) -> Result<u32, ConfError>;
    /// Holds.
    async fn hold(&self, req: Hold) -> Result<u32, ConfError>;
    /// Tells the caller its id.
    async fn who_am_i(&self, req: WhoAmI, cx: Context) -> Result<String, ConfError>;
    /// Tells the caller the timing its context arrived with.
    async fn timing(&self, req: AskTiming, cx: Context) -> Result<Timing, ConfError>;
}

/// Counts the held requests that started, and those that ended (which, within a test, means
/// cancelled: they hold for a minute).
#[derive(Clone, Default)]
pub struct Service {
    /// Held requests that started.
    pub started: Arc<AtomicUsize>,
    /// Held requests whose handler was dropped.
    pub ended: Arc<AtomicUsize>,
}

struct Ended(Arc<AtomicUsize>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Conformance for Service {
    async fn echo(&self, req: Echo) -> Result<u32, ConfError> {
        tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
        Ok(req.value)
    }

    async fn refuse(&self, req: Refuse) -> Result<u32, ConfError> {
        Err(ConfError::refused(req.reason))
    }

    async fn who_am_i(&self, _req: WhoAmI, cx: Context) -> Result<String, ConfError> {
        Ok(cx.client_id().to_string())
    }

    async fn timing(&self, _req: AskTiming, cx: Context) -> Result<Timing, ConfError> {
        let context = cx.message();
        let left = context.deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let deadline_ms = left.map(|left| u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
        Ok(Timing { timestamp: context.timestamp, deadline_ms })
    }

    async fn hold(&self, req: Hold) -> Result<u32, ConfError> {
        let _ended = Ended(Arc::clone(&self.ended));
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(req.value)
    }
}
