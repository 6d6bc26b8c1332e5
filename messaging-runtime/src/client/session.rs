//! A client's login: the token its requests carry once it logged in.

use std::sync::atomic::Ordering;

use super::Client;
use crate::auth::{AuthError, Credentials, LogoutRequest, Session};
use crate::context::MessageContext;
use crate::error::CallError;

impl Client {
    pub(crate) fn new_context(&self) -> MessageContext {
        let mut cx = MessageContext::default();
        self.stamp_context(&mut cx);
        cx
    }

    /// Stamps a fresh context (an empty one) in place, as [`Client::new_context`] makes
    /// it: the time, the client's source, and its login token. In place, so that a context
    /// built inside a request's box is not built elsewhere and copied in.
    pub(crate) fn stamp_context(&self, cx: &mut MessageContext) {
        cx.timestamp = Some(crate::context::now_millis());
        cx.source.clone_from(&self.inner.source);
        // Checked without the lock first: a client that never logged in pays nothing.
        if self.inner.logged_in.load(Ordering::Acquire) {
            if let Some(token) = self.token() {
                cx.auth.get_or_insert_with(Box::default).token = Some(token);
            }
        }
    }

    pub(super) fn token(&self) -> Option<String> {
        self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Logs in with `$login`; every later request carries the session's token.
    ///
    /// # Errors
    /// `CallError::Contract(AuthError::InvalidCredentials)` for a wrong username or password,
    /// or any runtime error of the call.
    pub async fn login(&self, credentials: Credentials) -> Result<Session, CallError<AuthError>> {
        let session = self.call::<Credentials, AuthError>(credentials).await?;
        *self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(session.token.clone());
        self.inner.logged_in.store(true, Ordering::Release);
        Ok(session)
    }

    /// Logs out with `$logout`: the server ends the session, and later requests carry no
    /// token.
    ///
    /// # Errors
    /// `CallError::Contract(AuthError::MissingToken)` when not logged in, or any runtime
    /// error of the call.
    pub async fn logout(&self) -> Result<(), CallError<AuthError>> {
        let token =
            self.inner.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        self.inner.logged_in.store(false, Ordering::Release);
        self.call::<LogoutRequest, AuthError>(LogoutRequest { token }).await
    }
}
