//! Who is calling: the server verifies it rather than trusting the client. It answers
//! `$login` and `$logout` itself, binds the session to the connection, verifies the token
//! of every request, writes the verified actor into the context the handler sees (an actor
//! the client put there is discarded), and checks the permission the contract declares for
//! the request before dispatch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::throttle::{Failures, Throttle};
use crate::auth::{
    AccessPolicy, AuthError, AuthProvider, Credentials, LogoutRequest, LOGIN, LOGOUT,
};
use crate::context::MessageContext;
use crate::error::WireError;
use crate::payload::Payload;
use crate::transport::Reply;

/// The server's authentication and access-control settings.
#[derive(Default, Clone)]
pub(crate) struct Gate {
    pub(crate) provider: Option<Arc<dyn AuthProvider>>,
    pub(crate) policy: Option<Arc<AccessPolicy>>,
    /// The permission each request type requires, from the served contracts.
    pub(crate) required: Arc<HashMap<&'static str, &'static str>>,
    /// How failed logins back off.
    pub(crate) throttle: Throttle,
    /// How much metadata an incoming context may carry.
    pub(crate) context_limit: ContextLimit,
    /// Whether a caller's token forwarded by another service is accepted.
    pub(crate) accept_forwarded: bool,
}

/// How much metadata an incoming message context may carry; see
/// [`crate::Server::max_context_metadata`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContextLimit {
    pub(crate) keys: usize,
    pub(crate) bytes: usize,
}

impl Default for ContextLimit {
    fn default() -> Self {
        Self { keys: super::DEFAULT_MAX_CONTEXT_KEYS, bytes: super::DEFAULT_MAX_CONTEXT_BYTES }
    }
}

impl ContextLimit {
    /// `CONTEXT_TOO_LARGE` (413) when `context`'s metadata has more keys, or more bytes of
    /// keys and JSON values, than allowed. Free for the usual context without metadata.
    pub(crate) fn check(&self, context: &MessageContext) -> Result<(), WireError> {
        let metadata = &context.metadata;
        if metadata.is_empty() {
            return Ok(());
        }
        let mut bytes = 0usize;
        for (key, value) in metadata {
            bytes += key.len() + serde_json::to_string(value).map_or(0, |v| v.len());
            if bytes > self.bytes {
                break;
            }
        }
        if metadata.len() <= self.keys && bytes <= self.bytes {
            return Ok(());
        }
        let message = format!(
            "the message context's metadata is too large: {} keys and {}{} bytes, at most {} keys and {} bytes",
            metadata.len(),
            if bytes > self.bytes { "over " } else { "" },
            bytes.min(self.bytes.saturating_add(1)),
            self.keys,
            self.bytes
        );
        Err(WireError::new(crate::wire::codes::CONTEXT_TOO_LARGE, 413, message).with_details(
            serde_json::json!({ "keys": metadata.len(), "maxKeys": self.keys, "maxBytes": self.bytes }),
        ))
    }
}

/// What the gate keeps per connection: the token the client logged in with, and how many of
/// its logins are being checked right now. One `Arc`, so that handing it to each request's
/// context costs one reference count.
#[derive(Clone, Default)]
pub(crate) struct SessionSlot(Arc<SessionState>);

struct SessionState {
    token: Mutex<Option<String>>,
    logins: Arc<AtomicUsize>,
    /// This connection's failed logins.
    failures: Mutex<Failures>,
    /// False where the link is not one client's own (a broker): a login is not bound to it.
    binds: bool,
}

impl Default for SessionState {
    fn default() -> Self {
        Self {
            token: Mutex::default(),
            logins: Arc::default(),
            failures: Mutex::default(),
            binds: true,
        }
    }
}

impl std::fmt::Debug for SessionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself.
        f.debug_struct("SessionSlot").field("binds", &self.0.binds).finish_non_exhaustive()
    }
}

impl SessionSlot {
    /// A slot that never holds a login: each request must carry its own token.
    pub(crate) fn unbound() -> Self {
        Self(Arc::new(SessionState { binds: false, ..SessionState::default() }))
    }
}

/// How many logins of one connection may be checked at once; one more is answered
/// `TOO_MANY_ATTEMPTS` (429) at once, so that one connection's burst cannot take every
/// hashing slot from the others.
pub(crate) const MAX_LOGINS_IN_FLIGHT: usize = 2;

/// How long a client told `TOO_MANY_ATTEMPTS` is asked to wait: about one password check.
const LOGIN_RETRY_AFTER_MS: u64 = 100;

/// A login being checked; counted off when dropped.
struct LoginInFlight(Arc<AtomicUsize>);

impl LoginInFlight {
    fn start(session: &SessionSlot) -> Option<Self> {
        let previous = session.0.logins.fetch_add(1, Ordering::AcqRel);
        let guard = Self(Arc::clone(&session.0.logins));
        (previous < MAX_LOGINS_IN_FLIGHT).then_some(guard)
    }
}

impl Drop for LoginInFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    /// Whether the gate has anything to do; a server with no provider and no policy skips it.
    pub(crate) fn is_active(&self) -> bool {
        self.provider.is_some() || self.policy.is_some()
    }

    /// Whether the gate answers requests named `name` itself: `$login` and `$logout`, on a
    /// server with a provider.
    pub(crate) fn answers(&self, name: &str) -> bool {
        self.provider.is_some() && matches!(name, LOGIN | LOGOUT)
    }

    /// Answers `$login` or `$logout` (see [`Gate::answers`]).
    pub(crate) fn answer_session_request(
        &self,
        session: SessionSlot,
        name: &str,
        payload: Payload,
    ) -> crate::server::router::BoxFuture<Reply> {
        let Some(provider) = self.provider.clone() else {
            let unserved =
                WireError::internal("a session request reached a server without an auth provider");
            return Box::pin(std::future::ready(Err(unserved)));
        };
        if name == LOGOUT {
            return Box::pin(async move { logout(&provider, &session, payload).await });
        }
        let throttle = self.throttle.clone();
        Box::pin(async move { login(&provider, &throttle, &session, payload).await })
    }

    /// Authenticates and authorises one request: verifies its token (its own, or else the
    /// one its connection logged in with), writes the verified actor into `context` and
    /// checks the permission the contract declares for `name`. The context arrives with no
    /// actor: whatever the client claimed was discarded before any layer saw it.
    pub(crate) async fn verify(
        &self,
        session: &SessionSlot,
        name: &str,
        context: &mut MessageContext,
    ) -> Result<(), WireError> {
        let auth = context.auth.get_or_insert_with(Box::default);
        if auth.forwarded && auth.token.is_some() && !self.accept_forwarded {
            return Err(AuthError::ForwardedCredentialsRefused.into());
        }
        let token = auth.token.clone().or_else(|| lock(session).clone());
        if let (Some(provider), Some(token)) = (&self.provider, token) {
            auth.actor = Some(provider.verify(&token).await.map_err(WireError::from)?);
            // The handler sees the token it was verified by, also when the connection's
            // session supplied it (what `Context::forward_with_credentials` passes on).
            auth.token = Some(token);
        }
        if let Some(required) = self.required.get(name) {
            let actor = context
                .auth
                .as_ref()
                .and_then(|a| a.actor.as_ref())
                .ok_or(AuthError::MissingToken)?;
            if let Some(policy) = &self.policy {
                policy.check(actor, required)?;
            }
        }
        Ok(())
    }
}

fn lock_failures(session: &SessionSlot) -> std::sync::MutexGuard<'_, Failures> {
    session.0.failures.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lock(session: &SessionSlot) -> std::sync::MutexGuard<'_, Option<String>> {
    session.0.token.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn login(
    provider: &Arc<dyn AuthProvider>,
    throttle: &Throttle,
    session: &SessionSlot,
    payload: Payload,
) -> Reply {
    let credentials =
        payload.decode_owned::<Credentials>().map_err(|e| WireError::invalid_payload(LOGIN, &e))?;
    let username = credentials.username.clone();
    throttle.admit(&username, &lock_failures(session))?;
    let Some(_checking) = LoginInFlight::start(session) else {
        return Err(AuthError::TooManyAttempts { retry_after_ms: LOGIN_RETRY_AFTER_MS }.into());
    };
    let outcome = provider.login(credentials).await;
    match &outcome {
        Ok(_) => throttle.record(&username, &mut lock_failures(session), true),
        Err(AuthError::InvalidCredentials) => {
            throttle.record(&username, &mut lock_failures(session), false);
        }
        Err(_) => {}
    }
    let opened = outcome?;
    if session.0.binds {
        *lock(session) = Some(opened.token.clone());
    }
    Ok(Payload::typed(opened))
}

async fn logout(
    provider: &Arc<dyn AuthProvider>,
    session: &SessionSlot,
    payload: Payload,
) -> Reply {
    // Off the wire, `null` or no payload at all means: end this connection's session.
    let request = if payload.is_json() {
        payload.decode_owned::<Option<LogoutRequest>>().map(Option::unwrap_or_default)
    } else {
        payload.decode_owned::<LogoutRequest>()
    }
    .map_err(|e| WireError::invalid_payload(LOGOUT, &e))?;
    let bound = lock(session).take();
    let token = request.token.or(bound).ok_or(AuthError::MissingToken)?;
    provider.logout(&token).await?;
    Ok(Payload::typed(()))
}
