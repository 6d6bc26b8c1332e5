//! The client's middleware: layers around outgoing requests (innermost: the connection)
//! and around incoming events (innermost: delivery to subscribers).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context as TaskContext, Poll};

use futures_util::FutureExt;
use tower::util::BoxCloneService;
use tower::Service;

use super::subscription::Subscriptions;
use super::{Client, Inner};
use crate::context::MessageContext;
use crate::middleware::{
    into_wire, BoxError, ClientEvent, ClientRequest, EventService, RequestService, Template,
};
use crate::payload::Payload;
use crate::transport::{EventFrame, Reply};

/// Wraps the request pipeline in one more layer.
pub(crate) type RequestLayerFn =
    Arc<dyn Fn(RequestService<MessageContext>) -> RequestService<MessageContext> + Send + Sync>;
/// Wraps the event pipeline in one more layer.
pub(crate) type EventLayerFn =
    Arc<dyn Fn(EventService<MessageContext>) -> EventService<MessageContext> + Send + Sync>;

/// The layers a client was built with, in registration order.
#[derive(Clone, Default)]
pub(crate) struct ClientLayers {
    pub(crate) requests: Vec<RequestLayerFn>,
    pub(crate) events: Vec<EventLayerFn>,
}

impl fmt::Debug for ClientLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLayers")
            .field("requests", &self.requests.len())
            .field("events", &self.events.len())
            .finish()
    }
}

impl ClientLayers {
    /// The request pipeline, or `None` (the fast path) without request layers.
    pub(crate) fn requests(
        &self,
        client: Weak<Inner>,
    ) -> Option<Template<RequestService<MessageContext>>> {
        (!self.requests.is_empty()).then(|| {
            let innermost = BoxCloneService::new(SendFrame { client });
            let service = self.requests.iter().rev().fold(innermost, |inner, layer| layer(inner));
            Template::new(service)
        })
    }

    /// The event pipeline, or `None` without event layers.
    pub(crate) fn events(
        &self,
        subscriptions: &Arc<Subscriptions>,
    ) -> Option<EventService<MessageContext>> {
        (!self.events.is_empty()).then(|| {
            let innermost =
                BoxCloneService::new(Deliver { subscriptions: Arc::clone(subscriptions) });
            self.events.iter().rev().fold(innermost, |inner, layer| layer(inner))
        })
    }
}

/// The connection went away before the answer came.
#[derive(Debug)]
pub(crate) struct Gone;

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection was lost before the response arrived")
    }
}

impl std::error::Error for Gone {}

/// What a call waits for: the reply channel, or the request pipeline's answer.
pub(crate) enum Answer {
    Direct(super::reply::PendingReply),
    Piped(Pin<Box<dyn Future<Output = Result<Reply, Gone>> + Send>>),
}

impl Answer {
    /// Runs a request through the client's layers.
    pub(crate) fn piped(pipeline: RequestService<MessageContext>, request: ClientRequest) -> Self {
        use tower::ServiceExt;
        Self::Piped(Box::pin(pipeline.oneshot(request).map(|answer| match answer {
            Ok(payload) => Ok(Ok(payload)),
            Err(e) if e.is::<Gone>() => Err(Gone),
            Err(e) => Ok(Err(into_wire(e))),
        })))
    }
}

impl Future for Answer {
    type Output = Result<Reply, Gone>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Self::Direct(receiver) => receiver.poll_unpin(cx).map(|r| r.map_err(|_| Gone)),
            Self::Piped(future) => future.as_mut().poll(cx),
        }
    }
}

/// The innermost request service: sends the frame and waits for its reply.
#[derive(Clone)]
struct SendFrame {
    client: Weak<Inner>,
}

impl Service<ClientRequest> for SendFrame {
    type Response = Payload;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Payload, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ClientRequest) -> Self::Future {
        let Some(inner) = self.client.upgrade() else {
            return Box::pin(async { Err(Box::new(Gone) as BoxError) });
        };
        let client = Client { inner };
        let ClientRequest { name, payload, context } = request;
        let response =
            client.send_request(name, payload, context).map(|reply| client.cancel_on_drop(reply));
        Box::pin(async move {
            let Some(response) = response else {
                return Err(Box::new(Gone) as BoxError);
            };
            match response.await {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(wire)) => Err(Box::new(wire) as BoxError),
                Err(_) => Err(Box::new(Gone) as BoxError),
            }
        })
    }
}

/// The innermost event service: hands the event to the subscribers.
#[derive(Clone)]
struct Deliver {
    subscriptions: Arc<Subscriptions>,
}

impl Service<ClientEvent> for Deliver {
    type Response = ();
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    /// Resolves once every subscriber has the event (waiting for room in full buffers).
    fn call(&mut self, event: ClientEvent) -> Self::Future {
        let ClientEvent { name, payload, context } = event;
        let subscriptions = Arc::clone(&self.subscriptions);
        Box::pin(async move {
            subscriptions.deliver(EventFrame { name, payload, context }).await;
            Ok(())
        })
    }
}
