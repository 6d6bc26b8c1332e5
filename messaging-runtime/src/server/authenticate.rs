//! Authentication and access control as a layer of the server's request pipeline, between
//! the layers registered with [`crate::Server::layer`] (outside: they see every request,
//! `$login` and `$logout` included, before its token is checked) and those registered with
//! [`crate::Server::layer_for`] (inside: they see the verified actor).

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tower::{Service, ServiceExt};

use super::gate::Gate;
use super::router::BoxFuture;
use super::ServerRequest;
use crate::middleware::{BoxError, RequestService};
use crate::payload::Payload;

/// Answers `$login` and `$logout`, and lets any other request on to `inner` only once its
/// token is verified and its permission checked.
#[derive(Clone)]
pub(crate) struct Authenticate {
    pub(crate) gate: Arc<Gate>,
    pub(crate) inner: RequestService<super::Context>,
}

impl Service<ServerRequest> for Authenticate {
    type Response = Payload;
    type Error = BoxError;
    type Future = BoxFuture<Result<Payload, BoxError>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        // `inner` is readied in `call`, on the clone that serves the request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: ServerRequest) -> Self::Future {
        let session = request.context.session.clone().unwrap_or_else(|| {
            // A request that did not come from a connection (a test calling the pipeline)
            // has no session to log into: each request must carry its token.
            super::gate::SessionSlot::unbound()
        });
        if self.gate.answers(&request.name) {
            let answer = self.gate.answer_session_request(session, &request.name, request.payload);
            return Box::pin(async move { answer.await.map_err(|e| Box::new(e) as BoxError) });
        }
        let gate = Arc::clone(&self.gate);
        let inner = self.inner.clone();
        Box::pin(async move {
            let name = request.name.clone();
            gate.verify(&session, &name, request.context.message_mut())
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            inner.oneshot(request).await
        })
    }
}
