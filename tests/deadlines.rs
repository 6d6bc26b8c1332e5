//! Every request carries a deadline: the server cancels a handler that outlives it, a
//! nested call inherits what is left of it, and a caller that stops waiting cancels the
//! handler (in process through its reply channel, over `ws://` with a `cancel` frame).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use messaging_runtime::prelude::*;

const WAIT: Duration = Duration::from_secs(5);

/// Works for `ms` milliseconds.
#[request("work", response = u64)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Work {
    /// How long.
    pub ms: u64,
}

/// Unused.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum WorkError {
    /// The nested call failed.
    #[error(status = 502, message = "the nested call failed: {reason}")]
    Nested {
        /// Why.
        reason: String,
    },
}

/// A worker.
#[contract(name = "worker", version = "1.0.0", error = WorkError)]
pub trait Worker {
    /// Works.
    async fn work(&self, req: Work, cx: Context) -> Result<u64, WorkError>;
}

/// Records whether a handler was dropped before it finished.
#[derive(Default)]
struct Probe {
    cancelled: AtomicBool,
    budgets: Mutex<Vec<Duration>>,
}

struct CancelGuard(Arc<Probe>, bool);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

struct Sleeper {
    probe: Arc<Probe>,
    /// When set, each request is passed on to this worker with the caller's context.
    next: Option<WorkerClient>,
}

impl Worker for Sleeper {
    async fn work(&self, req: Work, cx: Context) -> Result<u64, WorkError> {
        self.probe.budgets.lock().expect("budgets").push(cx.remaining().unwrap_or(Duration::MAX));
        if let Some(next) = &self.next {
            let nested = next.work(req).context(cx.forward()).await;
            return nested.map_err(|e| WorkError::nested(e.to_string()));
        }
        let mut guard = CancelGuard(Arc::clone(&self.probe), false);
        tokio::time::sleep(Duration::from_millis(req.ms)).await;
        guard.1 = true;
        Ok(req.ms)
    }
}

async fn serve(
    address: &str,
    next: Option<WorkerClient>,
) -> (messaging_runtime::RunningServer, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let server = Server::bind(address)
        .await
        .expect("binds")
        .serve(WorkerServer::new(Sleeper { probe: Arc::clone(&probe), next }))
        .start()
        .await
        .expect("starts");
    (server, probe)
}

/// Waits, bounded, until the probe's handler was cancelled; fails saying `what` otherwise.
async fn until_cancelled(probe: &Probe, what: &str) {
    messaging_tests::wait::until(what, || probe.cancelled.load(Ordering::SeqCst)).await;
}

#[tokio::test]
async fn a_handler_that_outlives_its_deadline_is_cancelled() {
    for address in ["memory://deadline-cancel", "ws://127.0.0.1:0/work"] {
        let (server, probe) = serve(address, None).await;
        let client = WorkerClient::connect(server.address()).await.expect("connects");
        let outcome = client.work(Work { ms: 60_000 }).timeout(Duration::from_millis(100)).await;
        assert!(matches!(outcome, Err(CallError::Timeout(_))), "{address}: {outcome:?}");
        until_cancelled(&probe, &format!("{address}: the server cancelled the handler")).await;
        assert_eq!(client.work(Work { ms: 1 }).await.expect("still serving"), 1);
        server.stop().await;
    }
}

#[tokio::test]
async fn a_caller_that_stops_waiting_cancels_the_handler() {
    for address in ["memory://deadline-drop", "ws://127.0.0.1:0/drop"] {
        let (server, probe) = serve(address, None).await;
        let client = WorkerClient::connect(server.address()).await.expect("connects");
        let call = {
            let client = client.clone();
            tokio::spawn(async move { client.work(Work { ms: 60_000 }).await })
        };
        until_started(&probe, 1).await;
        call.abort();
        // Well before the call's 30 s deadline: the drop itself cancelled the handler.
        until_cancelled(&probe, &format!("{address}: dropping the call cancelled it")).await;
        assert_eq!(client.work(Work { ms: 1 }).await.expect("still serving"), 1, "{address}");
        server.stop().await;
    }
}

/// Waits until `count` requests reached the handler.
async fn until_started(probe: &Probe, count: usize) {
    let what = format!("{count} requests reached the handler");
    messaging_tests::wait::until(&what, || probe.budgets.lock().expect("budgets").len() >= count)
        .await;
}

#[tokio::test]
async fn a_cancel_frame_cancels_the_handler_and_nothing_is_answered() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let (server, probe) = serve("ws://127.0.0.1:0/cancel-frame", None).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.address()).await.expect("connects");
    let frames = [
        r#"{"type":"request","requestId":"slow","requestType":"work","payload":{"ms":60000}}"#,
        // Not in flight: ignored.
        r#"{"type":"cancel","requestId":"never-sent"}"#,
    ];
    for frame in frames {
        ws.send(Message::text(frame)).await.expect("sends");
    }
    until_started(&probe, 1).await;
    ws.send(Message::text(r#"{"type":"cancel","requestId":"slow"}"#)).await.expect("sends");
    until_cancelled(&probe, "the cancel frame cancelled the handler").await;
    let quick = r#"{"type":"request","requestId":"quick","requestType":"work","payload":{"ms":1}}"#;
    ws.send(Message::text(quick)).await.expect("sends");
    let answer = tokio::time::timeout(WAIT, ws.next()).await.expect("answered in time");
    let Some(Ok(Message::Text(text))) = answer else { panic!("a text answer, got {answer:?}") };
    // The first and only answer is the quick request's: the cancelled one got none.
    assert_eq!(text.as_str(), r#"{"type":"response","requestId":"quick","success":true,"data":1}"#);
    server.stop().await;
}

#[tokio::test]
async fn a_nested_call_inherits_what_is_left_of_the_deadline() {
    let (inner, inner_probe) = serve("ws://127.0.0.1:0/inner", None).await;
    let next = WorkerClient::connect(inner.address()).await.expect("connects");
    let (outer, _) = serve("memory://deadline-outer", Some(next)).await;
    let client = WorkerClient::connect(outer.address()).await.expect("connects");
    let outcome = client.work(Work { ms: 60_000 }).timeout(Duration::from_millis(300)).await;
    assert!(outcome.is_err(), "the nested call cannot finish in time: {outcome:?}");
    let budgets = inner_probe.budgets.lock().expect("budgets").clone();
    let budget = *budgets.first().expect("the inner service was called");
    assert!(
        budget <= Duration::from_millis(300),
        "the inner handler saw at most the caller's budget: {budget:?}"
    );
    until_cancelled(&inner_probe, "the inner handler was cancelled at the inherited deadline")
        .await;
    outer.stop().await;
    inner.stop().await;
}
