//! The test contract shared by the limit tests: requests that wait for the test's go-ahead,
//! requests answered at once, and a bulky event; with helpers to serve and connect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;
use tokio::sync::Semaphore;

/// Every wait in this file is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// Waits for the test's go-ahead, then answers `value`.
#[request("hold", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// What to answer.
    pub value: u32,
}

/// Answers at once.
#[request("ping", response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ping {
    /// What to answer.
    pub value: u32,
}

/// A bulky event, to fill a socket quickly.
#[event("tick")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Its number.
    pub n: u32,
    /// Ballast.
    pub ballast: String,
}

/// Never answered.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum HoldError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Requests that wait for the test.
#[contract(name = "holder", version = "1.0.0", error = HoldError, events(Tick))]
pub trait Holder {
    /// Waits for a go-ahead.
    async fn hold(&self, req: Hold) -> Result<u32, HoldError>;
    /// Answers at once.
    async fn ping(&self, req: Ping) -> Result<u32, HoldError>;
}

/// Counts the held requests that started; each waits for one permit.
#[derive(Clone)]
pub struct Gate {
    /// How many held requests started.
    pub started: Arc<AtomicUsize>,
    /// One permit lets one held request answer.
    pub release: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Self {
        Self { started: Arc::default(), release: Arc::new(Semaphore::new(0)) }
    }
}

impl Gate {
    /// Waits until `n` held requests started.
    pub async fn started(&self, n: usize) {
        let reached = tokio::time::timeout(WAIT, async {
            while self.started.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
        assert!(reached.is_ok(), "{n} held requests should have started");
    }
}

impl Holder for Gate {
    async fn hold(&self, req: Hold) -> Result<u32, HoldError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let permit = self.release.acquire().await;
        drop(permit);
        Ok(req.value)
    }

    async fn ping(&self, req: Ping) -> Result<u32, HoldError> {
        Ok(req.value)
    }
}

/// Serves the contract at `address`, tuned by `tune`.
pub async fn start(
    address: &str,
    gate: &Gate,
    tune: impl FnOnce(Server) -> Server,
) -> RunningServer {
    let server = Server::bind(address).await.expect("binds").serve(HolderServer::new(gate.clone()));
    tune(server).start().await.expect("starts")
}

/// Connects a typed client whose calls wait at most [`WAIT`].
pub async fn connect(address: &str) -> HolderClient {
    let client = Client::builder().timeout(WAIT).connect(address).await.expect("connects");
    HolderClient::from_client(client)
}

/// Waits until the server lists `n` clients.
pub async fn clients(server: &RunningServer, n: usize) {
    let reached = tokio::time::timeout(WAIT, async {
        while server.clients().len() != n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "expected {n} clients, have {}", server.clients().len());
}
