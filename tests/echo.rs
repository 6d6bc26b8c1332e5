//! The echo service: the contract of the socket transport tests (`ws_transport.rs` over
//! `ws://` and `tcp://`, `ws_tls.rs` over `wss://`). It echoes a number after an optional
//! delay, so answers can overtake each other or be left waiting, and clients can emit `said`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::prelude::*;

/// Echoes a number after a delay.
#[request("echo", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echo {
    /// What to echo.
    pub value: u32,
    /// How long to wait first.
    pub delay_ms: u64,
}

impl Echo {
    /// Echoes `value` at once.
    pub fn now(value: u32) -> Self {
        Self { value, delay_ms: 0 }
    }
}

/// A client said something.
#[event("said")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Said {
    /// The words.
    pub text: String,
}

/// The echo service's errors.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum EchoError {
    /// Never answered.
    #[error(status = 503, message = "echo unavailable")]
    Unavailable,
}

/// Echoes.
#[contract(name = "echo", version = "1.0.0", error = EchoError, events(Said))]
pub trait EchoService {
    /// Echoes one number.
    async fn echo(&self, req: Echo, cx: Context) -> Result<u32, EchoError>;
}

/// The echo service; its clones share the count of echoes started.
#[derive(Debug, Clone, Default)]
pub struct Echoer {
    started: Arc<AtomicUsize>,
}

impl Echoer {
    /// How many echoes have started, for a test to wait until one is being served.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
}

impl EchoService for Echoer {
    async fn echo(&self, req: Echo, _cx: Context) -> Result<u32, EchoError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
        Ok(req.value)
    }
}
