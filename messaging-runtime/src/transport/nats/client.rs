//! The client's side of `nats://`: requests as NATS requests on the contract's subjects, the
//! contract's broadcasts and the client's own events as two subscriptions, a dropped call as
//! a cancel the serving replica acts on.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_nats::client::PublishErrorKind;
use async_nats::{HeaderMap, Message};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, Notify};

use super::headers::{self, CLIENT, REQUEST_ID};
use super::subjects::Subjects;
use super::Options;
use crate::error::TransportError;
use crate::payload::Payload;
use crate::transport::{
    event_queue, ClientLink, CloseReason, EventFrame, EventSender, GatherFrame, Inbound,
    QueueError, Reply, RequestFrame,
};
use crate::wire::{codes, WireError};

/// The gathered requests being collected (`request_many`), by the id the client gave them.
/// (Plain requests wait in the link's send loop.)
type Calls = Arc<Mutex<HashMap<u64, AbortHandle>>>;

/// How many request subjects a link keeps made (see [`Link::request_subject`]).
const MAX_CACHED_SUBJECTS: usize = 256;

/// What the client's task needs.
struct Link {
    broker: async_nats::Client,
    contract: String,
    id: String,
    subjects: Subjects,
    calls: Calls,
    /// Each request's subject, made once rather than formatted for every request (at most
    /// [`MAX_CACHED_SUBJECTS`]: a contract has a handful of requests).
    request_subjects: Mutex<HashMap<String, async_nats::Subject>>,
    /// The subject prefix of this link's replies: request `n` is answered on `{inbox}.{n}`
    /// and the tokens after it ([`super::reply_to`]).
    inbox: String,
}

/// The inbox of a client's replies: `fresh` (an inbox the connection made, under its inbox
/// prefix) with its last token replaced by the client's id.
fn reply_inbox(fresh: &str, client: &str) -> String {
    match fresh.rsplit_once('.') {
        Some((prefix, _)) => format!("{prefix}.{client}"),
        None => format!("{fresh}.{client}"),
    }
}

/// How many requests may wait on a link before those whose caller is gone are dropped.
const PRUNE_WAITING: usize = 1024;

/// A request sent and not answered yet: where its answer goes, and what names it in an
/// error.
struct Waiting {
    reply: tokio::sync::oneshot::Sender<Reply>,
    name: Cow<'static, str>,
    subject: async_nats::Subject,
}

/// Subscribes to the contract's events and the client's own, then hands back the link.
pub(super) async fn start(
    broker: async_nats::Client,
    contract: &str,
    options: Options,
    lost: Arc<Notify>,
) -> Result<ClientLink, TransportError> {
    let subjects = Subjects::new(&options.prefix);
    // A random id naming this client: in its requests' reply subject, in its other
    // messages' `Mb-Client` header.
    let id = super::random_id(8);
    let io = |e: &dyn std::fmt::Display| TransportError::Io(format!("nats subscribe: {e}"));
    let broadcasts = broker.subscribe(subjects.events_of(contract)).await.map_err(|e| io(&e))?;
    let own = broker.subscribe(subjects.client_inbox(&id)).await.map_err(|e| io(&e))?;
    // Every reply comes back on one subscription, to `{inbox}.{request id}` and the request's
    // timing (`super::reply_to`), where the inbox ends with the client's id (under the
    // connection's inbox prefix, `_INBOX` unless set).
    let inbox = reply_inbox(&broker.new_inbox(), &id);
    let replies = broker.subscribe(format!("{inbox}.>")).await.map_err(|e| io(&e))?;
    // The broker knows the subscriptions once this returns: no event published after
    // `connect` returns is missed.
    super::sync_with_broker(&broker).await?;
    let (sender, events) = event_queue();
    let receiving = tokio::spawn(receive_events(
        futures_util::stream::select(broadcasts, own),
        sender,
        options.client_event_queue,
    ));
    let (outbound, inbound) = mpsc::unbounded_channel();
    let client_id = Some(id.clone());
    let link = Link {
        broker,
        contract: contract.to_owned(),
        id,
        subjects,
        calls: Arc::default(),
        request_subjects: Mutex::default(),
        inbox,
    };
    tokio::spawn(async move {
        tokio::select! {
            // Outside tokio's cooperative budget, taking turns of its own (see
            // `transport::fair`).
            () = crate::transport::fair::fair(link.send(inbound, replies)) => {}
            () = lost.notified() => {
                tracing::debug!(contract = %link.contract, "the NATS connection dropped: closing the link");
                link.abort_calls();
            }
        }
        // Ends the client's events: the client sees the link lost.
        receiving.abort();
    });
    Ok(ClientLink { outbound, events, client_id, encoded_requests: false })
}

/// Hands every event to the client's dispatcher, in the order the broker delivered them.
async fn receive_events(
    mut messages: impl futures_util::Stream<Item = Message> + Unpin,
    sender: EventSender,
    limit: usize,
) {
    while let Some(message) = messages.next().await {
        let Some(frame) = event_frame(&message) else { continue };
        match sender.try_send(frame, limit) {
            Ok(()) => {}
            Err(QueueError::Full) => {
                tracing::warn!(limit, "the client's subscribers are too slow: closing the link");
                sender.close_now(CloseReason::SlowConsumer);
                return;
            }
            Err(QueueError::Closed) => return,
        }
    }
}

/// The event a message carries; `None` (with a warning) for one that is not ours to read.
pub(super) fn event_frame(message: &Message) -> Option<EventFrame> {
    let name = Subjects::last_token(message.subject.as_str()).to_owned();
    let context = headers::read_context(message.headers.as_ref());
    let payload = serde_json::from_slice::<Box<RawValue>>(&message.payload);
    match (context, payload) {
        (Ok(context), Ok(payload)) => {
            Some(EventFrame { name: Cow::Owned(name), payload: Payload::json(payload), context })
        }
        (Err(e), _) => {
            tracing::warn!(subject = %message.subject, error = %e.message, "dropped an event");
            None
        }
        (_, Err(e)) => {
            tracing::warn!(subject = %message.subject, error = %e, "dropped an event whose body is not JSON");
            None
        }
    }
}

impl Link {
    /// Sends what the client hands over until it closes, and hands each reply to its caller;
    /// then says goodbye to the servers.
    ///
    /// The requests in flight wait here, by number, and their replies arrive on the link's
    /// one reply subscription: no task, timer or broker-side inbox per request. (The
    /// caller's own deadline ends a call that gets no reply.)
    async fn send(
        &self,
        mut inbound: mpsc::UnboundedReceiver<Inbound>,
        mut replies: async_nats::Subscriber,
    ) {
        let mut waiting: HashMap<u64, Waiting> = HashMap::new();
        // When to drop the entries of callers that stopped waiting without a word (a caller
        // always cancels, but nothing here relies on it to stay bounded).
        let mut prune_at = PRUNE_WAITING;
        loop {
            crate::transport::fair::turn().await;
            let frame = tokio::select! {
                biased;
                Some(message) = replies.next() => {
                    deliver(&self.inbox, &mut waiting, message);
                    continue;
                }
                frame = inbound.recv() => frame,
            };
            let Some(frame) = frame else { break };
            match frame {
                Inbound::Request(request) => {
                    self.request(*request, &mut waiting).await;
                    if waiting.len() >= prune_at {
                        waiting.retain(|_, call| !call.reply.is_closed());
                        prune_at = (waiting.len() * 2).max(PRUNE_WAITING);
                    }
                }
                Inbound::Event(event) => self.emit(*event).await,
                Inbound::Cancel(id) => {
                    if waiting.remove(&id).is_some() {
                        self.cancel(id).await;
                    } else {
                        self.cancel_gather(id).await;
                    }
                }
                Inbound::Gather(gather) => self.gather(*gather).await,
                Inbound::Encoded(encoded) => {
                    if let Some(request) = encoded.into_frame() {
                        self.request(request, &mut waiting).await;
                    }
                }
            }
        }
        self.abort_calls();
        let _ = self.broker.publish(self.subjects.bye(&self.id), "".into()).await;
        let _ = self.broker.flush().await;
    }

    /// Stops collecting every gathered request: their callers see the connection lost. (The
    /// plain requests waiting in the send loop end with it, the same way.)
    fn abort_calls(&self) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner));
        calls.values().for_each(AbortHandle::abort);
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CLIENT, self.id.as_str());
        headers
    }

    /// A request's headers and body. A request replied to under `{inbox}` is named by its
    /// reply subject, which carries its context's timing too ([`super::reply_to`]); one
    /// replied to elsewhere (`named`: a gathered request) says all of it in headers.
    fn encode(
        &self,
        id: u64,
        named: bool,
        name: &str,
        payload: &Payload,
        context: &crate::context::MessageContext,
    ) -> Result<(HeaderMap, Vec<u8>), WireError> {
        let mut headers = HeaderMap::new();
        if named {
            headers.insert(CLIENT, self.id.as_str());
            headers.insert(REQUEST_ID, id.to_string());
        }
        // Most requests are small: one allocation, rather than growing from empty.
        let mut body = Vec::with_capacity(256);
        headers::write_fields(&mut headers, context)?;
        if named {
            headers::write_timing(&mut headers, context);
        }
        payload.write_json(&mut body).map_err(|e| {
            let message = format!("request `{name}` could not be encoded: {e}");
            WireError::new(codes::INVALID_PAYLOAD, 400, message)
        })?;
        Ok((headers, body))
    }

    /// Publishes a request, replied to under `{inbox}` ([`super::reply_to`]), and records it
    /// as waiting; a request that cannot be sent is answered at once.
    async fn request(&self, request: RequestFrame, waiting: &mut HashMap<u64, Waiting>) {
        let RequestFrame { id, name, payload, context, reply } = request;
        let (headers, body) = match self.encode(id, false, &name, &payload, &context) {
            Ok(encoded) => encoded,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let subject = self.request_subject(&name);
        let reply_to = super::reply_to::reply_subject(&self.inbox, id, &context);
        let published = self
            .broker
            .publish_with_reply_and_headers(subject.clone(), reply_to, headers, body.into())
            .await;
        match published {
            Ok(()) => {
                waiting.insert(id, Waiting { reply, name, subject });
            }
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                let message =
                    format!("request `{name}` is larger than the NATS server accepts: {e}");
                let _ = reply.send(Err(WireError::new(codes::BAD_MESSAGE, 413, message)));
            }
            Err(e) => {
                // Dropping the reply channel reports the connection as lost.
                tracing::debug!(request = %name, error = %e, "nats request failed");
                drop(reply);
            }
        }
    }

    /// The subject of request `name`.
    fn request_subject(&self, name: &str) -> async_nats::Subject {
        let mut subjects = self.request_subjects.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(subject) = subjects.get(name) {
            return subject.clone();
        }
        let subject = async_nats::Subject::from(self.subjects.request(&self.contract, name));
        if subjects.len() < MAX_CACHED_SUBJECTS {
            subjects.insert(name.to_owned(), subject.clone());
        }
        subject
    }

    /// Publishes the request once to every replica (the `_all` subject) and hands each
    /// reply on until the client stops collecting.
    async fn gather(&self, gather: GatherFrame) {
        let GatherFrame { id, name, payload, context, replies } = gather;
        let (headers, body) = match self.encode(id, true, &name, &payload, &context) {
            Ok(encoded) => encoded,
            Err(error) => {
                let _ = replies.send(Err(error));
                return;
            }
        };
        let subject = self.subjects.request_all(&self.contract, &name);
        let inbox = self.broker.new_inbox();
        let subscribed = self.broker.subscribe(inbox.clone()).await;
        let published = match subscribed {
            Ok(subscription) => self
                .broker
                .publish_with_reply_and_headers(subject.clone(), inbox, headers, body.into())
                .await
                .map(|()| subscription)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut subscription = match published {
            Ok(subscription) => subscription,
            Err(e) => {
                tracing::debug!(request = %name, error = %e, "nats gather failed");
                return;
            }
        };
        let (handle, registration) = AbortHandle::new_pair();
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).insert(id, handle);
        let calls = Arc::clone(&self.calls);
        let collect = async move {
            loop {
                let message = tokio::select! {
                    message = subscription.next() => message,
                    () = replies.closed() => None,
                };
                let Some(message) = message else { break };
                if message.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                    let _ = replies.send(Err(no_responders(&name, &subject)));
                    break;
                }
                if let Some(reply) = answer(message, &name) {
                    if replies.send(reply).is_err() {
                        break;
                    }
                }
            }
            calls.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        };
        tokio::spawn(Abortable::new(collect, registration));
    }

    async fn emit(&self, event: EventFrame) {
        let mut headers = self.headers();
        let mut body = Vec::new();
        let encoded = headers::write_context(&mut headers, &event.context)
            .map_err(|e| e.message)
            .and_then(|()| event.payload.write_json(&mut body).map_err(|e| e.to_string()));
        if let Err(error) = encoded {
            tracing::warn!(event = %event.name, %error, "could not emit an event");
            return;
        }
        let subject = self.subjects.emit(&self.contract, &event.name);
        if let Err(error) = self.broker.publish_with_headers(subject, headers, body.into()).await {
            tracing::warn!(event = %event.name, %error, "could not emit an event");
        }
    }

    /// The caller of request `id` stopped waiting (it waits here no more): tell the serving
    /// replica.
    async fn cancel(&self, id: u64) {
        let mut headers = self.headers();
        headers.insert(REQUEST_ID, id.to_string());
        let subject = self.subjects.cancel(&self.id);
        let _ = self.broker.publish_with_headers(subject, headers, "".into()).await;
    }

    /// The caller of gathered request `id` stopped collecting: stop collecting here too, and
    /// tell the replicas.
    async fn cancel_gather(&self, id: u64) {
        let call = self.calls.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        let Some(call) = call else { return };
        call.abort();
        self.cancel(id).await;
    }
}

/// Hands a reply to the request it answers (named by the token after `inbox` in its
/// subject); a reply to a request no longer waited for is dropped.
fn deliver(inbox: &str, waiting: &mut HashMap<u64, Waiting>, message: Message) {
    let id = super::reply_to::number_of(inbox, message.subject.as_str());
    let Some(Waiting { reply, name, subject }) = id.and_then(|id| waiting.remove(&id)) else {
        tracing::debug!(subject = %message.subject, "a reply to no request waiting: dropped");
        return;
    };
    if message.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
        let _ = reply.send(Err(no_responders(&name, &subject)));
        return;
    }
    match answer(message, &name) {
        Some(answer) => drop(reply.send(answer)),
        // Dropping the reply channel reports the connection as lost.
        None => drop(reply),
    }
}

fn no_responders(name: &str, subject: &str) -> WireError {
    let message =
        format!("no server serves `{name}`: nobody subscribes to the NATS subject `{subject}`");
    WireError::new(codes::NO_RESPONDERS, 503, message)
}

/// What a reply message says, as the client's reply; `None` when it says the server went
/// away before answering (the call then reports the connection as lost).
fn answer(message: Message, name: &str) -> Option<Reply> {
    if let Some(error) = headers::read_error(message.headers.as_ref(), &message.payload) {
        if error.code == codes::UNAVAILABLE {
            tracing::debug!(request = name, error = %error.message, "the server went away");
            return None;
        }
        return Some(Err(error));
    }
    // Read once, by the caller's decode into its response type, which checks it.
    Some(match std::str::from_utf8(&message.payload) {
        Ok(text) => Ok(Payload::json_text(text)),
        Err(e) => Err(WireError::new(
            codes::INVALID_PAYLOAD,
            502,
            format!("the reply to `{name}` is not JSON: it is not UTF-8 ({e})"),
        )),
    })
}
