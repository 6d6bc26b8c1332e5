//! The client's side of `nats://`: requests as NATS requests on the contract's subjects, the
//! contract's broadcasts and the client's own events as two subscriptions, a dropped call as
//! a cancel the serving replica acts on.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use async_nats::client::RequestErrorKind;
use async_nats::{HeaderMap, Message};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
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

/// The calls waiting for their reply, by the id the client gave them.
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
}

/// Subscribes to the contract's events and the client's own, then hands back the link.
pub(super) async fn start(
    broker: async_nats::Client,
    contract: &str,
    options: Options,
    lost: Arc<Notify>,
) -> Result<ClientLink, TransportError> {
    let subjects = Subjects::new(&options.prefix);
    // A random id naming this client in its messages' headers.
    let id = super::random_id(8);
    let io = |e: &dyn std::fmt::Display| TransportError::Io(format!("nats subscribe: {e}"));
    let broadcasts = broker.subscribe(subjects.events_of(contract)).await.map_err(|e| io(&e))?;
    let own = broker.subscribe(subjects.client_inbox(&id)).await.map_err(|e| io(&e))?;
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
    };
    tokio::spawn(async move {
        tokio::select! {
            () = link.send(inbound) => {}
            () = lost.notified() => {
                tracing::debug!(contract = %link.contract, "the NATS connection dropped: closing the link");
                link.abort_calls();
            }
        }
        // Ends the client's events: the client sees the link lost.
        receiving.abort();
    });
    Ok(ClientLink { outbound, events, client_id })
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
    /// Sends what the client hands over until it closes; then says goodbye to the servers.
    async fn send(&self, mut inbound: mpsc::UnboundedReceiver<Inbound>) {
        // The calls waiting for their reply, polled here beside the next frames rather than
        // each on a task of its own: a reply reaches its caller with one task hop fewer.
        let mut waiting = FuturesUnordered::new();
        loop {
            let frame = tokio::select! {
                biased;
                Some(_) = waiting.next(), if !waiting.is_empty() => continue,
                frame = inbound.recv() => frame,
            };
            let Some(frame) = frame else { break };
            match frame {
                Inbound::Request(request) => {
                    if let Some(call) = self.request(*request) {
                        waiting.push(call);
                    }
                }
                Inbound::Event(event) => self.emit(*event).await,
                Inbound::Cancel(id) => self.cancel(id).await,
                Inbound::Gather(gather) => self.gather(*gather).await,
            }
        }
        self.abort_calls();
        let _ = self.broker.publish(self.subjects.bye(&self.id), "".into()).await;
        let _ = self.broker.flush().await;
    }

    /// Stops waiting for every call: their callers see the connection lost.
    fn abort_calls(&self) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner));
        calls.values().for_each(AbortHandle::abort);
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CLIENT, self.id.as_str());
        headers
    }

    /// A request's headers and body.
    fn encode(
        &self,
        id: u64,
        name: &str,
        payload: &Payload,
        context: &crate::context::MessageContext,
    ) -> Result<(HeaderMap, Vec<u8>), WireError> {
        let mut headers = self.headers();
        headers.insert(REQUEST_ID, id.to_string());
        // Most requests are small: one allocation, rather than growing from empty.
        let mut body = Vec::with_capacity(256);
        headers::write_context(&mut headers, context)?;
        payload.write_json(&mut body).map_err(|e| {
            let message = format!("request `{name}` could not be encoded: {e}");
            WireError::new(codes::INVALID_PAYLOAD, 400, message)
        })?;
        Ok((headers, body))
    }

    /// Sends a request; what waits for its reply and hands it to the caller, unless it
    /// could not be sent.
    fn request(&self, request: RequestFrame) -> Option<Abortable<impl Future<Output = ()>>> {
        let RequestFrame { id, name, payload, context, reply } = request;
        let (headers, body) = match self.encode(id, &name, &payload, &context) {
            Ok(encoded) => encoded,
            Err(error) => {
                let _ = reply.send(Err(error));
                return None;
            }
        };
        let subject = self.request_subject(&name);
        let (handle, registration) = AbortHandle::new_pair();
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).insert(id, handle);
        let (broker, calls) = (self.broker.clone(), Arc::clone(&self.calls));
        let call = async move {
            let message = async_nats::Request::new().payload(body.into()).headers(headers);
            let outcome = broker.send_request(subject.clone(), message.timeout(None)).await;
            calls.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
            match answer(outcome, &name, &subject) {
                Some(answer) => drop(reply.send(answer)),
                // Dropping the reply channel reports the connection as lost.
                None => drop(reply),
            }
        };
        Some(Abortable::new(call, registration))
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
        let (headers, body) = match self.encode(id, &name, &payload, &context) {
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
                if let Some(reply) = answer(Ok(message), &name, &subject) {
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

    /// The caller stopped waiting: stop waiting here too, and tell the serving replica.
    async fn cancel(&self, id: u64) {
        let call = self.calls.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        let Some(call) = call else { return };
        call.abort();
        let mut headers = self.headers();
        headers.insert(REQUEST_ID, id.to_string());
        let subject = self.subjects.cancel(&self.id);
        let _ = self.broker.publish_with_headers(subject, headers, "".into()).await;
    }
}

fn no_responders(name: &str, subject: &str) -> WireError {
    let message =
        format!("no server serves `{name}`: nobody subscribes to the NATS subject `{subject}`");
    WireError::new(codes::NO_RESPONDERS, 503, message)
}

/// What a NATS request came back with, as the client's reply; `None` when the broker
/// connection failed under it (the call then reports the connection as lost).
fn answer(
    outcome: Result<Message, async_nats::RequestError>,
    name: &str,
    subject: &str,
) -> Option<Reply> {
    let message = match outcome {
        Ok(message) => message,
        Err(e) if e.kind() == RequestErrorKind::NoResponders => {
            return Some(Err(no_responders(name, subject)));
        }
        Err(e) if e.kind() == RequestErrorKind::MaxPayloadExceeded => {
            let message = format!("request `{name}` is larger than the NATS server accepts: {e}");
            return Some(Err(WireError::new(codes::BAD_MESSAGE, 413, message)));
        }
        Err(e) => {
            tracing::debug!(request = name, error = %e, "nats request failed");
            return None;
        }
    };
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
