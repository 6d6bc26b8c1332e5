//! The server's links to its NATS clients: one per client id, made when the client's first
//! message arrives, ended when it says goodbye or stays idle too long. Each request becomes
//! a frame on its client's link; its answer goes back to the request's reply subject.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_nats::{HeaderMap, Message, Subject};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::FutureExt;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::headers::{self, CLIENT, REQUEST_ID};
use super::service::Endpoint;
use super::subjects::{check_token, Subjects};
use crate::payload::Payload;
use crate::transport::{
    event_queue, CloseReason, EventSender, Inbound, Reply, RequestFrame, ServerLink,
};
use crate::wire::{codes, WireError};

/// What answers one request: waits for the server's answer and publishes it.
pub(super) type Answering = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The id under which clients that name no id (a plain `nats req`) share one link.
const ANONYMOUS: &str = "anonymous";

/// One client's link, as the transport keeps it.
struct Link {
    inbound: mpsc::UnboundedSender<Inbound>,
    /// Kept to read why the server refused the client, if it did.
    outbound: EventSender,
    /// The requests being served, by the client's id for them.
    calls: HashMap<u64, AbortHandle>,
    last_seen: Instant,
}

/// Every link of one listener, and how to reach the broker.
pub(super) struct Links {
    broker: async_nats::Client,
    subjects: Subjects,
    accept: mpsc::UnboundedSender<ServerLink>,
    links: Mutex<HashMap<String, Link>>,
    /// Set when the server stops: requests still arriving are answered `UNAVAILABLE`.
    closing: std::sync::atomic::AtomicBool,
}

impl Links {
    pub(super) fn new(
        broker: async_nats::Client,
        subjects: Subjects,
        accept: mpsc::UnboundedSender<ServerLink>,
    ) -> Self {
        Self { broker, subjects, accept, links: Mutex::default(), closing: Default::default() }
    }

    /// The server stops: answer what still arrives `UNAVAILABLE` (a Rust client then sees
    /// `Disconnected` at once, as from a socket server that went away).
    pub(super) fn close(&self) {
        self.closing.store(true, std::sync::atomic::Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Link>> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves one request message of `endpoint`: hands it to its client's link at once (so a
    /// client's requests reach the server in the order the broker delivered them) and
    /// returns what waits for the answer and publishes it, for the subscription's task to
    /// poll beside the next messages rather than on a task of its own.
    pub(super) fn on_request(
        self: &Arc<Self>,
        message: Message,
        endpoint: Arc<Endpoint>,
    ) -> Answering {
        let started = Instant::now();
        let Some(reply_to) = message.reply.clone() else {
            tracing::warn!(subject = %message.subject, "dropped a request with no reply subject: nowhere to answer");
            return Box::pin(std::future::ready(()));
        };
        if self.closing.load(std::sync::atomic::Ordering::Acquire) {
            let error = WireError::new(codes::UNAVAILABLE, 503, "the server is stopping");
            return self.refusal(reply_to, error, endpoint, started);
        }
        let (client, id, name, payload, context) = match read_request(&message, &endpoint.name) {
            Ok(frame) => frame,
            Err(error) => return self.refusal(reply_to, error, endpoint, started),
        };
        let (reply, answer) = oneshot::channel();
        let frame = RequestFrame { id, name: Cow::Owned(name), payload, context, reply };
        let (handle, registration) = AbortHandle::new_pair();
        // A request the client numbered can be cancelled by that number.
        let call = (id != 0).then_some((id, handle));
        let Some(link) = self.deliver(&client, Inbound::Request(Box::new(frame)), call) else {
            let error = unavailable("the server is not accepting requests");
            return self.refusal(reply_to, error, endpoint, started);
        };
        let me = Arc::clone(self);
        let wait = async move {
            let reply = match answer.await {
                Ok(reply) => reply,
                Err(_) => Err(me.why_dropped(&client, &link)),
            };
            if let Some(entry) = me.lock().get_mut(&client) {
                entry.calls.remove(&id);
            }
            me.respond(reply_to, reply, &endpoint, started).await;
        };
        Box::pin(Abortable::new(wait, registration).map(drop))
    }

    /// Answers a request `error` without serving it.
    fn refusal(
        self: &Arc<Self>,
        to: Subject,
        error: WireError,
        endpoint: Arc<Endpoint>,
        started: Instant,
    ) -> Answering {
        let me = Arc::clone(self);
        Box::pin(async move { me.respond(to, Err(error), &endpoint, started).await })
    }

    /// Hands a client's event to its link.
    pub(super) fn on_emit(self: &Arc<Self>, message: &Message) {
        let Some(client) = client_of(message) else { return };
        if let Some(event) = super::client::event_frame(message) {
            self.deliver(&client, Inbound::Event(Box::new(event)), None);
        }
    }

    /// The client stopped waiting for request `Mb-Request-Id`: cancel its handler.
    pub(super) fn on_cancel(&self, message: &Message) {
        let client = Subjects::last_token(message.subject.as_str());
        let id = message.headers.as_ref().and_then(|h| h.get(REQUEST_ID));
        let Some(id) = id.and_then(|id| id.as_str().parse::<u64>().ok()) else { return };
        let mut links = self.lock();
        let Some(link) = links.get_mut(client) else { return };
        if let Some(call) = link.calls.remove(&id) {
            // Dropping the reply channel tells the server to cancel the handler.
            call.abort();
            let _ = link.inbound.send(Inbound::Cancel(id));
        }
    }

    /// The client left: end its link (the server then drops it like a closed connection).
    pub(super) fn on_bye(&self, message: &Message) {
        let client = Subjects::last_token(message.subject.as_str());
        if let Some(link) = self.lock().remove(client) {
            link.calls.values().for_each(AbortHandle::abort);
        }
    }

    /// Ends the links idle for `idle` or longer with nothing in flight.
    pub(super) fn sweep(&self, idle: Duration) {
        let now = Instant::now();
        self.lock().retain(|_, link| {
            !link.inbound.is_closed()
                && (!link.calls.is_empty() || now.duration_since(link.last_seen) < idle)
        });
    }

    /// Sends `frame` on `client`'s link, making the link first if there is none (or the
    /// server closed it), and records `call` (a request's number and what cancels it) on the
    /// link, under the same lock. `None` when the server is gone.
    fn deliver(
        self: &Arc<Self>,
        client: &str,
        frame: Inbound,
        call: Option<(u64, AbortHandle)>,
    ) -> Option<EventSender> {
        let mut links = self.lock();
        if let Some(link) = links.get_mut(client) {
            link.last_seen = Instant::now();
            match link.inbound.send(frame) {
                Ok(()) => {
                    link.calls.extend(call);
                    return Some(link.outbound.clone());
                }
                Err(mpsc::error::SendError(frame)) => {
                    links.remove(client);
                    drop(links);
                    return self.open(client, frame, call);
                }
            }
        }
        drop(links);
        self.open(client, frame, call)
    }

    /// Registers a new link for `client` with the server and sends it `frame`.
    fn open(
        self: &Arc<Self>,
        client: &str,
        frame: Inbound,
        call: Option<(u64, AbortHandle)>,
    ) -> Option<EventSender> {
        let (inbound, server_inbound) = mpsc::unbounded_channel();
        let (outbound, mut events) = event_queue();
        let link = ServerLink {
            inbound: server_inbound,
            outbound: outbound.clone(),
            peer: format!("nats client {client}"),
            registered: None,
            sessions: false,
            client_id: Some(client.to_owned()),
            driver: None,
        };
        // Queued before the server takes the link: it reads them once it registered it.
        inbound.send(frame).ok()?;
        self.accept.send(link).ok()?;
        let (broker, subject_of) = (self.broker.clone(), self.subjects.clone());
        let id = client.to_owned();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let subject = subject_of.to_client(&id, &event.name);
                super::server::publish_event(&broker, subject, &event).await;
            }
        });
        let entry = Link {
            inbound,
            outbound: outbound.clone(),
            calls: call.into_iter().collect(),
            last_seen: Instant::now(),
        };
        self.lock().insert(client.to_owned(), entry);
        Some(outbound)
    }

    /// Why a request's reply channel closed without an answer: the client was refused
    /// (`OVERLOADED`, with the reason), or the server stopped (`UNAVAILABLE`).
    fn why_dropped(&self, client: &str, link: &EventSender) -> WireError {
        let reason = link.close_reason();
        if reason.is_some() {
            // A refused or closed link is made anew by the client's next message.
            self.lock().remove(client);
        }
        match reason {
            Some(reason @ (CloseReason::TooManyConnections | CloseReason::SlowConsumer)) => {
                unavailable(&reason.to_string())
            }
            _ => WireError::new(
                codes::UNAVAILABLE,
                503,
                "the server stopped before it answered the request; it may or may not have run",
            ),
        }
    }

    /// Publishes `reply` to `to` and counts it in the endpoint's statistics.
    async fn respond(&self, to: Subject, reply: Reply, endpoint: &Endpoint, started: Instant) {
        let mut body = endpoint.reply_size.buffer();
        let reply = reply.and_then(|payload| {
            payload.write_json(&mut body).map_err(|e| {
                let message =
                    format!("the response of `{}` could not be encoded: {e}", endpoint.name);
                WireError::new(codes::INTERNAL_ERROR, 500, message)
            })
        });
        endpoint.reply_size.saw(body.len());
        endpoint.record(started.elapsed(), reply.as_ref().err());
        let published = match reply {
            Ok(()) => self.broker.publish(to, body.into()).await,
            Err(error) => {
                let body = serde_json::to_vec(&error).unwrap_or_default();
                let headers: HeaderMap = headers::error_headers(&error);
                self.broker.publish_with_headers(to, headers, body.into()).await
            }
        };
        if let Err(e) = published {
            tracing::warn!(endpoint = %endpoint.name, error = %e, "could not publish a reply");
        }
    }
}

impl Drop for Links {
    /// The last replies may still wait in the broker connection's buffer; this was the last
    /// handle on that connection, which closes when it goes, so flush them first.
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let broker = self.broker.clone();
            runtime.spawn(async move {
                let _ = broker.flush().await;
            });
        }
    }
}

/// The parts of a request message: client id, request id, name, payload and context.
type RequestParts = (String, u64, String, Payload, crate::context::MessageContext);

fn read_request(message: &Message, name: &str) -> Result<RequestParts, WireError> {
    let known = headers::Known::of(message.headers.as_ref());
    // What the headers do not say, the reply subject says, when it has the shape this
    // library's clients give it (`reply_to.rs`).
    let named = message.reply.as_deref().and_then(super::reply_to::named_by);
    let header_or_reply = known.client.or(named.map(|named| named.client));
    let client = client_named(header_or_reply).ok_or_else(|| {
        let reason = "expected a subject token (no `.`, `*`, `>` or whitespace)";
        WireError::new(codes::BAD_MESSAGE, 400, format!("header `{CLIENT}` is malformed: {reason}"))
    })?;
    let id = match known.request_id {
        Some(id) => id.trim().parse::<u64>().map_err(|_| {
            let reason = format!("`{id}` is not a whole number");
            WireError::new(
                codes::BAD_MESSAGE,
                400,
                format!("header `{REQUEST_ID}` is malformed: {reason}"),
            )
        })?,
        None => named.map_or(0, |named| named.number),
    };
    let mut context = known.context()?;
    if let Some(named) = named {
        named.fill(&mut context);
    }
    // `nats req subject ""` sends nothing: the request then has no payload.
    let body: &[u8] = if message.payload.is_empty() { b"null" } else { &message.payload };
    let payload = serde_json::from_slice::<Box<RawValue>>(body).map_err(|e| {
        let message =
            format!("the body of `{name}` is not JSON: {e}; expected the request's JSON payload");
        WireError::new(codes::BAD_MESSAGE, 400, message)
    })?;
    Ok((client, id, name.to_owned(), Payload::json(payload), context))
}

/// The client a message names; `None` when the header is not a valid subject token.
fn client_of(message: &Message) -> Option<String> {
    client_named(headers::Known::of(message.headers.as_ref()).client)
}

/// The client named by an `Mb-Client` header (or the anonymous one, without it); `None` when
/// the header is not a valid subject token.
fn client_named(header: Option<&str>) -> Option<String> {
    match header {
        None => Some(ANONYMOUS.to_owned()),
        Some(id) => check_token("client id", id).ok().map(|()| id.to_owned()),
    }
}

fn unavailable(reason: &str) -> WireError {
    WireError::new(codes::OVERLOADED, 503, format!("the request was not served: {reason}"))
}
