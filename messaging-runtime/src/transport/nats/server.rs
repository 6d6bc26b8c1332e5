//! The server's side of `nats://`: subscribes to the served contracts' subjects when the
//! server starts, answers the ADR-32 protocol, and publishes broadcasts once each.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::{HeaderMap, Message, Subscriber};
use async_trait::async_trait;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::links::{Answering, Links};
use super::service::{self, Endpoint, Service};
use super::subjects::{check_token, Subjects};
use super::{headers, Options};
use crate::error::TransportError;
use crate::transport::{EventFrame, Fanout, Listener, ServedContract, ServerLink};

/// Listens for one server on a broker.
pub(super) struct NatsListener {
    broker: async_nats::Client,
    address: String,
    options: Options,
    subjects: Subjects,
    links: Arc<Links>,
    incoming: mpsc::UnboundedReceiver<ServerLink>,
    fanout: Arc<NatsFanout>,
    /// The subscriptions' tasks: drained when the server stops, aborted (which
    /// unsubscribes) when the listener is dropped.
    subscriptions: Vec<JoinHandle<()>>,
    /// Tells the subscriptions' tasks to drain.
    closing: watch::Sender<bool>,
    /// Other tasks (the broadcast publisher, the link sweeper): aborted when the listener goes.
    tasks: Vec<JoinHandle<()>>,
}

impl NatsListener {
    pub(super) fn new(broker: async_nats::Client, address: &str, options: Options) -> Self {
        let subjects = Subjects::new(&options.prefix);
        let (accept, incoming) = mpsc::unbounded_channel();
        let links = Arc::new(Links::new(broker.clone(), subjects.clone(), accept));
        let (publish, queue) = mpsc::unbounded_channel();
        let fanout =
            Arc::new(NatsFanout { subjects: subjects.clone(), routes: RwLock::default(), publish });
        let publisher = tokio::spawn(publish_all(broker.clone(), queue));
        Self {
            broker,
            address: address.to_owned(),
            options,
            subjects,
            links,
            incoming,
            fanout,
            subscriptions: Vec::new(),
            closing: watch::channel(false).0,
            tasks: vec![publisher],
        }
    }

    async fn subscribe(&self, subject: String, queue: bool) -> Result<Subscriber, TransportError> {
        let outcome = if queue {
            self.broker.queue_subscribe(subject.clone(), self.options.queue_group.clone()).await
        } else {
            self.broker.subscribe(subject.clone()).await
        };
        outcome.map_err(|e| TransportError::Io(format!("cannot subscribe to `{subject}`: {e}")))
    }

    /// Subscribes to one contract's requests, emitted events and ADR-32 subjects.
    async fn announce_one(&mut self, contract: &ServedContract) -> Result<(), TransportError> {
        let endpoints = contract
            .requests
            .iter()
            .map(|name| {
                let subject = self.subjects.request(&contract.name, name);
                Arc::new(Endpoint::new(name, subject, &self.options.queue_group))
            })
            .collect();
        let metadata = BTreeMap::from([
            ("contract".to_owned(), contract.name.clone()),
            ("contract_version".to_owned(), contract.version.clone()),
            ("contract_hash".to_owned(), contract.hash.clone()),
        ]);
        // A random id for this service instance, as ADR-32 wants.
        let id = super::random_id(11).to_uppercase();
        let service =
            Arc::new(Service::new(&contract.name, id, &contract.version, metadata, endpoints));
        for (index, endpoint) in service.endpoints.iter().enumerate() {
            let all = self.subjects.request_all(&contract.name, &endpoint.name);
            for (subject, queue) in [(endpoint.subject.clone(), true), (all, false)] {
                let subscription = self.subscribe(subject, queue).await?;
                let (links, service) = (Arc::clone(&self.links), Arc::clone(&service));
                self.subscriptions.push(tokio::spawn(each_request(
                    self.closing.subscribe(),
                    subscription,
                    move |message| links.on_request(message, Arc::clone(&service.endpoints[index])),
                )));
            }
        }
        let emits = self.subscribe(self.subjects.emits_of(&contract.name), true).await?;
        let links = Arc::clone(&self.links);
        self.subscriptions.push(tokio::spawn(each(
            self.closing.subscribe(),
            emits,
            move |message| {
                links.on_emit(&message);
                async {}
            },
        )));
        for (subject, verb) in service.subjects() {
            let subscription = self.subscribe(subject, false).await?;
            let (broker, service) = (self.broker.clone(), Arc::clone(&service));
            self.subscriptions.push(tokio::spawn(each(
                self.closing.subscribe(),
                subscription,
                move |message| {
                    let (broker, answer) = (broker.clone(), service.answer(verb));
                    async move { answer_with(&broker, message, &answer).await }
                },
            )));
        }
        Ok(())
    }
}

/// Runs `handle` for each message of `subscription`, in order, until `closing`; then
/// unsubscribes and handles what the broker had delivered already, so that no request
/// taken off the broker is left unanswered.
async fn each<F, Fut>(
    mut closing: watch::Receiver<bool>,
    mut subscription: Subscriber,
    mut handle: F,
) where
    F: FnMut(Message) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        tokio::select! {
            message = subscription.next() => match message {
                Some(message) => handle(message).await,
                None => return,
            },
            changed = closing.changed() => {
                let closing = changed.is_err() || *closing.borrow_and_update();
                if closing {
                    break;
                }
            }
        }
    }
    if subscription.drain().await.is_ok() {
        while let Some(message) = subscription.next().await {
            handle(message).await;
        }
    }
}

/// Like [`each`] for the messages of a request subject: each request is handed to the
/// server at once, in order, and the answers it waits for are polled here, beside the next
/// messages, rather than each on a task of its own. The answers still due when this ends
/// (or is aborted, when the server is dropped) go on, on a task of their own.
async fn each_request<F>(
    mut closing: watch::Receiver<bool>,
    mut subscription: Subscriber,
    mut handle: F,
) where
    F: FnMut(Message) -> Answering,
{
    let mut answering = Answers::default();
    // Outside tokio's cooperative budget, taking turns of its own (see `transport::fair`).
    let drain = crate::transport::fair::fair(async {
        loop {
            crate::transport::fair::turn().await;
            tokio::select! {
                biased;
                Some(()) = answering.0.next(), if !answering.0.is_empty() => {}
                message = subscription.next() => match message {
                    Some(message) => answering.0.push(handle(message)),
                    None => break false,
                },
                changed = closing.changed() => {
                    if changed.is_err() || *closing.borrow_and_update() {
                        break true;
                    }
                }
            }
        }
    })
    .await;
    if drain && subscription.drain().await.is_ok() {
        while let Some(message) = subscription.next().await {
            answering.0.push(handle(message));
        }
    }
}

/// The answers a request subscription waits for. Those still due when it is dropped are
/// awaited on a task of their own: a request taken off the broker is always answered (by
/// its handler, or `UNAVAILABLE` when the server went away first), and a stopping server
/// does not wait for them to unsubscribe.
#[derive(Default)]
struct Answers(FuturesUnordered<Answering>);

impl Drop for Answers {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let mut rest = std::mem::take(&mut self.0);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { while rest.next().await.is_some() {} });
        }
    }
}

async fn answer_with(broker: &async_nats::Client, message: Message, answer: &serde_json::Value) {
    let Some(reply) = message.reply else { return };
    let body = serde_json::to_vec(answer).unwrap_or_default();
    if let Err(e) = broker.publish(reply, body.into()).await {
        tracing::warn!(error = %e, "could not answer a $SRV request");
    }
}

fn check(contract: &ServedContract) -> Result<(), TransportError> {
    let invalid = |reason| TransportError::InvalidAddress {
        address: format!("nats:// subjects of contract `{}`", contract.name),
        reason,
    };
    service::check_name(&contract.name).map_err(invalid)?;
    for request in &contract.requests {
        check_token("request name", request).map_err(invalid)?;
    }
    for event in &contract.events {
        check_token("event name", event).map_err(invalid)?;
    }
    Ok(())
}

#[async_trait]
impl Listener for NatsListener {
    async fn accept(&mut self) -> Option<ServerLink> {
        self.incoming.recv().await
    }

    fn local_addr(&self) -> String {
        self.address.clone()
    }

    fn fanout(&self) -> Option<Arc<dyn Fanout>> {
        Some(Arc::clone(&self.fanout) as Arc<dyn Fanout>)
    }

    async fn close(&mut self) {
        self.unsubscribe().await;
    }

    async fn announce(&mut self, contracts: &[ServedContract]) -> Result<(), TransportError> {
        contracts.iter().try_for_each(check)?;
        self.fanout.route(contracts);
        for contract in contracts {
            self.announce_one(contract).await?;
            if self.options.store_events && !contract.events.is_empty() {
                let context = async_nats::jetstream::new(self.broker.clone());
                super::durable::ensure_stream(&context, &self.options, &contract.name).await?;
            }
        }
        for (subject, bye) in [(self.subjects.cancels(), false), (self.subjects.byes(), true)] {
            let subscription = self.subscribe(subject, false).await?;
            let links = Arc::clone(&self.links);
            self.subscriptions.push(tokio::spawn(each(
                self.closing.subscribe(),
                subscription,
                move |message| {
                    if bye {
                        links.on_bye(&message);
                    } else {
                        links.on_cancel(&message);
                    }
                    async {}
                },
            )));
        }
        let (links, idle) = (Arc::clone(&self.links), self.options.link_idle);
        self.tasks.push(tokio::spawn(async move {
            let every = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                links.sweep(idle);
            }
        }));
        // The broker knows every subscription once this returns: the server is reachable.
        super::sync_with_broker(&self.broker).await
    }
}

impl NatsListener {
    /// Ends every subscription, handles what was delivered already, and waits until the
    /// broker knows (for at most [`DRAIN_WAIT`]).
    async fn unsubscribe(&mut self) {
        self.links.close();
        self.closing.send_replace(true);
        let drained = join_all(self.subscriptions.drain(..));
        if tokio::time::timeout(DRAIN_WAIT, drained).await.is_err() {
            tracing::warn!("nats subscriptions did not drain in time");
        }
        if let Err(e) = super::sync_with_broker(&self.broker).await {
            tracing::warn!(error = %e, "a stopping server could not confirm it unsubscribed");
        }
    }
}

/// How long a stopping server waits for its subscriptions to drain.
const DRAIN_WAIT: Duration = Duration::from_secs(5);

impl Drop for NatsListener {
    fn drop(&mut self) {
        self.subscriptions.iter().chain(&self.tasks).for_each(JoinHandle::abort);
    }
}

/// Publishes a broadcast once on its event's subject, for every contract that lists it.
pub(super) struct NatsFanout {
    subjects: Subjects,
    /// The contracts that list each event.
    routes: RwLock<HashMap<String, Vec<String>>>,
    publish: mpsc::UnboundedSender<Outgoing>,
}

impl NatsFanout {
    fn route(&self, contracts: &[ServedContract]) {
        let mut routes = self.routes.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for contract in contracts {
            for event in &contract.events {
                routes.entry(event.clone()).or_default().push(contract.name.clone());
            }
        }
    }
}

impl Fanout for NatsFanout {
    fn publish(&self, event: EventFrame) -> usize {
        let routes = self.routes.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(contracts) = routes.get(event.name.as_ref()) else {
            tracing::warn!(event = %event.name, "no served contract lists this event: not published");
            return 0;
        };
        let (headers, body) = match encode_event(&event) {
            Ok(encoded) => encoded,
            Err(error) => {
                tracing::warn!(event = %event.name, %error, "could not publish an event");
                return 0;
            }
        };
        for contract in contracts {
            let subject = self.subjects.event(contract, &event.name);
            let _ = self.publish.send((subject, headers.clone(), body.clone()));
        }
        // A broker does not say how many subscribers a publish reached.
        0
    }
}

/// A message on its way out: subject, headers, body.
type Outgoing = (String, HeaderMap, bytes::Bytes);

/// Publishes broadcasts in the order they were made.
async fn publish_all(broker: async_nats::Client, mut queue: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some((subject, headers, body)) = queue.recv().await {
        if let Err(error) = broker.publish_with_headers(subject, headers, body).await {
            tracing::warn!(%error, "could not publish an event");
        }
    }
}

/// An event as a message: its context in headers, its payload as the body.
fn encode_event(event: &EventFrame) -> Result<(HeaderMap, bytes::Bytes), String> {
    let mut headers = HeaderMap::new();
    let mut body = Vec::new();
    headers::write_context(&mut headers, &event.context).map_err(|e| e.message)?;
    event.payload.write_json(&mut body).map_err(|e| e.to_string())?;
    Ok((headers, body.into()))
}

/// Publishes one event to `subject`.
pub(super) async fn publish_event(
    broker: &async_nats::Client,
    subject: String,
    event: &EventFrame,
) {
    let outcome = match encode_event(event) {
        Ok((headers, body)) => {
            broker.publish_with_headers(subject, headers, body).await.map_err(|e| e.to_string())
        }
        Err(e) => Err(e),
    };
    if let Err(error) = outcome {
        tracing::warn!(event = %event.name, %error, "could not publish an event");
    }
}
