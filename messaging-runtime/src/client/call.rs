//! One typed request in the making: set a context or a timeout, then await it.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::Client;
use crate::context::MessageContext;
use crate::contract::{ErrorCode, Request};
use crate::error::CallError;
use crate::payload::Payload;
use crate::transport::{Inbound, RequestFrame};

/// A typed request to be awaited: `client.get_order_by_id(req).timeout(d).await`.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, R, E> {
    client: &'a Client,
    request: R,
    context: Option<MessageContext>,
    timeout: Option<Duration>,
    error: PhantomData<fn() -> E>,
}

impl<R, E> std::fmt::Debug for Call<'_, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl<'a, R: Request, E: ErrorCode> Call<'a, R, E> {
    pub(crate) fn new(client: &'a Client, request: R) -> Self {
        Self { client, request, context: None, timeout: None, error: PhantomData }
    }

    /// Sends the request with this context instead of a fresh one.
    pub fn context(mut self, context: MessageContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Waits at most `timeout` for the response, instead of the client's default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    async fn run(mut self) -> Result<R::Response, CallError<E>> {
        let mut context = self.context.take().unwrap_or_else(|| self.client.new_context());
        let timeout = self.effective_timeout(&context);
        context.deadline = Instant::now().checked_add(timeout);
        let (reply, response) = oneshot::channel();
        let frame = RequestFrame {
            name: Cow::Borrowed(R::NAME),
            payload: Payload::typed(self.request),
            context,
            reply,
        };
        if !self.client.send(Inbound::Request(frame)) {
            return Err(CallError::Disconnected);
        }
        match tokio::time::timeout(timeout, response).await {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Err(_)) => Err(CallError::Disconnected),
            Ok(Ok(Err(error))) => Err(CallError::from_wire(error)),
            Ok(Ok(Ok(payload))) => payload
                .decode_owned::<R::Response>()
                .map_err(|e| CallError::InvalidPayload(format!("response to `{}`: {e}", R::NAME))),
        }
    }

    /// The per-call timeout, else the client default, capped by a deadline the caller's
    /// context already carries (a nested call inherits what is left of its budget).
    fn effective_timeout(&self, context: &MessageContext) -> Duration {
        let chosen = self.timeout.unwrap_or(self.client.inner.timeout);
        context.remaining().map_or(chosen, |left| left.min(chosen))
    }
}

impl<'a, R: Request, E: ErrorCode> IntoFuture for Call<'a, R, E> {
    type Output = Result<R::Response, CallError<E>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
