//! The accept loop and the per-connection loop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::context::Context;
use super::gate::{Admission, Gate, SessionSlot};
use super::pipeline::Pipelines;
use super::registry::{Broadcaster, Registry};
use super::router::{BoxFuture, Router};
use super::Limits;
use crate::middleware::{into_wire, RequestService, ServerEvent, ServerRequest, Template};
use crate::transport::{CloseReason, Inbound, Listener, Reply, ServerLink};

/// Accepts clients until the listener closes, the server stops, or the task is aborted
/// (which aborts every connection it started).
///
/// On stop it drops the listener first (the address can be bound again), tells every
/// connection to finish, waits for them for at most the grace period, then aborts the rest.
pub(super) async fn accept_loop(
    mut listener: Box<dyn Listener>,
    router: Arc<Router>,
    pipelines: Arc<Pipelines>,
    registry: Arc<Registry>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut watching = shutdown.clone();
    // Resolves when the server stops (or is dropped).
    let stopping = async move {
        let _ = watching.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            link = listener.accept() => match link {
                Some(link) => {
                    while connections.try_join_next().is_some() {}
                    if connections.len() >= limits.max_connections {
                        tracing::warn!(peer = %link.peer, max = limits.max_connections, "refused a connection: too many connections");
                        // Dropping the link unregistered tells the transport; the reason says why.
                        link.outbound.finish(CloseReason::TooManyConnections);
                        continue;
                    }
                    connections.spawn(serve_connection(link, Arc::clone(&router), Arc::clone(&pipelines), Arc::clone(&registry), limits.max_in_flight, shutdown.clone()));
                }
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // Stopping (or the server was dropped).
            () = &mut stopping => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace = ?limits.shutdown_grace,
            "requests still in flight after the grace period are cancelled"
        );
    }
    connections.shutdown().await;
}

/// Serves one client: requests run concurrently on this task, so a slow handler does not
/// hold up the next request, and no task is spawned per request.
///
/// At most `max_in_flight` requests wait for their answer at once; one more is answered
/// `OVERLOADED` (503) at once. When the server stops, the connection stops reading, lets
/// what is in flight finish, and ends (the transport then closes it, saying the server is
/// shutting down).
async fn serve_connection(
    link: ServerLink,
    router: Arc<Router>,
    pipelines: Arc<Pipelines>,
    registry: Arc<Registry>,
    max_in_flight: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let ServerLink { mut inbound, outbound, peer, registered } = link;
    let client_id = registry.add(peer, outbound.clone());
    if let Some(registered) = registered {
        // The client may have given up connecting already; it then leaves at once.
        let _ = registered.send(());
    }
    let broadcaster = Broadcaster::new(Arc::clone(&registry));
    let requests = pipelines.requests.as_ref().map(Template::get);
    let events = pipelines.events.as_ref().map(Template::get);
    tracing::debug!(client = %client_id, "client connected");
    // Requests waiting for their answer (bounded by `max_in_flight`), and client events
    // being handled.
    let mut in_flight: FuturesUnordered<BoxFuture<()>> = FuturesUnordered::new();
    let mut handling: FuturesUnordered<BoxFuture<()>> = FuturesUnordered::new();
    // Numbers this connection's requests for their tracing spans.
    let mut seq: u64 = 0;
    let session = SessionSlot::default();
    // One `closed` future for the whole connection: it registers with the channel once
    // rather than once per turn of the loop.
    let closed = outbound.closed();
    tokio::pin!(closed);
    // Resolves when the server stops (or is dropped).
    let stopping = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            biased;
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            Some(()) = handling.next(), if !handling.is_empty() => {}
            frame = inbound.recv() => {
                let Some(frame) = frame else { break };
                let cx = |message| Context::new(message, client_id.clone(), broadcaster.clone());
                match frame {
                    Inbound::Request(request) if in_flight.len() >= max_in_flight => {
                        tracing::debug!(client = %client_id, request_type = %request.name, "too many requests in flight: answered OVERLOADED");
                        let _ = request.reply.send(Err(overloaded(max_in_flight)));
                    }
                    Inbound::Request(request) => {
                        seq += 1;
                        let span = request_span(&request.name, seq, &client_id, &request.context);
                        let deadline = request.context.deadline;
                        let mut call = if pipelines.gate.is_active() {
                            let dispatch = Dispatch {
                                router: Arc::clone(&router),
                                requests: requests.clone(),
                                client_id: client_id.clone(),
                                broadcaster: broadcaster.clone(),
                            };
                            Box::pin(gated(pipelines.gate.clone(), Arc::clone(&session), dispatch, request.name, request.payload, request.context))
                        } else {
                            let context = cx(request.context);
                            let _entered = span.enter();
                            match &requests {
                                Some(pipeline) => through(pipeline, request.name, request.payload, context),
                                None => router.dispatch(&request.name, request.payload, context),
                            }
                        };
                        if !span.is_disabled() {
                            call = Box::pin(record_outcome(call, span));
                        }
                        let reply = request.reply;
                        // Most handlers answer without waiting: reply at once, and join only
                        // the ones still pending to the requests in flight. (A caller that
                        // gave up waiting gets nothing; nothing to do then.)
                        match poll_once(&mut call) {
                            Poll::Ready(answer) => {
                                let _ = reply.send(answer);
                            }
                            Poll::Pending => in_flight.push(Box::pin(finish(call, reply, deadline))),
                        }
                    }
                    Inbound::Event(event) if events.is_some() => {
                        if let Some(pipeline) = &events {
                            let envelope = ServerEvent { name: event.name, payload: event.payload, context: cx(event.context) };
                            handling.push(Box::pin(pipeline.clone().oneshot(envelope).map(|outcome| {
                                if let Err(e) = outcome {
                                    tracing::warn!(error = %e, "an event layer failed");
                                }
                            })));
                        }
                    }
                    // In process, a caller that gave up closed its reply channel already.
                    Inbound::Abandoned => {}
                    Inbound::Event(event) => {
                        let handlers = router.event_handlers(&event.name);
                        if handlers.is_empty() {
                            tracing::debug!(event = %event.name, client = %client_id, "no handler for client event");
                        }
                        let payload = event.payload.into_shared();
                        let span = tracing::info_span!("event", event = %event.name, client = %client_id);
                        for handler in handlers {
                            let run = handler(payload.share(), cx(event.context.clone()));
                            if span.is_disabled() {
                                handling.push(run);
                            } else {
                                handling.push(Box::pin(tracing::Instrument::instrument(run, span.clone())));
                            }
                        }
                    }
                }
            }
            () = &mut closed => break,
            () = &mut stopping => {
                // Read nothing more: what the client sends now is dropped unanswered when
                // the connection closes (`Disconnected` on the client). Answer what is in
                // flight (the server bounds how long), then close.
                outbound.finish(CloseReason::ShuttingDown);
                let requests = async { while in_flight.next().await.is_some() {} };
                let events = async { while handling.next().await.is_some() {} };
                futures_util::future::join(requests, events).await;
                break;
            }
        }
    }
    registry.remove(&client_id);
    // Let handlers that already started finish (their side effects are not lost); replies
    // have nowhere to go.
    while in_flight.next().await.is_some() {}
    while handling.next().await.is_some() {}
    tracing::debug!(client = %client_id, "client disconnected");
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
    client: &super::ClientId,
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

/// Everything needed to dispatch a request once the gate let it through.
struct Dispatch {
    router: Arc<Router>,
    requests: Option<RequestService<Context>>,
    client_id: super::ClientId,
    broadcaster: Broadcaster,
}

/// Authenticates and authorises a request, then dispatches it.
async fn gated(
    gate: Gate,
    session: SessionSlot,
    dispatch: Dispatch,
    name: std::borrow::Cow<'static, str>,
    payload: crate::payload::Payload,
    message: crate::context::MessageContext,
) -> Reply {
    match gate.admit(&session, &name, payload, message).await? {
        Admission::Answered(reply) => reply,
        Admission::Dispatch(message, payload) => {
            let context = Context::new(message, dispatch.client_id, dispatch.broadcaster);
            match &dispatch.requests {
                Some(pipeline) => through(pipeline, name, payload, context).await,
                None => dispatch.router.dispatch(&name, payload, context).await,
            }
        }
    }
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
