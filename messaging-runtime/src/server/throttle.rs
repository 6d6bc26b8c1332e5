//! Failed logins back off, per account and per connection: after a few free attempts, each
//! further failure makes the next attempt wait twice as long as the one before, up to a cap.
//! An attempt made too soon is answered `TOO_MANY_ATTEMPTS` (429) at once, with the wait in
//! `details.retryAfterMs`, and no password is checked. A success clears the account's count.
//! No lockout is permanent: the longest wait is the cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::auth::AuthError;

/// How failed logins back off; set with [`crate::Server::login_throttle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures allowed without any wait (default 5).
    pub free_attempts: u32,
    /// The wait after the first failure past the free ones (default 1 s); it doubles with
    /// each further failure.
    pub base_delay: Duration,
    /// The longest wait (default 60 s): an account is never locked for longer.
    pub max_delay: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Failures of one account or one connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Failures {
    count: u32,
    /// No attempt before this.
    not_before: Option<Instant>,
}

impl LoginThrottle {
    /// `Err` (with the wait) when an attempt now comes too soon after `failures`.
    fn check(failures: &Failures, now: Instant) -> Result<(), AuthError> {
        match failures.not_before {
            Some(at) if at > now => {
                let wait = at - now;
                let retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
                Err(AuthError::TooManyAttempts { retry_after_ms })
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure.
    fn fail(&self, failures: &mut Failures, now: Instant) {
        failures.count = failures.count.saturating_add(1);
        let past_free = failures.count.saturating_sub(self.free_attempts);
        if past_free > 0 {
            let factor = 2u32.saturating_pow(past_free - 1);
            let wait = self.base_delay.saturating_mul(factor).min(self.max_delay);
            failures.not_before = Some(now + wait);
        }
    }
}

/// The failure counts of one server: by account, shared by every connection.
#[derive(Debug, Default, Clone)]
pub(crate) struct Throttle {
    pub(crate) policy: LoginThrottle,
    accounts: Arc<Mutex<HashMap<String, Failures>>>,
}

impl Throttle {
    fn accounts(&self) -> MutexGuard<'_, HashMap<String, Failures>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `username` (and this connection, whose count is `connection`) may try now.
    pub(crate) fn admit(&self, username: &str, connection: &Failures) -> Result<(), AuthError> {
        let now = Instant::now();
        LoginThrottle::check(connection, now)?;
        match self.accounts().get(username) {
            Some(failures) => LoginThrottle::check(failures, now),
            None => Ok(()),
        }
    }

    /// Records the outcome of a password check for `username` on a connection.
    pub(crate) fn record(&self, username: &str, connection: &mut Failures, succeeded: bool) {
        let now = Instant::now();
        let mut accounts = self.accounts();
        if succeeded {
            accounts.remove(username);
            *connection = Failures::default();
            return;
        }
        self.policy.fail(connection, now);
        self.policy.fail(accounts.entry(username.to_owned()).or_default(), now);
        // Accounts whose last wait is long over are forgotten, so the map stays small.
        if accounts.len() > 10_000 {
            accounts.retain(|_, f| f.not_before.is_some_and(|at| at > now));
        }
    }
}
