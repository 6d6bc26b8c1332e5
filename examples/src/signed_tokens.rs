//! Session tokens that every replica of a service verifies: what the demo services use, so
//! that two order-service replicas behind one `nats://` address accept each other's logins.
//! A login is checked by the process that gets it (`MemoryAuthProvider`: the demo users,
//! argon2, throttling); the token it hands out is `st1.{user}.{expiresAt}.{mac}`, with a
//! keyed BLAKE2s MAC under a secret the replicas share (`$DEMO_TOKEN_SECRET`, or a demo
//! default). Any replica verifies it without asking the others. `$logout` ends the token on
//! the replica that receives it; the others accept it until it expires (an hour): the price of
//! sharing nothing, documented in the README.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2sMac256;
use messaging_runtime::auth::{AuthError, AuthProvider, Credentials, MemoryAuthProvider, Session};
use messaging_runtime::Actor;

/// The environment variable with the secret the replicas share.
pub const TOKEN_SECRET_VAR: &str = "DEMO_TOKEN_SECRET";
/// The demo secret, when the variable is not set.
const DEMO_SECRET: &str = "demo-token-secret-change-me";
const PREFIX: &str = "st1";

/// Signs sessions opened by `logins` so any process with the same secret verifies them.
#[derive(Debug)]
pub struct SignedTokens {
    logins: Arc<MemoryAuthProvider>,
    secret: Vec<u8>,
    actors: HashMap<String, Actor>,
    revoked: Mutex<HashSet<String>>,
}

impl SignedTokens {
    /// Tokens for the users of `logins` (whose actors are `actors`, by username), signed
    /// with `$DEMO_TOKEN_SECRET` or the demo default.
    pub fn new(logins: Arc<MemoryAuthProvider>, actors: HashMap<String, Actor>) -> Self {
        let secret = std::env::var(TOKEN_SECRET_VAR).unwrap_or_else(|_| DEMO_SECRET.to_owned());
        Self { logins, secret: secret.into_bytes(), actors, revoked: Mutex::default() }
    }

    fn mac(&self, user: &str, expires_at: u64) -> String {
        let Ok(mut mac) = <Blake2sMac256 as KeyInit>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(format!("{user}|{expires_at}").as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The user and expiry a token names, when its MAC is right.
    fn open(&self, token: &str) -> Result<(String, u64), AuthError> {
        let mut parts = token.split('.');
        let (Some(PREFIX), Some(user), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::UnknownToken);
        };
        let expires_at = expires.parse::<u64>().map_err(|_| AuthError::UnknownToken)?;
        let expected = self.mac(user, expires_at);
        // Compared in full whatever the first difference, so timing says nothing.
        let same = expected.len() == mac.len()
            && expected.bytes().zip(mac.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same || expected.is_empty() {
            return Err(AuthError::UnknownToken);
        }
        Ok((user.to_owned(), expires_at))
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[async_trait::async_trait]
impl AuthProvider for SignedTokens {
    async fn login(&self, credentials: Credentials) -> Result<Session, AuthError> {
        let user = credentials.username.clone();
        if user.contains('.') {
            return Err(AuthError::InvalidCredentials);
        }
        let checked = self.logins.login(credentials).await?;
        // The password was right; the signed token replaces the process-local session.
        let _ = self.logins.logout(&checked.token).await;
        let token = format!(
            "{PREFIX}.{user}.{}.{}",
            checked.expires_at,
            self.mac(&user, checked.expires_at)
        );
        Ok(Session { token, actor: checked.actor, expires_at: checked.expires_at })
    }

    async fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let (user, expires_at) = self.open(token)?;
        if expires_at <= now_ms() {
            return Err(AuthError::ExpiredToken);
        }
        if self.revoked.lock().unwrap_or_else(PoisonError::into_inner).contains(token) {
            return Err(AuthError::UnknownToken);
        }
        self.actors.get(&user).cloned().ok_or(AuthError::UnknownToken)
    }

    async fn logout(&self, token: &str) -> Result<(), AuthError> {
        self.verify(token).await?;
        self.revoked.lock().unwrap_or_else(PoisonError::into_inner).insert(token.to_owned());
        Ok(())
    }
}
