//! The dispatch table: wire name → decode → call → encode.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use crate::contract::handshake::{self, Hello, HANDSHAKE};
use crate::contract::{ContractDescriptor, ErrorCode, Event, Request};
use crate::error::WireError;
use crate::payload::Payload;
use crate::server::context::Context;
use crate::transport::Reply;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type RequestHandler = Box<dyn Fn(Payload, Context) -> BoxFuture<Reply> + Send + Sync>;
type EventHandler = Arc<dyn Fn(Payload, Context) -> BoxFuture<()> + Send + Sync>;

/// The answer to a request whose handler panicked; the panic message is logged, not sent.
fn panicked(request: &str, panic: &(dyn std::any::Any + Send)) -> WireError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(request_type = request, panic = %message, "a handler panicked");
    WireError::internal(format!("the handler of `{request}` failed"))
}

pin_project_lite::pin_project! {
    /// A handler's future, answering with its typed response. A handler that panics
    /// answers `INTERNAL_ERROR` for its own request only; the connection and every other
    /// request carry on.
    ///
    /// One combinator rather than a chain of adapters (each of which moved the response
    /// once more) or an `async` block (which would hold the handler's future twice, before
    /// and while awaiting it, doubling the allocation).
    struct Answering<F> {
        #[pin]
        handler: F,
        request: &'static str,
    }
}

impl<F, T, E> Future for Answering<F>
where
    F: Future<Output = Result<T, E>>,
    T: serde::Serialize + Send + Sync + 'static,
    E: ErrorCode,
{
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Reply> {
        let this = self.project();
        let handler = this.handler;
        // The response is boxed inside the closure: what crosses `catch_unwind` is the
        // small reply, not the response (moved once more on the way out otherwise).
        let answered = std::panic::catch_unwind(AssertUnwindSafe(|| match handler.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(response)) => Poll::Ready(Ok(Payload::typed(response))),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error.to_wire())),
        }));
        answered.unwrap_or_else(|panic| Poll::Ready(Err(panicked(this.request, &*panic))))
    }
}

/// Implemented by the generated `{Contract}Server<S>`: registers one route per request.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a contract server",
    label = "expected a generated `{{Contract}}Server`",
    note = "wrap your implementation: `Server::bind(..).await?.serve(MyContractServer::new(my_impl))`"
)]
pub trait Service: Send + 'static {
    /// The contract this service implements.
    fn descriptor(&self) -> &'static ContractDescriptor;
    /// Adds the service's request handlers to `router`.
    fn register(self, router: &mut Router);
}

/// Maps wire names to handlers. A hash lookup per message, whatever the number of routes.
#[derive(Default)]
pub struct Router {
    requests: HashMap<&'static str, RequestHandler, ByName>,
    events: HashMap<&'static str, Vec<EventHandler>, ByName>,
    contracts: Vec<&'static ContractDescriptor>,
    duplicates: Vec<&'static str>,
}

impl Router {
    /// Routes requests of type `R` to `handler`, which answers with `T`.
    ///
    /// `T` should be `R::Response`; it is a separate parameter so that generated code can
    /// report a mismatch once, at the user's type, through its own compile-time check.
    pub fn request<R, T, E, F, Fut>(&mut self, handler: F)
    where
        R: Request,
        T: serde::Serialize + Send + Sync + 'static,
        E: ErrorCode,
        F: Fn(R, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let route: RequestHandler =
            Box::new(move |payload, cx| match payload.decode_owned::<R>() {
                Ok(request) => match request.validate_message() {
                    // The contract's rules hold before the handler runs.
                    Err(failure) => Box::pin(std::future::ready(Err(failure.to_wire()))),
                    Ok(()) => {
                        Box::pin(Answering { handler: handler(request, cx), request: R::NAME })
                    }
                },
                Err(e) => {
                    let error = WireError::invalid_payload(R::NAME, &e);
                    Box::pin(std::future::ready(Err(error)))
                }
            });
        if self.requests.insert(R::NAME, route).is_some() {
            self.duplicates.push(R::NAME);
        }
    }

    /// Runs `handler` for every event of type `E` a client emits.
    pub fn event<E, F, Fut>(&mut self, handler: F)
    where
        E: Event,
        F: Fn(E, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let route: EventHandler = Arc::new(move |payload, cx| match payload.decode::<E>() {
            Ok(event) => match event.validate_message() {
                Ok(()) => Box::pin(handler(event, cx)),
                Err(failure) => {
                    tracing::warn!(event = E::NAME, %failure, "dropped an event that broke the contract's rules");
                    Box::pin(std::future::ready(()))
                }
            },
            Err(e) => {
                tracing::warn!(event = E::NAME, reason = %e, "dropped an event that did not decode");
                Box::pin(std::future::ready(()))
            }
        });
        self.events.entry(E::NAME).or_default().push(route);
    }

    pub(crate) fn add_contract(&mut self, descriptor: &'static ContractDescriptor) {
        self.contracts.push(descriptor);
    }

    pub(crate) fn contracts(&self) -> &[&'static ContractDescriptor] {
        &self.contracts
    }

    pub(crate) fn duplicates(&self) -> &[&'static str] {
        &self.duplicates
    }

    /// Starts handling one request; unknown names answer `UNKNOWN_REQUEST_TYPE`.
    pub(crate) fn dispatch(&self, name: &str, payload: Payload, cx: Context) -> BoxFuture<Reply> {
        match self.requests.get(name) {
            Some(route) => route(payload, cx),
            None => Box::pin(std::future::ready(Err(WireError::unknown_request_type(name)))),
        }
    }

    /// Answers the version handshake (`$handshake`) from the served contracts.
    pub(crate) fn handshake(&self, payload: Payload) -> Reply {
        let hello = payload
            .decode_owned::<Hello>()
            .map_err(|e| WireError::invalid_payload(HANDSHAKE, &e))?;
        Ok(Payload::typed(handshake::answer(&self.contracts, &hello)))
    }

    /// The handlers for an event, or none.
    pub(crate) fn event_handlers(&self, name: &str) -> &[EventHandler] {
        self.events.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Hashes wire names for the route tables with FNV-1a, a fraction of the cost of the
/// default SipHash for names this short. Collision attacks are no concern: the tables only
/// ever hold the names the served contracts register; a peer's names are looked up, never
/// inserted.
type ByName = BuildHasherDefault<NameHasher>;

/// FNV-1a, 64 bits.
struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
