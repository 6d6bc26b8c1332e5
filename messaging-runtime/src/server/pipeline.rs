//! The server's middleware pipelines, built once at start. A request passes, in order: the
//! layers registered with `Server::layer` before `Server::auth`/`Server::access` (first
//! registered outermost), authentication and access control (when the server has a provider
//! or a policy), the layers registered after it, the layers registered for its type with
//! `Server::layer_for`, and the dispatch table. Events pass the event layers, then their
//! handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_util::future::join_all;
use tower::util::{BoxCloneService, ServiceExt};
use tower::Service;

use super::authenticate::Authenticate;
use super::gate::Gate;
use super::router::{BoxFuture, Router};
use super::{ServerEvent, ServerRequest};
use crate::middleware::{BoxError, EventService, RequestService, Template};
use crate::payload::Payload;
use crate::server::Context;

/// Wraps a pipeline in one more layer.
pub(crate) type RequestLayerFn =
    Box<dyn FnOnce(RequestService<Context>) -> RequestService<Context> + Send>;
/// Wraps an event pipeline in one more layer.
pub(crate) type EventLayerFn =
    Box<dyn FnOnce(EventService<Context>) -> EventService<Context> + Send>;

/// The layers registered on a server, in registration order.
#[derive(Default)]
pub(crate) struct Layers {
    pub(crate) requests: Vec<RequestLayerFn>,
    /// How many of `requests` were registered before authentication: those run outside it.
    pub(crate) auth_at: Option<usize>,
    pub(crate) per_type: HashMap<&'static str, Vec<RequestLayerFn>>,
    pub(crate) events: Vec<EventLayerFn>,
}

/// The pipelines a connection clones its handles from; `None` where no layer was
/// registered, so such a server pays nothing for middleware.
pub(crate) struct Pipelines {
    pub(crate) requests: Option<Template<RequestService<Context>>>,
    pub(crate) events: Option<Template<EventService<Context>>>,
    /// The authentication settings (its layer is in `requests`) and the context limits.
    pub(crate) gate: Arc<Gate>,
}

impl Layers {
    pub(crate) fn build(self, router: &Arc<Router>, mut gate: Gate) -> Pipelines {
        let required = router
            .contracts()
            .iter()
            .flat_map(|contract| contract.requests.iter())
            .filter_map(|request| request.permission.map(|p| (request.name, p)))
            .collect();
        gate.required = Arc::new(required);
        let gate = Arc::new(gate);
        let requests = if self.requests.is_empty() && self.per_type.is_empty() && !gate.is_active()
        {
            None
        } else {
            let inner = if self.per_type.is_empty() {
                direct(router)
            } else {
                let per_type = self
                    .per_type
                    .into_iter()
                    .map(|(name, layers)| (name, Template::new(wrap(layers, direct(router)))))
                    .collect();
                BoxCloneService::new(Routed {
                    router: Arc::clone(router),
                    per_type: Arc::new(per_type),
                })
            };
            let mut outer = self.requests;
            let after_auth = outer.split_off(self.auth_at.unwrap_or(0).min(outer.len()));
            let inner = wrap(after_auth, inner);
            let inner = if gate.is_active() {
                BoxCloneService::new(Authenticate { gate: Arc::clone(&gate), inner })
            } else {
                inner
            };
            Some(Template::new(wrap(outer, inner)))
        };
        let events = (!self.events.is_empty()).then(|| {
            let handlers = BoxCloneService::new(EventHandlers { router: Arc::clone(router) });
            Template::new(wrap(self.events, handlers))
        });
        Pipelines { requests, events, gate }
    }
}

/// The first layer registered ends up outermost: it sees the request first.
fn wrap<S>(layers: Vec<Box<dyn FnOnce(S) -> S + Send>>, innermost: S) -> S {
    layers.into_iter().rev().fold(innermost, |inner, layer| layer(inner))
}

fn direct(router: &Arc<Router>) -> RequestService<Context> {
    BoxCloneService::new(Direct { router: Arc::clone(router) })
}

/// The dispatch table itself, as a service.
#[derive(Clone)]
struct Direct {
    router: Arc<Router>,
}

impl Service<ServerRequest> for Direct {
    type Response = Payload;
    type Error = BoxError;
    type Future = BoxFuture<Result<Payload, BoxError>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ServerRequest) -> Self::Future {
        let answer = self.router.dispatch(&request.name, request.payload, request.context);
        Box::pin(async move { answer.await.map_err(|e| Box::new(e) as BoxError) })
    }
}

/// Sends each request through its type's own layers, if it has any.
#[derive(Clone)]
struct Routed {
    router: Arc<Router>,
    per_type: Arc<HashMap<&'static str, Template<RequestService<Context>>>>,
}

impl Service<ServerRequest> for Routed {
    type Response = Payload;
    type Error = BoxError;
    type Future = BoxFuture<Result<Payload, BoxError>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ServerRequest) -> Self::Future {
        match self.per_type.get(request.name.as_ref()) {
            Some(pipeline) => Box::pin(pipeline.get().oneshot(request)),
            None => Direct { router: Arc::clone(&self.router) }.call(request),
        }
    }
}

/// Runs every handler registered for a client-emitted event.
#[derive(Clone)]
struct EventHandlers {
    router: Arc<Router>,
}

impl Service<ServerEvent> for EventHandlers {
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<Result<(), BoxError>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: ServerEvent) -> Self::Future {
        let payload = event.payload.into_shared();
        let runs: Vec<_> = self
            .router
            .event_handlers(&event.name)
            .iter()
            .map(|handler| handler(payload.share(), event.context.clone()))
            .collect();
        Box::pin(async move {
            join_all(runs).await;
            Ok(())
        })
    }
}
