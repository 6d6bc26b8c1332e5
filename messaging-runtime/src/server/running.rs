//! A started server: its address and clients, and how it stops (at once when dropped,
//! gracefully when told, or when a signal comes).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::registry::{Broadcaster, ClientInfo, Registry};
#[cfg(doc)]
use super::Server;

/// A started server. Dropping it stops it at once (connections are dropped, nothing is
/// drained): keep it for as long as the server should run, then [`RunningServer::stop`] it,
/// or hand it to [`RunningServer::run_until`] / [`RunningServer::run_until_ctrl_c`].
///
/// # Examples
///
/// ```
/// # use messaging_runtime::prelude::*;
/// # #[request("echo", response = String)]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echo { pub text: String }
/// # #[event]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echoed { pub text: String }
/// # #[error_code]
/// # #[derive(Debug, Clone, PartialEq)]
/// # pub enum EchoError {
/// #     #[error(status = 400, message = "nothing to echo")]
/// #     Empty,
/// # }
/// # #[contract(name = "echo", version = "1.0.0", error = EchoError, events(Echoed))]
/// # pub trait Echoer {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError>;
/// # }
/// # struct Parrot;
/// # impl Echoer for Parrot {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError> {
/// #         if req.text.is_empty() {
/// #             return Err(EchoError::empty());
/// #         }
/// #         cx.events::<EchoerEvents>().echoed(Echoed { text: req.text.clone() });
/// #         Ok(req.text)
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Server::bind("memory://doc-running").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// assert_eq!(running.address(), "memory://doc-running");
/// let client = EchoerClient::connect(running.address()).await?;
/// assert_eq!(running.clients().len(), 1);
/// // Serves until the signal resolves, then stops gracefully (`run_until_ctrl_c` waits for
/// // Ctrl-C or SIGTERM). Dropping a `RunningServer` stops it at once.
/// let last_call = async move {
///     let _ = client.echo(Echo { text: "last".into() }).await;
/// };
/// running.run_until(last_call).await;
/// # Ok(()) }
/// ```
#[must_use = "dropping a `RunningServer` stops the server at once: keep it, `.stop().await` it, \
              or `.run_until_ctrl_c().await` it"]
pub struct RunningServer {
    pub(super) address: String,
    pub(super) broadcaster: Broadcaster,
    pub(super) registry: Arc<Registry>,
    pub(super) acceptor: Option<JoinHandle<()>>,
    pub(super) shutdown: watch::Sender<bool>,
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer").field("address", &self.address).finish()
    }
}

impl RunningServer {
    /// The address clients connect to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The clients connected right now, with the ids the server assigned.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.registry.list()
    }

    /// Publishes events to this server's clients.
    pub fn broadcaster(&self) -> Broadcaster {
        self.broadcaster.clone()
    }

    /// Shuts down gracefully: stops accepting clients at once (the address can be bound
    /// again), stops reading from the connections (a request sent from now on fails on the
    /// client with `Disconnected`), lets the requests in flight finish and answers them
    /// within the grace period ([`Server::shutdown_grace`], 5 s by default), then closes
    /// every connection, saying the server is going away (over `ws://`, close code 1001).
    /// Requests still running after the grace period are cancelled; their callers see
    /// `Disconnected`. Returns once every connection is closed.
    pub async fn stop(mut self) {
        self.shutdown.send_replace(true);
        if let Some(acceptor) = self.acceptor.take() {
            // It ends by itself, within the grace period.
            let _ = acceptor.await;
        }
        self.registry.clear();
        tracing::info!(address = %self.address, "server stopped");
    }
}

impl RunningServer {
    /// Serves until `signal` resolves, then stops gracefully (as [`RunningServer::stop`]
    /// does). With a signal that never resolves, runs for as long as the task does:
    /// `server.run_until(std::future::pending()).await`.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!(address = %self.address, "stopping: the shutdown signal fired");
        self.stop().await;
    }

    /// Serves until the process is interrupted (Ctrl-C) or, on Unix, terminated (SIGTERM),
    /// then stops gracefully, as a service under a process manager should. When the
    /// signals cannot be listened for, stops at once and says why in the log.
    pub async fn run_until_ctrl_c(self) {
        self.run_until(shutdown_signal()).await;
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix; at once when neither can be listened for.
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => {
            if let Err(e) = interrupted {
                tracing::error!(error = %e, "cannot listen for Ctrl-C: stopping now");
            }
        }
        () = terminate => {}
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(acceptor) = &self.acceptor {
            acceptor.abort();
        }
        self.registry.clear();
    }
}
