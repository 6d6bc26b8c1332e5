//! An [`AuthProvider`] that keeps users (argon2 password hashes, never the passwords) and
//! sessions in memory.

use core::fmt;
use core::time::Duration;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use super::hashing::HashingPool;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use super::{AuthError, AuthProvider, Credentials, Session};
use crate::context::{now_millis, Actor};

/// The current time in milliseconds since the Unix epoch; injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// How expensive an argon2id password hash is. Stored hashes carry their own cost, so
/// changing it affects only passwords hashed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP's recommended argon2id cost: 19 MiB, 2 passes, 1 lane.
    pub const RECOMMENDED: Self = Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };

    /// A cheap cost for tests and demos only: fast to compute, and so fast to brute-force.
    pub const LOW: Self = Self { memory_kib: 64, iterations: 1, parallelism: 1 };

    fn hasher(self) -> Result<Argon2<'static>, AuthError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| AuthError::Internal(format!("invalid argon2 cost {self:?}: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for HashCost {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// Hashes `password` with argon2id, a fresh random salt and `cost`, into a PHC string
/// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) that [`MemoryAuthProvider::add_hashed_user`]
/// accepts.
///
/// # Errors
///
/// [`AuthError::Internal`] when the cost is out of range or the system has no randomness.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, AuthError> {
    let hash = cost
        .hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (with the cost stored in `hash`).
fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

struct User {
    /// The argon2 PHC string.
    hash: String,
    actor: Actor,
}

struct OpenSession {
    username: String,
    actor: Actor,
    /// The absolute expiry: login time plus the TTL.
    expires_at: u64,
    /// When it was opened, to find a user's oldest session.
    opened_at: u64,
    /// When it was last used, for the idle expiry.
    last_seen: u64,
}

/// Users and sessions in memory: argon2id password hashes (never the passwords), random
/// 256-bit tokens (64 hex digits), sessions that expire after a TTL (one hour unless set).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), messaging_runtime::auth::AuthError> {
/// use messaging_runtime::auth::{AuthProvider, Credentials, HashCost, MemoryAuthProvider};
/// use messaging_runtime::Actor;
///
/// let auth = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
/// let alice = Actor { id: "alice".into(), kind: "user".into(), roles: vec!["admin".into()], ..Actor::default() };
/// auth.add_user("alice", "correct horse", alice.clone())?;
/// let session = auth.login(Credentials::new("alice", "correct horse")).await?;
/// assert_eq!(auth.verify(&session.token).await?, alice);
/// auth.logout(&session.token).await?;
/// assert!(auth.verify(&session.token).await.is_err());
/// # Ok(()) }
/// ```
pub struct MemoryAuthProvider {
    ttl: Duration,
    clock: Clock,
    cost: HashCost,
    users: RwLock<HashMap<String, User>>,
    sessions: Mutex<HashMap<String, OpenSession>>,
    /// Checked against when the user is unknown, so that case takes as long as a wrong
    /// password; made on first use, in a hashing slot like any other hash.
    decoy: Arc<OnceLock<Option<String>>>,
    /// Where hashes run: a bounded number at once, never on a runtime worker.
    hashing: HashingPool,
    /// Sessions one user may hold, and all users together.
    limits: SessionLimits,
}

/// How many sessions may be open, and how long one may sit unused.
#[derive(Debug, Clone, Copy)]
struct SessionLimits {
    per_user: usize,
    total: usize,
    idle: Duration,
}

impl Default for MemoryAuthProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAuthProvider")
            .field("ttl", &self.ttl)
            .field("cost", &self.cost)
            .field("users", &read(&self.users).len())
            .field("sessions", &lock(&self.sessions).len())
            .finish_non_exhaustive()
    }
}

impl MemoryAuthProvider {
    /// The default session lifetime: one hour.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);
    /// How many sessions one user may hold by default: 10.
    pub const DEFAULT_SESSIONS_PER_USER: usize = 10;
    /// How many sessions may be open at once by default: 100,000.
    pub const DEFAULT_MAX_SESSIONS: usize = 100_000;
    /// How long a session may sit unused by default: 30 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

    /// At most `per_user` sessions per user and `total` in all (defaults 10 and 100,000):
    /// a login past either ends the oldest session (of that user, or of all) to make room,
    /// so a new login always succeeds and memory stays bounded.
    #[must_use]
    pub fn with_session_limits(mut self, per_user: usize, total: usize) -> Self {
        self.limits.per_user = per_user.max(1);
        self.limits.total = total.max(1);
        self
    }

    /// A session unused for `idle` ends (default [`Self::DEFAULT_IDLE_TIMEOUT`], 30
    /// minutes), whatever its absolute expiry ([`Self::with_ttl`]).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.limits.idle = idle;
        self
    }

    /// Ends every session of `username` (every device, every connection); how many ended.
    pub fn logout_all(&self, username: &str) -> usize {
        let mut sessions = lock(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| s.username != username);
        before - sessions.len()
    }

    /// No users yet; sessions last [`Self::DEFAULT_TTL`]; passwords hashed at
    /// [`HashCost::RECOMMENDED`]; the system clock.
    pub fn new() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            clock: Arc::new(now_millis),
            cost: HashCost::RECOMMENDED,
            users: RwLock::default(),
            sessions: Mutex::default(),
            decoy: Arc::default(),
            hashing: HashingPool::default(),
            limits: SessionLimits {
                per_user: Self::DEFAULT_SESSIONS_PER_USER,
                total: Self::DEFAULT_MAX_SESSIONS,
                idle: Self::DEFAULT_IDLE_TIMEOUT,
            },
        }
    }

    /// Runs at most `slots` password hashes at once (default: one per core), each login
    /// waiting at most `wait` for a slot ([`super::DEFAULT_HASH_WAIT`], 1 s) before it fails
    /// with [`AuthError::Overloaded`]. Memory for hashing is bounded by `slots` times the
    /// hash cost (19 MiB each at [`HashCost::RECOMMENDED`]).
    #[must_use]
    pub fn with_hashing(mut self, slots: usize, wait: Duration) -> Self {
        self.hashing = HashingPool::new(slots, wait);
        self
    }

    /// Sessions expire `ttl` after login.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Reads the time (milliseconds since the Unix epoch) from `clock`, e.g. a test's
    /// adjustable one.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Hashes passwords given to [`add_user`](Self::add_user) at `cost`.
    #[must_use]
    pub fn with_hash_cost(mut self, cost: HashCost) -> Self {
        self.cost = cost;
        self
    }

    /// The session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Registers `username` with `password` (hashed with argon2id here; the password itself
    /// is not kept), acting as `actor`. Replacing an existing user ends their sessions.
    /// Hashing is deliberately slow (tens of milliseconds at the recommended cost).
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when hashing fails.
    pub fn add_user(&self, username: &str, password: &str, actor: Actor) -> Result<(), AuthError> {
        let hash = hash_password(password, self.cost)?;
        self.insert_user(username, hash, actor);
        Ok(())
    }

    /// Registers `username` with an argon2 PHC string made earlier (by [`hash_password`] or
    /// any argon2 tool), so no password needs to appear in the program at all.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when `phc` is not an argon2 PHC string.
    pub fn add_hashed_user(
        &self,
        username: &str,
        phc: &str,
        actor: Actor,
    ) -> Result<(), AuthError> {
        let parsed = PasswordHash::new(phc)
            .map_err(|e| AuthError::Internal(format!("not a PHC password hash: {e}")))?;
        if !parsed.algorithm.as_str().starts_with("argon2") || parsed.hash.is_none() {
            return Err(AuthError::Internal(format!(
                "not an argon2 password hash: algorithm `{}`",
                parsed.algorithm
            )));
        }
        self.insert_user(username, phc.to_owned(), actor);
        Ok(())
    }

    /// Removes `username` and ends their sessions; `false` when there was no such user.
    pub fn remove_user(&self, username: &str) -> bool {
        let removed = write(&self.users).remove(username).is_some();
        self.end_sessions_of(username);
        removed
    }

    /// The number of sessions not yet expired.
    pub fn session_count(&self) -> usize {
        let now = (self.clock)();
        lock(&self.sessions).values().filter(|s| now < s.expires_at).count()
    }

    /// Forgets expired sessions (login does this too); returns how many were dropped.
    pub fn purge_expired(&self) -> usize {
        let now = (self.clock)();
        let mut sessions = lock(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| now < s.expires_at);
        before - sessions.len()
    }

    fn insert_user(&self, username: &str, hash: String, actor: Actor) {
        let replaced = write(&self.users).insert(username.to_owned(), User { hash, actor });
        if replaced.is_some() {
            self.end_sessions_of(username);
        }
    }

    fn end_sessions_of(&self, username: &str) {
        lock(&self.sessions).retain(|_, s| s.username != username);
    }
}

#[async_trait::async_trait]
impl AuthProvider for MemoryAuthProvider {
    async fn login(&self, credentials: Credentials) -> Result<Session, AuthError> {
        let user =
            read(&self.users).get(&credentials.username).map(|u| (u.hash.clone(), u.actor.clone()));
        let (hash, actor) = match user {
            Some((hash, actor)) => (Some(hash), Some(actor)),
            None => (None, None),
        };
        let (password, decoy, cost) = (credentials.password, Arc::clone(&self.decoy), self.cost);
        let matches = self
            .hashing
            .run(move || {
                // An unknown user is checked against a decoy, made here on first use: the
                // same work as a wrong password, in a hashing slot like it.
                let decoy =
                    || decoy.get_or_init(|| hash_password("decoy password", cost).ok()).clone();
                hash.or_else(decoy).is_some_and(|hash| password_matches(&password, &hash))
            })
            .await?;
        let Some(actor) = actor.filter(|_| matches) else {
            return Err(AuthError::InvalidCredentials);
        };
        let token = new_token()?;
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_at = (self.clock)().saturating_add(ttl_ms);
        self.purge_expired();
        let now = (self.clock)();
        let mut sessions = lock(&self.sessions);
        make_room(&mut sessions, &credentials.username, self.limits);
        let session = OpenSession {
            username: credentials.username,
            actor: actor.clone(),
            expires_at,
            opened_at: now,
            last_seen: now,
        };
        sessions.insert(token.clone(), session);
        drop(sessions);
        Ok(Session { token, actor, expires_at })
    }

    async fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let now = (self.clock)();
        let mut sessions = lock(&self.sessions);
        let idle_ms = u64::try_from(self.limits.idle.as_millis()).unwrap_or(u64::MAX);
        match sessions.get_mut(token) {
            None => Err(AuthError::UnknownToken),
            Some(s) if now >= s.expires_at || now.saturating_sub(s.last_seen) >= idle_ms => {
                sessions.remove(token);
                Err(AuthError::ExpiredToken)
            }
            Some(s) => {
                s.last_seen = now;
                Ok(s.actor.clone())
            }
        }
    }

    async fn logout(&self, token: &str) -> Result<(), AuthError> {
        lock(&self.sessions).remove(token).map(|_| ()).ok_or(AuthError::UnknownToken)
    }
}

/// Ends the oldest sessions of `username` while it holds as many as allowed, then the oldest
/// of all while the store is full, so that one more fits.
fn make_room(sessions: &mut HashMap<String, OpenSession>, username: &str, limits: SessionLimits) {
    let oldest = |sessions: &HashMap<String, OpenSession>, of: Option<&str>| {
        let candidates = sessions.iter().filter(|(_, s)| of.is_none_or(|u| s.username == u));
        candidates.min_by_key(|(_, s)| s.opened_at).map(|(token, _)| token.clone())
    };
    while sessions.values().filter(|s| s.username == username).count() >= limits.per_user {
        let Some(token) = oldest(sessions, Some(username)) else { break };
        sessions.remove(&token);
    }
    while sessions.len() >= limits.total {
        let Some(token) = oldest(sessions, None) else { break };
        tracing::warn!(max = limits.total, "the session store is full: ended the oldest session");
        sessions.remove(&token);
    }
}

/// 32 random bytes from the operating system, as 64 lower-case hex digits.
fn new_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Internal(format!("no randomness for a token: {e}")))?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut token = String::with_capacity(64);
    for b in bytes {
        token.push(char::from(HEX[usize::from(b >> 4)]));
        token.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    Ok(token)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
