//! The rate-limiting middleware: a token bucket per caller that answers
//! `RATE_LIMIT_EXCEEDED` (429) at once when the caller's bucket is empty.
//!
//! Answering at once (rather than holding the request, as `tower::limit::RateLimit` does)
//! tells the caller when to come back (`details.retryAfterMs`) and keeps one caller's burst
//! from queueing in front of everyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use messaging_runtime::middleware::{from_fn, FromFnLayer, Next};
use messaging_runtime::server::ServerRequest;
use messaging_runtime::{Context, WireError};
use serde_json::json;

use super::Answer;

/// The code of the answer to a request over the limit.
pub const RATE_LIMIT_EXCEEDED: &str = "RATE_LIMIT_EXCEEDED";

/// A token bucket per caller: `capacity` requests at once, refilled evenly over `window`.
/// Cheap to clone: clones share the buckets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    capacity: u32,
    window: Duration,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// At most `capacity` requests per caller in any `window`.
    pub fn new(capacity: u32, window: Duration) -> Self {
        Self { capacity: capacity.max(1), window, buckets: Arc::default() }
    }

    /// Takes a token from `caller`'s bucket, or says how long until one is back.
    pub fn try_acquire(&self, caller: &str) -> Result<(), Duration> {
        let capacity = f64::from(self.capacity);
        let per_token = self.window.as_secs_f64() / capacity;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket =
            buckets.entry(caller.to_owned()).or_insert(Bucket { tokens: capacity, updated: now });
        let refilled = now.duration_since(bucket.updated).as_secs_f64() / per_token;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) * per_token))
        }
    }

    /// The answer to a request over the limit.
    fn exceeded(&self, retry_after: Duration) -> WireError {
        WireError::new(RATE_LIMIT_EXCEEDED, 429, "Rate limit exceeded. Please try again later.")
            .with_details(json!({
                "limit": self.capacity,
                "windowMs": self.window.as_millis(),
                "retryAfterMs": retry_after.as_millis(),
            }))
    }

    /// The middleware. Placed after authentication, it limits each verified user (however
    /// many connections they open); an anonymous caller is limited per connection.
    pub fn layer(
        &self,
    ) -> FromFnLayer<impl Fn(ServerRequest, Next<ServerRequest>) -> Answer + Clone> {
        let limiter = self.clone();
        from_fn(move |request: ServerRequest, next: Next<ServerRequest>| -> Answer {
            let verdict = limiter.try_acquire(&caller(&request.context));
            let limiter = limiter.clone();
            Box::pin(async move {
                match verdict {
                    Ok(()) => next.run(request).await,
                    Err(retry_after) => Err(limiter.exceeded(retry_after).into()),
                }
            })
        })
    }
}

/// Whose bucket a request draws on: the verified actor's, else the connection's (the id the
/// server assigned, which the client cannot choose).
fn caller(context: &Context) -> String {
    match context.auth.as_ref().and_then(|auth| auth.actor.as_ref()) {
        Some(actor) => format!("actor:{}", actor.id),
        None => format!("client:{}", context.client_id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_says_when_to_retry() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert_eq!(limiter.try_acquire("a"), Ok(()));
        assert_eq!(limiter.try_acquire("a"), Ok(()));
        let retry = limiter.try_acquire("a").expect_err("empty");
        assert!(retry > Duration::from_secs(29) && retry <= Duration::from_secs(30), "{retry:?}");
        assert_eq!(limiter.try_acquire("b"), Ok(()), "buckets are per caller");
    }
}
