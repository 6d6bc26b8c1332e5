//! One way to wait for a condition: poll it every few milliseconds, at most [`WAIT`]. A test
//! waits for what it needs to be true, never for a fixed time.

use std::future::Future;
use std::time::Duration;

/// How long any condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Waits until `done` holds, checking every 2 ms; fails the test, naming `what`, after
/// [`WAIT`].
///
/// # Panics
/// When `done` still does not hold after [`WAIT`].
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let reached = tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    assert!(reached.await.is_ok(), "timed out after {WAIT:?} waiting until {what}");
}

/// Tries `attempt` every 2 ms until it gives `Some`, and returns what it gave; fails the
/// test, naming `what`, after [`WAIT`].
///
/// # Panics
/// When `attempt` still gives `None` after [`WAIT`].
pub async fn until_some<T, Fut>(what: &str, mut attempt: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(value) = attempt().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    match reached.await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?} waiting until {what}"),
    }
}
