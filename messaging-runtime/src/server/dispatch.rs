//! What a connection does with each frame: requests dispatched (through the request
//! pipeline, authentication included, when there is one) and answered, within their
//! deadline; client events handed to their handlers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tower::ServiceExt;

use super::context::{Context, Peer};
use super::gate::SessionSlot;
use super::pipeline::Pipelines;
use super::registry::Broadcaster;
use super::router::{BoxFuture, Router};
use super::ClientId;
use super::{ServerEvent, ServerRequest};
use crate::contract::handshake::HANDSHAKE;
use crate::middleware::{into_wire, EventService, RequestService, Template};
use crate::transport::{EventFrame, Inbound, Reply, RequestFrame};

/// One client's connection, as dispatch sees it.
pub(super) struct Connection {
    router: Arc<Router>,
    pipelines: Arc<Pipelines>,
    /// The server's request layers, `None` when there are none (the fast path).
    requests: Option<RequestService<Context>>,
    /// The server's event layers, `None` when there are none.
    events: Option<EventService<Context>>,
    pub(super) client_id: ClientId,
    /// What every message's context shares: the client's id and the broadcaster.
    peer: Arc<Peer>,
    /// The session opened on this connection with `$login`, if any.
    session: SessionSlot,
    max_in_flight: usize,
    /// Numbers this connection's requests for their tracing spans.
    seq: u64,
    /// Requests waiting for their answer (at most `max_in_flight`).
    pub(super) in_flight: FuturesUnordered<BoxFuture<()>>,
    /// Client events being handled.
    pub(super) handling: FuturesUnordered<BoxFuture<()>>,
}

impl Connection {
    /// A new connection for the client the server registered as `client_id`.
    pub(super) fn new(
        router: Arc<Router>,
        pipelines: Arc<Pipelines>,
        client_id: ClientId,
        broadcaster: Broadcaster,
        max_in_flight: usize,
        sessions: bool,
    ) -> Self {
        Self {
            requests: pipelines.requests.as_ref().map(Template::get),
            events: pipelines.events.as_ref().map(Template::get),
            router,
            pipelines,
            peer: Arc::new(Peer { client_id: client_id.clone(), broadcaster }),
            client_id,
            session: if sessions { SessionSlot::default() } else { SessionSlot::unbound() },
            max_in_flight,
            seq: 0,
            in_flight: FuturesUnordered::new(),
            handling: FuturesUnordered::new(),
        }
    }

    /// The context of a message of this client, as the first layer sees it: an actor the
    /// client claimed is discarded, since nothing verified it (the authentication layer
    /// writes the verified one); the connection's login goes along for that layer.
    fn context(&self, message: crate::context::MessageContext) -> Context {
        self.boxed_context(Box::new(message))
    }

    /// [`Connection::context`] of a message context boxed already.
    fn boxed_context(&self, mut message: Box<crate::context::MessageContext>) -> Context {
        if let Some(auth) = message.auth.as_mut() {
            auth.actor = None;
        }
        let mut context = Context::boxed(message, Arc::clone(&self.peer));
        if self.pipelines.gate.is_active() {
            context.session = Some(self.session.clone());
        }
        context
    }

    /// Starts a request: answers it at once when its handler does not wait (most do),
    /// otherwise adds it to the requests in flight, or answers `OVERLOADED` when there are
    /// as many as allowed. (A caller that gave up waiting gets nothing.)
    pub(super) fn on_request(&mut self, request: Box<RequestFrame>) {
        if self.in_flight.len() >= self.max_in_flight {
            tracing::debug!(client = %self.client_id, request_type = %request.name, "too many requests in flight: answered OVERLOADED");
            let _ = request.reply.send(Err(overloaded(self.max_in_flight)));
            return;
        }
        if request.name == HANDSHAKE {
            // The library's own protocol extension: answered before the gate and the
            // layers, like the transport would answer a ping.
            let _ = request.reply.send(self.router.handshake(request.payload));
            return;
        }
        if let Err(too_large) = self.pipelines.gate.context_limit.check(&request.context) {
            let _ = request.reply.send(Err(too_large));
            return;
        }
        self.seq += 1;
        let span = request_span(&request.name, self.seq, &self.client_id, &request.context);
        let deadline = request.context.deadline;
        // Boxed straight from the frame's box: not moved through this function first.
        let context = self.boxed_context(Box::new(request.context));
        let RequestFrame { name, payload, reply, .. } = *request;
        let mut call = {
            let _entered = span.enter();
            match &self.requests {
                Some(pipeline) => through(pipeline, name, payload, context),
                None => self.router.dispatch(&name, payload, context),
            }
        };
        if !span.is_disabled() {
            call = Box::pin(record_outcome(call, span));
        }
        match poll_once(&mut call) {
            Poll::Ready(answer) => {
                let _ = reply.send(answer);
            }
            Poll::Pending => self.in_flight.push(Box::pin(finish(call, reply, deadline))),
        }
    }

    /// Handles one frame of the client's.
    pub(super) fn on_inbound(&mut self, frame: Inbound) {
        match frame {
            Inbound::Request(request) => self.on_request(request),
            Inbound::Event(event) => self.on_event(*event),
            Inbound::Gather(gather) => self.on_request(Box::new(gather.into_request())),
            // In process, a caller that gave up closed its reply channel already; a
            // transport that forwards cancels over a wire tells the server by dropping it.
            Inbound::Cancel(_) => {}
            // Sent by a client that took this link for a text transport's (it had just
            // reconnected): read back, it is a request like any other.
            Inbound::Encoded(encoded) => {
                if let Some(request) = encoded.into_frame() {
                    self.on_request(Box::new(request));
                }
            }
        }
    }

    /// Hands a client event to the event layers, or straight to its handlers.
    pub(super) fn on_event(&mut self, event: EventFrame) {
        if let Err(too_large) = self.pipelines.gate.context_limit.check(&event.context) {
            // Events have no answer: the event is dropped, and said so.
            tracing::warn!(event = %event.name, client = %self.client_id, reason = %too_large.message, "dropped a client event");
            return;
        }
        if let Some(pipeline) = &self.events {
            let context = self.context(event.context);
            let envelope = ServerEvent { name: event.name, payload: event.payload, context };
            self.handling.push(Box::pin(pipeline.clone().oneshot(envelope).map(|outcome| {
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "an event layer failed");
                }
            })));
            return;
        }
        let handlers = self.router.event_handlers(&event.name);
        if handlers.is_empty() {
            tracing::debug!(event = %event.name, client = %self.client_id, "no handler for client event");
        }
        let payload = event.payload.into_shared();
        let span = tracing::info_span!("event", event = %event.name, client = %self.client_id);
        for handler in handlers {
            let run = handler(payload.share(), self.context(event.context.clone()));
            if span.is_disabled() {
                self.handling.push(run);
            } else {
                self.handling.push(Box::pin(tracing::Instrument::instrument(run, span.clone())));
            }
        }
    }

    /// Waits for every request in flight and every event being handled.
    pub(super) async fn drain(&mut self) {
        let requests = async { while self.in_flight.next().await.is_some() {} };
        let events = async { while self.handling.next().await.is_some() {} };
        futures_util::future::join(requests, events).await;
    }
}

/// The answer to a request over the connection's limit of requests in flight.
fn overloaded(max_in_flight: usize) -> crate::error::WireError {
    crate::error::WireError::new(
        crate::error::codes::OVERLOADED,
        503,
        format!("too many requests in flight on this connection (at most {max_in_flight}): try again later"),
    )
}

/// The span of one request: request id, request type, client id, and (once answered) the
/// outcome. Disabled, and free, when no subscriber listens.
fn request_span(
    name: &str,
    seq: u64,
    client: &ClientId,
    context: &crate::context::MessageContext,
) -> tracing::Span {
    let request_id = context.id.as_deref().unwrap_or_default();
    tracing::info_span!(
        "request",
        request_type = %name,
        request_id = %request_id,
        seq,
        client = %client,
        outcome = tracing::field::Empty,
    )
}

/// Awaits the answer inside the request's span and records its outcome there.
async fn record_outcome(call: BoxFuture<Reply>, span: tracing::Span) -> Reply {
    use tracing::Instrument;
    let answer = call.instrument(span.clone()).await;
    match &answer {
        Ok(_) => span.record("outcome", "ok"),
        Err(error) => span.record("outcome", error.code.as_str()),
    };
    tracing::debug!(parent: &span, "answered");
    answer
}

/// Waits for a handler that did not answer at once, within the request's deadline. A
/// handler still running when the deadline passes is cancelled (dropped) and
/// `DEADLINE_EXCEEDED` (504) answered; one whose caller stopped waiting (dropped its call)
/// is cancelled too. Handlers that answer on their first poll never get here, so they pay
/// for no timer.
async fn finish(
    call: BoxFuture<Reply>,
    mut reply: tokio::sync::oneshot::Sender<Reply>,
    deadline: Option<std::time::Instant>,
) {
    let expired = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        answer = call => {
            let _ = reply.send(answer);
        }
        () = reply.closed() => tracing::debug!("the caller stopped waiting: the handler is cancelled"),
        () = expired => {
            let timeout = crate::error::WireError::new(
                crate::error::codes::DEADLINE_EXCEEDED,
                504,
                "the request's deadline passed before its handler finished; the handler was cancelled",
            );
            let _ = reply.send(Err(timeout));
        }
    }
}

/// Sends a request through the server's request layers.
fn through(
    pipeline: &RequestService<Context>,
    name: std::borrow::Cow<'static, str>,
    payload: crate::payload::Payload,
    context: Context,
) -> BoxFuture<Reply> {
    let request = ServerRequest { name, payload, context };
    Box::pin(pipeline.clone().oneshot(request).map(|answer| answer.map_err(into_wire)))
}

/// Polls a future once, with a waker that does nothing. A future still pending is then
/// pushed to the requests in flight, whose next turn polls it again with this task's
/// waker (a newly pushed future is always polled), so no wake-up is lost; a future that is
/// ready skips that bookkeeping: no second allocation, no extra turn of the loop.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut TaskContext::from_waker(Waker::noop()))
}
