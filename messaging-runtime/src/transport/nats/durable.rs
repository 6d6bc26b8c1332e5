//! Durable events, opt-in, on JetStream. A server whose transport stores events
//! ([`super::NatsTransport::store_events`]) makes sure a stream captures its contracts' event
//! subjects; a subscriber ([`super::NatsTransport::durable`]) reads one event type through a
//! durable consumer of its own name:
//!
//! - events published while the subscriber was down are delivered when it comes back (the
//!   consumer remembers how far it got; a consumer made for the first time starts with the
//!   events published from then on);
//! - each event is acknowledged after its handler ran, one at a time, so delivery is at least
//!   once and in order per subscriber;
//! - redelivery: an event not acknowledged within the ack wait (30 s by default, see
//!   [`super::NatsTransport::ack_wait`]; the handler failed, hung, or its process died) is
//!   delivered again, before any later event, until it is acknowledged.
//!
//! The stream keeps events for [`super::NatsTransport::event_retention`] (7 days by default).

use std::marker::PhantomData;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;

use super::subjects::{check_token, Subjects};
use super::{headers, Options};
use crate::context::MessageContext;
use crate::contract::Event;
use crate::error::TransportError;

fn io(what: &str, e: &dyn std::fmt::Display) -> TransportError {
    TransportError::Io(format!("jetstream: {what}: {e}"))
}

/// The name of the stream that keeps `contract`'s events.
pub(super) fn stream_name(options: &Options, contract: &str) -> String {
    format!("MB_{}_{contract}", options.prefix.replace('.', "_"))
}

/// Makes sure the stream of `contract`'s events exists.
pub(super) async fn ensure_stream(
    context: &jetstream::Context,
    options: &Options,
    contract: &str,
) -> Result<stream::Stream, TransportError> {
    let config = stream::Config {
        name: stream_name(options, contract),
        subjects: vec![Subjects::new(&options.prefix).events_of(contract)],
        max_age: options.event_retention,
        ..Default::default()
    };
    context.get_or_create_stream(config).await.map_err(|e| io("creating the event stream", &e))
}

/// A contract's stored events, read through durable consumers.
#[derive(Debug, Clone)]
pub struct DurableEvents {
    stream: stream::Stream,
    subjects: Subjects,
    contract: String,
    ack_wait: Duration,
}

impl DurableEvents {
    pub(super) async fn open(
        broker: async_nats::Client,
        contract: &str,
        options: &Options,
    ) -> Result<Self, TransportError> {
        let context = jetstream::new(broker);
        let stream = ensure_stream(&context, options, contract).await?;
        Ok(Self {
            stream,
            subjects: Subjects::new(&options.prefix),
            contract: contract.to_owned(),
            ack_wait: options.ack_wait,
        })
    }

    /// Events of type `E` through the durable consumer `name` (one per subscriber: two
    /// subscribers with one name share its events). Coming back under the same name resumes
    /// where it left off.
    ///
    /// # Errors
    /// A name that cannot name a consumer, or what JetStream says.
    pub async fn subscribe<E: Event>(
        &self,
        name: &str,
    ) -> Result<DurableSubscription<E>, TransportError> {
        check_token("the consumer name", name)
            .map_err(|reason| TransportError::InvalidOption { option: "consumer", reason })?;
        let durable = format!("{name}_{}", E::NAME);
        let config = consumer::pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: self.subjects.event(&self.contract, E::NAME),
            deliver_policy: consumer::DeliverPolicy::New,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // One event at a time: the next is not delivered before this one is acknowledged.
            max_ack_pending: 1,
            max_deliver: -1,
            ..Default::default()
        };
        let consumer = self
            .stream
            .get_or_create_consumer(&durable, config)
            .await
            .map_err(|e| io("creating the consumer", &e))?;
        let messages = consumer.messages().await.map_err(|e| io("reading the consumer", &e))?;
        Ok(DurableSubscription { messages, types: PhantomData })
    }
}

/// One event type's stored events, through a durable consumer.
pub struct DurableSubscription<E> {
    messages: consumer::pull::Stream,
    types: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for DurableSubscription<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableSubscription").finish_non_exhaustive()
    }
}

/// One delivered event; acknowledge it with [`Delivery::ack`] once handled, or it is
/// delivered again after the ack wait.
#[derive(Debug)]
pub struct Delivery<E> {
    /// The event.
    pub event: E,
    /// Its context, as published.
    pub context: MessageContext,
    /// How many times it was delivered, this time included (more than 1: a redelivery).
    pub delivered: i64,
    message: jetstream::Message,
}

impl<E> Delivery<E> {
    /// Acknowledges the event: it is not delivered to this consumer again.
    ///
    /// # Errors
    /// When the acknowledgement could not be sent (the event is then redelivered).
    pub async fn ack(self) -> Result<(), TransportError> {
        self.message.ack().await.map_err(|e| io("acknowledging", &e))
    }
}

impl<E: Event> DurableSubscription<E> {
    /// The next event, waiting for one. An event that does not decode as `E` is taken out
    /// of redelivery (terminated) and reported as an error; the next call goes on.
    pub async fn next(&mut self) -> Option<Result<Delivery<E>, TransportError>> {
        let message = match self.messages.next().await? {
            Ok(message) => message,
            Err(e) => return Some(Err(io("receiving", &e))),
        };
        let delivered = message.info().map_or(1, |info| info.delivered);
        let event = serde_json::from_slice::<E>(&message.payload);
        let context = headers::read_context(message.headers.as_ref());
        match (event, context) {
            (Ok(event), Ok(context)) => Some(Ok(Delivery { event, context, delivered, message })),
            (event, context) => {
                let reason = match (event, context) {
                    (Err(e), _) => e.to_string(),
                    (_, Err(e)) => e.message,
                    _ => String::new(),
                };
                let _ = message.ack_with(jetstream::AckKind::Term).await;
                let message = format!("stored event `{}` is not readable: {reason}", E::NAME);
                Some(Err(TransportError::Io(message)))
            }
        }
    }

    /// Runs `handler` for each event, in order, acknowledging each after its handler ran;
    /// returns when the consumer ends or fails.
    ///
    /// # Errors
    /// What ended it: the connection to JetStream, or an acknowledgement that failed.
    pub async fn run<F, Fut>(mut self, mut handler: F) -> Result<(), TransportError>
    where
        F: FnMut(E, MessageContext) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        while let Some(delivery) = self.next().await {
            let Ok(delivery) = delivery.inspect_err(|e| tracing::warn!(error = %e)) else {
                continue;
            };
            let Delivery { event, context, delivered, message } = delivery;
            handler(event, context).await;
            Delivery { event: (), context: MessageContext::default(), delivered, message }
                .ack()
                .await?;
        }
        Ok(())
    }
}
