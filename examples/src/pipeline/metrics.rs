//! The metrics middleware: counts requests, errors by code and latency.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use messaging_runtime::middleware::{from_fn, into_wire, FromFnLayer, Next};
use messaging_runtime::server::ServerRequest;
use messaging_runtime::WireError;

use super::Answer;

/// Collects what the metrics layer sees. Cheap to clone: clones share the same tally.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    tally: Arc<Mutex<Tally>>,
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    by_type: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    total: Duration,
    min: Option<Duration>,
    max: Duration,
}

/// What the metrics layer collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Requests seen.
    pub requests: u64,
    /// Requests answered with a success.
    pub succeeded: u64,
    /// Requests seen, by request type.
    pub by_type: BTreeMap<String, u64>,
    /// Failed requests, by error code.
    pub errors: BTreeMap<String, u64>,
    /// Time taken, from the metrics layer to the answer; `None` before the first request.
    pub latency: Option<Latency>,
}

/// Minimum, mean and maximum of the time requests took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// The fastest request.
    pub min: Duration,
    /// The mean.
    pub avg: Duration,
    /// The slowest request.
    pub max: Duration,
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one request: its type, its error (if it failed) and the time it took.
    pub fn record(&self, request_type: &str, error: Option<&WireError>, took: Duration) {
        let mut tally = self.lock();
        tally.requests += 1;
        *tally.by_type.entry(request_type.to_owned()).or_default() += 1;
        if let Some(error) = error {
            *tally.errors.entry(error.code.clone()).or_default() += 1;
        }
        tally.total += took;
        tally.min = Some(tally.min.map_or(took, |min| min.min(took)));
        tally.max = tally.max.max(took);
    }

    /// What was collected so far.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let tally = self.lock();
        let failed: u64 = tally.errors.values().sum();
        let latency = tally.min.map(|min| Latency {
            min,
            avg: tally.total / u32::try_from(tally.requests).unwrap_or(u32::MAX).max(1),
            max: tally.max,
        });
        MetricsSnapshot {
            requests: tally.requests,
            succeeded: tally.requests - failed,
            by_type: tally.by_type.clone(),
            errors: tally.errors.clone(),
            latency,
        }
    }

    /// The middleware: times the rest of the pipeline and records the outcome. Errors leave
    /// it as the [`WireError`] the caller will receive, so the code counted is the code sent.
    pub fn layer(
        &self,
    ) -> FromFnLayer<impl Fn(ServerRequest, Next<ServerRequest>) -> Answer + Clone> {
        let metrics = self.clone();
        from_fn(move |request: ServerRequest, next: Next<ServerRequest>| -> Answer {
            let metrics = metrics.clone();
            Box::pin(async move {
                let request_type = request.name.clone();
                let started = Instant::now();
                match next.run(request).await {
                    Ok(answer) => {
                        metrics.record(&request_type, None, started.elapsed());
                        Ok(answer)
                    }
                    Err(error) => {
                        let wire = into_wire(error);
                        metrics.record(&request_type, Some(&wire), started.elapsed());
                        Err(wire.into())
                    }
                }
            })
        })
    }
}

impl fmt::Display for MetricsSnapshot {
    /// A small table: totals, requests by type, errors by code, latency.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "requests: {} ({} succeeded, {} failed)",
            self.requests,
            self.succeeded,
            self.requests - self.succeeded
        )?;
        for (request_type, count) in &self.by_type {
            writeln!(f, "  {request_type:<24} {count}")?;
        }
        writeln!(f, "errors by code:")?;
        if self.errors.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for (code, count) in &self.errors {
            writeln!(f, "  {code:<24} {count}")?;
        }
        match self.latency {
            Some(Latency { min, avg, max }) => write!(
                f,
                "latency: min {:.3} ms, avg {:.3} ms, max {:.3} ms",
                millis(min),
                millis(avg),
                millis(max)
            ),
            None => f.write_str("latency: (no requests)"),
        }
    }
}

/// A duration in milliseconds, with fractions.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_by_code_and_latency_bounds() {
        let metrics = Metrics::default();
        assert_eq!(metrics.snapshot().latency, None);
        metrics.record("createUser", None, Duration::from_millis(2));
        metrics.record(
            "createUser",
            Some(&WireError::new("VALIDATION_ERROR", 400, "x")),
            Duration::from_millis(4),
        );
        metrics.record(
            "getUserById",
            Some(&WireError::new("UNAUTHENTICATED", 401, "y")),
            Duration::from_millis(6),
        );
        let snapshot = metrics.snapshot();
        assert_eq!((snapshot.requests, snapshot.succeeded), (3, 1));
        assert_eq!(snapshot.by_type["createUser"], 2);
        assert_eq!(snapshot.errors["VALIDATION_ERROR"], 1);
        let latency = snapshot.latency.expect("three requests");
        assert_eq!(
            (latency.min, latency.avg, latency.max),
            (Duration::from_millis(2), Duration::from_millis(4), Duration::from_millis(6))
        );
    }
}
