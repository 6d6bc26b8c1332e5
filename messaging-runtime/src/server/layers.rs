//! The server's builder methods for what a request passes before its handler: the
//! authentication gate, context limits, and tower layers.

use std::sync::Arc;

use tower::util::BoxCloneService;
use tower::{Layer, Service as TowerService};

use super::{gate, Context, LoginThrottle, Server, ServerEvent, ServerRequest};
use crate::auth::{AccessPolicy, AuthProvider};
use crate::contract::Request;
use crate::middleware::{BoxError, EventService, RequestService};
use crate::payload::Payload;

impl Server {
    /// Authenticates callers with `provider`: the server answers `$login` and `$logout`,
    /// binds a login to the connection, verifies the token of every request (an unknown or
    /// expired one answers `UNAUTHENTICATED`, 401) and hands handlers the verified actor.
    /// An actor a client puts in its context is always discarded.
    ///
    /// Authentication is a layer of the request pipeline, at the place of this call (or of
    /// [`Server::access`], whichever comes first) among the [`Server::layer`] calls: layers
    /// added before it see every request, `$login` and `$logout` included, before its token
    /// is checked; layers added after it see only admitted requests, with the verified actor.
    #[must_use]
    pub fn auth(mut self, provider: impl AuthProvider) -> Self {
        self.gate.provider = Some(Arc::new(provider));
        self.layers.auth_at.get_or_insert(self.layers.requests.len());
        self
    }

    /// Accepts a caller's token that another service passed on with
    /// [`Context::forward_with_credentials`] (default: refused with `UNAUTHENTICATED`,
    /// [`crate::auth::AuthError::ForwardedCredentialsRefused`]). Opt in only where this
    /// service is meant to act for the end user a calling service serves; the token is then
    /// verified as any other, and the handler sees [`crate::Auth::forwarded`] set.
    #[must_use]
    pub fn accept_forwarded_credentials(mut self, accept: bool) -> Self {
        self.gate.accept_forwarded = accept;
        self
    }

    /// How much metadata an incoming message context may carry: at most `keys` keys and
    /// `bytes` bytes of keys and JSON values (default
    /// [`super::DEFAULT_MAX_CONTEXT_KEYS`], 64, and [`super::DEFAULT_MAX_CONTEXT_BYTES`],
    /// 16 KiB). A request over either is answered `CONTEXT_TOO_LARGE` (413) without
    /// reaching its handler; an event over either is dropped with a warning.
    #[must_use]
    pub fn max_context_metadata(mut self, keys: usize, bytes: usize) -> Self {
        self.gate.context_limit = gate::ContextLimit { keys, bytes };
        self
    }

    /// How failed logins back off (per account and per connection; see [`LoginThrottle`]).
    /// Default: 5 free attempts, then waits from 1 s doubling up to 60 s, answered
    /// `TOO_MANY_ATTEMPTS` (429) with `details.retryAfterMs`.
    #[must_use]
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.gate.throttle.policy = throttle;
        self
    }

    /// Checks the permission each request declares (`#[permission("orders:write")]` on the
    /// contract method) against the caller's roles before dispatch: no verified caller
    /// answers `UNAUTHENTICATED` (401), a missing permission `FORBIDDEN` (403), and the
    /// handler is not called. Runs in the authentication layer (see [`Server::auth`] for
    /// its place in the pipeline).
    #[must_use]
    pub fn access(mut self, policy: AccessPolicy) -> Self {
        self.gate.policy = Some(Arc::new(policy));
        self.layers.auth_at.get_or_insert(self.layers.requests.len());
        self
    }

    /// Runs every request through `layer` (any [`tower::Layer`], or [`crate::middleware::from_fn`]).
    /// Layers run in registration order: the first one registered sees the request first.
    /// Registered before [`Server::auth`]/[`Server::access`], a layer runs outside
    /// authentication (and sees `$login`/`$logout`); after, inside it.
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<RequestService<Context>> + Send + 'static,
        L::Service: TowerService<ServerRequest, Response = Payload, Error = BoxError>
            + Clone
            + Send
            + 'static,
        <L::Service as TowerService<ServerRequest>>::Future: Send + 'static,
    {
        self.layers.requests.push(Box::new(move |inner| BoxCloneService::new(layer.layer(inner))));
        self
    }

    /// Runs requests of type `R` only through `layer`, inside the layers for every request.
    #[must_use]
    pub fn layer_for<R, L>(mut self, layer: L) -> Self
    where
        R: Request,
        L: Layer<RequestService<Context>> + Send + 'static,
        L::Service: TowerService<ServerRequest, Response = Payload, Error = BoxError>
            + Clone
            + Send
            + 'static,
        <L::Service as TowerService<ServerRequest>>::Future: Send + 'static,
    {
        let layers = self.layers.per_type.entry(R::NAME).or_default();
        layers.push(Box::new(move |inner| BoxCloneService::new(layer.layer(inner))));
        self
    }

    /// Runs every event a client emits through `layer` before its handlers; a layer that
    /// does not call on drops the event.
    #[must_use]
    pub fn event_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<EventService<Context>> + Send + 'static,
        L::Service:
            TowerService<ServerEvent, Response = (), Error = BoxError> + Clone + Send + 'static,
        <L::Service as TowerService<ServerEvent>>::Future: Send + 'static,
    {
        self.layers.events.push(Box::new(move |inner| BoxCloneService::new(layer.layer(inner))));
        self
    }
}
