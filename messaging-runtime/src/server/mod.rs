//! The server: bind an address, serve contracts, start, publish events, stop.

mod connection;
pub(crate) mod context;
mod gate;
mod pipeline;
pub(crate) mod registry;
pub(crate) mod router;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinHandle;

use tower::util::BoxCloneService;
use tower::{Layer, Service as TowerService};

use crate::auth::{AccessPolicy, AuthProvider};
use crate::contract::{Event, Request};
use crate::error::TransportError;
use crate::middleware::{BoxError, EventService, RequestService, ServerEvent, ServerRequest};
use crate::payload::Payload;
use crate::transport::{transport_for, Listener};

pub use context::Context;
pub use registry::{Broadcaster, ClientId, ClientInfo};
pub use router::{BoxFuture, Router, Service};

/// A server that is bound but not yet started: add contracts and event handlers, then
/// [`Server::start`].
pub struct Server {
    listener: Box<dyn Listener>,
    router: Router,
    registry: Arc<registry::Registry>,
    layers: pipeline::Layers,
    gate: gate::Gate,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("address", &self.listener.local_addr()).finish()
    }
}

/// Starting a server failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeError {
    /// Two served contracts answer the same request type.
    DuplicateRequestType(&'static str),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateRequestType(name) => write!(
                f,
                "request type `{name}` is served by two contracts; each wire name may be served once"
            ),
        }
    }
}

impl std::error::Error for ServeError {}

impl Server {
    /// Binds `address` (`memory://name`, or any registered scheme).
    pub async fn bind(address: &str) -> Result<Self, TransportError> {
        let listener = transport_for(address)?.bind(address).await?;
        Ok(Self {
            listener,
            router: Router::default(),
            registry: Arc::default(),
            layers: pipeline::Layers::default(),
            gate: gate::Gate::default(),
        })
    }

    /// Serves a contract: `server.serve(OrderServiceServer::new(orders))`.
    #[must_use]
    pub fn serve<S: Service>(mut self, service: S) -> Self {
        self.router.add_contract(service.descriptor());
        service.register(&mut self.router);
        self
    }

    /// Handles events of type `E` that clients emit.
    #[must_use]
    pub fn on_event<E, F, Fut>(mut self, handler: F) -> Self
    where
        E: Event,
        F: Fn(E, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.router.event(handler);
        self
    }

    /// Authenticates callers with `provider`: the server answers `$login` and `$logout`,
    /// binds a login to the connection, verifies the token of every request (an unknown or
    /// expired one answers `UNAUTHENTICATED`, 401) and hands handlers the verified actor.
    /// An actor a client puts in its context is always discarded.
    #[must_use]
    pub fn auth(mut self, provider: impl AuthProvider) -> Self {
        self.gate.provider = Some(Arc::new(provider));
        self
    }

    /// Checks the permission each request declares (`#[permission("orders:write")]` on the
    /// contract method) against the caller's roles before dispatch: no verified caller
    /// answers `UNAUTHENTICATED` (401), a missing permission `FORBIDDEN` (403), and the
    /// handler is not called.
    #[must_use]
    pub fn access(mut self, policy: AccessPolicy) -> Self {
        self.gate.policy = Some(Arc::new(policy));
        self
    }

    /// Runs every request through `layer` (any [`tower::Layer`], or [`crate::middleware::from_fn`]).
    /// Layers run in registration order: the first one registered sees the request first.
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

    /// Publishes events to this server's clients; usable before [`Server::start`], so the
    /// service being served can hold one.
    pub fn broadcaster(&self) -> Broadcaster {
        Broadcaster::new(Arc::clone(&self.registry))
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> String {
        self.listener.local_addr()
    }

    /// Starts accepting clients.
    pub async fn start(self) -> Result<RunningServer, ServeError> {
        if let Some(name) = self.router.duplicates().first() {
            return Err(ServeError::DuplicateRequestType(name));
        }
        let address = self.listener.local_addr();
        let contracts = self.router.contracts().iter().map(|c| c.name).collect::<Vec<_>>();
        tracing::info!(%address, ?contracts, "server started");
        let broadcaster = self.broadcaster();
        let router = Arc::new(self.router);
        let pipelines = Arc::new(self.layers.build(&router, self.gate));
        let acceptor = tokio::spawn(connection::accept_loop(
            self.listener,
            router,
            pipelines,
            Arc::clone(&self.registry),
        ));
        Ok(RunningServer {
            address,
            broadcaster,
            registry: self.registry,
            acceptor: Some(acceptor),
        })
    }
}

/// A started server. Dropping it stops it.
pub struct RunningServer {
    address: String,
    broadcaster: Broadcaster,
    registry: Arc<registry::Registry>,
    acceptor: Option<JoinHandle<()>>,
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer").field("address", &self.address).finish()
    }
}

impl RunningServer {
    /// The address clients connect to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The clients connected right now, with the ids the server assigned.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.registry.list()
    }

    /// Publishes events to this server's clients.
    pub fn broadcaster(&self) -> Broadcaster {
        self.broadcaster.clone()
    }

    /// Stops accepting clients and closes every connection; requests in flight fail on the
    /// client with a disconnection error.
    /// Once it returns, the address can be bound again.
    pub async fn stop(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
            // Cancelled is the expected outcome; anything else already ended the loop.
            let _ = acceptor.await;
        }
        self.registry.clear();
        tracing::info!(address = %self.address, "server stopped");
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(acceptor) = &self.acceptor {
            acceptor.abort();
        }
        self.registry.clear();
    }
}
