//! Middleware: every request and event passes a pipeline of layers before it reaches its
//! handler (on the server) or the wire (on the client).
//!
//! A layer is any [`tower::Layer`], so the tower ecosystem works unchanged
//! (`tower::timeout`, `tower::limit`, `tower::load_shed`, tracing layers), or a closure in
//! the `(request, next)` shape written with [`from_fn`]. Layers run in the order they were
//! registered: the first one registered sees the request first and the answer last.
//!
//! A layer can read and change the request's context, answer without calling `next`
//! (with a contract error via [`reject`], or a runtime error), and observe the answer and
//! the time it took. Errors from tower layers become wire errors: a `tower::timeout`
//! elapsing answers `TIMEOUT` (504), `tower::load_shed` answers `OVERLOADED` (503).
//!
//! Layers that are not `Clone` (such as `tower::limit::RateLimit`) go behind a
//! `tower::buffer::BufferLayer`, as everywhere in tower: `ServiceBuilder::new().buffer(64).rate_limit(..)`.

mod from_fn;

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

use tower::util::BoxCloneService;

use crate::context::MessageContext;
use crate::contract::ErrorCode;
use crate::error::{codes, WireError};
use crate::payload::Payload;

pub use from_fn::{from_fn, FromFn, FromFnLayer, Next};

/// The error type that flows through a pipeline: any error; a [`WireError`] inside it is
/// answered as it is.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request passing a pipeline: its wire name, its body and its context (the handler's
/// `Context` on the server, where the verified caller is known; `MessageContext` on the
/// client).
pub struct RequestEnvelope<C> {
    /// The wire name (`requestType`).
    pub name: Cow<'static, str>,
    /// The body: typed in process, raw JSON off the wire.
    pub payload: Payload,
    /// The context, which a layer may change.
    pub context: C,
}

/// An event passing a pipeline.
pub struct EventEnvelope<C> {
    /// The wire name.
    pub name: Cow<'static, str>,
    /// The body.
    pub payload: Payload,
    /// The context, which a layer may change.
    pub context: C,
}

/// A request leaving a client. (On a server: `ServerRequest`.)
pub type ClientRequest = RequestEnvelope<MessageContext>;
/// An event arriving at a client. (On a server: `ServerEvent`.)
pub type ClientEvent = EventEnvelope<MessageContext>;

impl<C> fmt::Debug for RequestEnvelope<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestEnvelope").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for EventEnvelope<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventEnvelope").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A pipeline for requests: answers with a payload or an error.
pub type RequestService<C> = BoxCloneService<RequestEnvelope<C>, Payload, BoxError>;
/// A pipeline for events: `Ok(())` once handled (or deliberately dropped).
pub type EventService<C> = BoxCloneService<EventEnvelope<C>, (), BoxError>;

/// Answers with one of the contract's errors from inside a layer.
pub fn reject<E: ErrorCode>(error: &E) -> BoxError {
    Box::new(error.to_wire())
}

/// Turns whatever a pipeline failed with into the error that goes on the wire.
pub fn into_wire(error: BoxError) -> WireError {
    let error = match error.downcast::<WireError>() {
        Ok(wire) => return *wire,
        Err(other) => other,
    };
    if error.is::<tower::timeout::error::Elapsed>() {
        return WireError::new(
            codes::TIMEOUT,
            504,
            "the request took longer than the server allows",
        );
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return WireError::new(codes::OVERLOADED, 503, "the server is overloaded: try again later");
    }
    WireError::internal(format!("middleware failed: {error}"))
}

/// A pipeline template: cloned once per connection or call, never shared mutably.
pub(crate) struct Template<S> {
    service: Mutex<S>,
}

impl<S: Clone> Template<S> {
    pub(crate) fn new(service: S) -> Self {
        Self { service: Mutex::new(service) }
    }

    /// A fresh handle to the pipeline.
    pub(crate) fn get(&self) -> S {
        self.service.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl<S> fmt::Debug for Template<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Template(..)")
    }
}
