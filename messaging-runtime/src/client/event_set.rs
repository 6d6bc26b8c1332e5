//! One stream of several event types in arrival order: what `{Trait}Client::events()`
//! returns, yielding the contract's generated `{Trait}Event` enum.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use super::subscription::{Item, Subscriptions};
use crate::context::MessageContext;
use crate::contract::EventSet;

/// One subscriber's end: its buffer of events and its registration, removed on drop.
pub(super) struct Inbox {
    receiver: mpsc::Receiver<Item>,
    subscriptions: Weak<Subscriptions>,
    id: u64,
    names: &'static [&'static str],
}

impl Inbox {
    /// Subscribes to every event in `names`.
    pub(super) fn new(subscriptions: &Arc<Subscriptions>, names: &'static [&'static str]) -> Self {
        let (sink, receiver) = mpsc::channel(subscriptions.buffer());
        let id = subscriptions.add(names, &sink);
        Self { receiver, subscriptions: Arc::downgrade(subscriptions), id, names }
    }

    /// The next event that `decode` accepts (given its index in `names`); one it refuses is
    /// skipped with a warning. `None` once the connection has ended.
    pub(super) fn poll_decoded<T>(
        &mut self,
        cx: &mut Context<'_>,
        decode: impl Fn(usize, crate::payload::Payload) -> Result<T, crate::wire::DecodeError>,
    ) -> Poll<Option<(T, MessageContext)>> {
        loop {
            let Some((index, payload, context)) = std::task::ready!(self.receiver.poll_recv(cx))
            else {
                return Poll::Ready(None);
            };
            match decode(index, payload) {
                Ok(event) => return Poll::Ready(Some((event, context))),
                Err(e) => {
                    let event = self.names.get(index).copied().unwrap_or("?");
                    tracing::warn!(event, reason = %e, "skipped an event that did not decode");
                }
            }
        }
    }
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").field("events", &self.names).finish_non_exhaustive()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        if let Some(subscriptions) = self.subscriptions.upgrade() {
            subscriptions.remove(self.names, self.id);
        }
    }
}

/// Every event of the set `S` (a contract's `{Trait}Event` enum) from the moment of
/// subscribing, in the order they arrived whatever their type, as a `Stream` of the event
/// and its context. Ends when the connection ends; dropping it unsubscribes. Buffered and
/// held back like an [`super::EventStream`]: nothing is dropped while it lives.
///
/// # Examples
///
/// ```
/// # use messaging_runtime::prelude::*;
/// # #[request("echo", response = String)]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echo { pub text: String }
/// # #[event]
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub struct Echoed { pub text: String }
/// # #[error_code]
/// # #[derive(Debug, Clone, PartialEq)]
/// # pub enum EchoError {
/// #     #[error(status = 400, message = "nothing to echo")]
/// #     Empty,
/// # }
/// # #[contract(name = "echo", version = "1.0.0", error = EchoError, events(Echoed))]
/// # pub trait Echoer {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError>;
/// # }
/// # struct Parrot;
/// # impl Echoer for Parrot {
/// #     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError> {
/// #         if req.text.is_empty() {
/// #             return Err(EchoError::empty());
/// #         }
/// #         cx.events::<EchoerEvents>().echoed(Echoed { text: req.text.clone() });
/// #         Ok(req.text)
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let _running = Server::bind("memory://doc-all-events").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-all-events").await?;
/// let mut all = client.events();
/// client.echo(Echo { text: "in order".into() }).await?;
/// match all.recv().await {
///     Some((EchoerEvent::Echoed(event), _context)) => assert_eq!(event.text, "in order"),
///     None => panic!("the connection ended"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AllEvents<S> {
    inbox: Inbox,
    set: PhantomData<fn() -> S>,
}

impl<S: EventSet> AllEvents<S> {
    pub(crate) fn new(subscriptions: &Arc<Subscriptions>) -> Self {
        Self { inbox: Inbox::new(subscriptions, S::NAMES), set: PhantomData }
    }

    /// Waits for the next event; `None` once the connection has ended.
    pub async fn recv(&mut self) -> Option<(S, MessageContext)> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<S: EventSet> Stream for AllEvents<S> {
    type Item = (S, MessageContext);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inbox.poll_decoded(cx, S::decode)
    }
}
