//! Who is calling: the server verifies it rather than trusting the client. It answers
//! `$login` and `$logout` itself, binds the session to the connection, verifies the token
//! of every request, writes the verified actor into the context the handler sees (an actor
//! the client put there is discarded), and checks the permission the contract declares for
//! the request before dispatch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::auth::{
    AccessPolicy, AuthError, AuthProvider, Credentials, LogoutRequest, LOGIN, LOGOUT,
};
use crate::context::{Auth, MessageContext};
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
}

/// The token a client logged in with on this connection.
pub(crate) type SessionSlot = Arc<Mutex<Option<String>>>;

/// What the gate decided about one request it let through.
#[allow(
    clippy::large_enum_variant,
    reason = "built once per request and consumed at once; boxing would add an allocation"
)]
pub(crate) enum Admission {
    /// Dispatch it, with this context (the verified actor written in).
    Dispatch(MessageContext, Payload),
    /// The gate answered it itself (`$login`, `$logout`).
    Answered(Reply),
}

impl Gate {
    /// Whether the gate has anything to do; a server with no provider and no policy skips it.
    pub(crate) fn is_active(&self) -> bool {
        self.provider.is_some() || self.policy.is_some()
    }

    /// Authenticates and authorises one request.
    pub(crate) async fn admit(
        &self,
        session: &SessionSlot,
        name: &str,
        payload: Payload,
        mut context: MessageContext,
    ) -> Result<Admission, WireError> {
        match (name, &self.provider) {
            (LOGIN, Some(provider)) => {
                return Ok(Admission::Answered(login(provider, session, payload).await))
            }
            (LOGOUT, Some(provider)) => {
                return Ok(Admission::Answered(logout(provider, session, payload).await))
            }
            _ => {}
        }
        let auth = context.auth.get_or_insert_with(Auth::default);
        // Identity is the server's to decide: whatever actor the client claimed is dropped.
        auth.actor = None;
        let token = auth.token.clone().or_else(|| lock(session).clone());
        if let (Some(provider), Some(token)) = (&self.provider, token) {
            auth.actor = Some(provider.verify(&token).await.map_err(WireError::from)?);
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
        Ok(Admission::Dispatch(context, payload))
    }
}

fn lock(session: &SessionSlot) -> std::sync::MutexGuard<'_, Option<String>> {
    session.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn login(provider: &Arc<dyn AuthProvider>, session: &SessionSlot, payload: Payload) -> Reply {
    let credentials =
        payload.decode_owned::<Credentials>().map_err(|e| WireError::invalid_payload(LOGIN, &e))?;
    let opened = provider.login(credentials).await?;
    *lock(session) = Some(opened.token.clone());
    Ok(Payload::typed(opened))
}

async fn logout(
    provider: &Arc<dyn AuthProvider>,
    session: &SessionSlot,
    payload: Payload,
) -> Reply {
    // Off the wire, `null` or no payload at all means: end this connection's session.
    let request = match payload {
        Payload::Json(_) => {
            payload.decode_owned::<Option<LogoutRequest>>().map(Option::unwrap_or_default)
        }
        typed => typed.decode_owned::<LogoutRequest>(),
    }
    .map_err(|e| WireError::invalid_payload(LOGOUT, &e))?;
    let bound = lock(session).take();
    let token = request.token.or(bound).ok_or(AuthError::MissingToken)?;
    provider.logout(&token).await?;
    Ok(Payload::typed(()))
}
