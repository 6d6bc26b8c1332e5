//! One way to wait for a condition: poll it every few milliseconds, at most [`WAIT`]. A test
//! waits for what it needs to be true, never for a fixed time.

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
