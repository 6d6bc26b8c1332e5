//! Reconnecting with exponential backoff and jitter. Subscriptions live in the client, not
//! in the connection, so every one of them carries on over the new connection without the
//! user doing anything.

use std::time::Duration;

use crate::error::TransportError;
use std::sync::Arc;

use crate::transport::{transport_for, ClientLink, Transport};

/// How a client reconnects after losing its connection: the first delay, the factor it
/// grows by, its cap, and how many attempts before giving up (status `error`). Each delay
/// gets up to 20% random jitter, so many clients do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the first attempt (default 100 ms).
    pub initial_delay: Duration,
    /// What each delay is multiplied by (default 2.0).
    pub factor: f64,
    /// The longest delay (default 10 s).
    pub max_delay: Duration,
    /// Attempts before giving up; `None` retries forever (default 10).
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(100),
            factor: 2.0,
            max_delay: Duration::from_secs(10),
            max_attempts: Some(10),
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0-based), without jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 { self.factor } else { 1.0 };
        let grown = self.initial_delay.as_secs_f64()
            * factor.powi(i32::try_from(attempt).unwrap_or(i32::MAX));
        Duration::try_from_secs_f64(grown).unwrap_or(self.max_delay).min(self.max_delay)
    }
}

/// Up to 20% more than `delay`, from a cheap generator seeded by the clock: jitter needs
/// spread, not cryptographic randomness.
fn jittered(delay: Duration, seed: &mut u64) -> Duration {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let fraction = f64::from(u32::try_from(*seed % 1_000).unwrap_or(0)) / 5_000.0;
    delay.mul_f64(1.0 + fraction)
}

/// A seed that differs between clients that lose their connection at the same moment: the
/// clock in nanoseconds and a process-wide counter, mixed (splitmix64) so every bit counts.
fn jitter_seed() -> u64 {
    static CLIENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into());
    let count = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut z = nanos ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

/// Where and how a client reconnects.
pub(crate) struct Redial {
    /// The address it connected to.
    pub(crate) address: String,
    /// The client's own transport ([`super::ClientBuilder::transport`]), if it has one;
    /// otherwise the one registered for the address's scheme at each attempt.
    pub(crate) transport: Option<Arc<dyn Transport>>,
    /// How long to wait between attempts, and how many to make.
    pub(crate) backoff: Backoff,
    /// The contract the client calls, when it said ([`super::ClientBuilder::contract`]).
    pub(crate) contract: Option<String>,
}

/// Tries to connect to `address` again, waiting between attempts as `backoff` says.
/// `Err` with the last failure once the attempts are used up.
pub(crate) async fn reconnect(redial: &Redial) -> Result<ClientLink, TransportError> {
    let Redial { address, transport, backoff, contract } = redial;
    let mut seed = jitter_seed();
    let mut attempt = 0;
    loop {
        tokio::time::sleep(jittered(backoff.delay(attempt), &mut seed)).await;
        let outcome = match transport
            .as_ref()
            .map_or_else(|| transport_for(address), |t| Ok(Arc::clone(t)))
        {
            Ok(transport) => transport.connect_to(address, contract.as_deref()).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(link) => return Ok(link),
            Err(e) => {
                attempt += 1;
                tracing::debug!(%address, attempt, error = %e, "reconnecting failed");
                if backoff.max_attempts.is_some_and(|max| attempt >= max) {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_the_factor_up_to_the_cap() {
        let backoff = Backoff {
            initial_delay: Duration::from_millis(100),
            factor: 2.0,
            max_delay: Duration::from_secs(1),
            max_attempts: None,
        };
        let delays: Vec<u128> = (0..6).map(|a| backoff.delay(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        let (a, b) = (jitter_seed(), jitter_seed());
        assert_ne!(a, b, "two clients reconnecting at once get different seeds");
        let mut seed = 0x1234_5678;
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100), &mut seed);
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(120), "{d:?}");
        }
    }
}
