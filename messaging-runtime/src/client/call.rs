//! One typed request in the making: set a context or a timeout, then await it.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;

use super::deadlines::{Elapsed, Expiring};
use super::pipeline::Answer;
use super::{Client, ConnectionStatus};
use crate::context::MessageContext;
use crate::contract::{ErrorCode, Request};
use crate::error::{codes, CallError, WireError};
use crate::middleware::ClientRequest;
use crate::payload::Payload;
use crate::transport::{Reply, RequestFrame};

/// A typed request to be awaited: `client.get_order_by_id(req).timeout(d).await`.
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
/// use std::time::Duration;
/// # let _running = Server::bind("memory://doc-call").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-call").await?;
/// let echoed = client
///     .echo(Echo { text: "soon".into() })
///     .timeout(Duration::from_millis(500))
///     .context(MessageContext::default().with_trace_id("trace-1"))
///     .await?;
/// assert_eq!(echoed, "soon");
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, R, E> {
    client: &'a Client,
    request: R,
    /// Boxed: most calls set none, and the call is moved into the caller's future.
    context: Option<Box<MessageContext>>,
    timeout: Option<Duration>,
    wait: Option<bool>,
    error: PhantomData<fn() -> E>,
}

impl<R, E> std::fmt::Debug for Call<'_, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl<'a, R: Request, E: ErrorCode> Call<'a, R, E> {
    pub(crate) fn new(client: &'a Client, request: R) -> Self {
        Self { client, request, context: None, timeout: None, wait: None, error: PhantomData }
    }

    /// Sends the request with this context laid over the client's own
    /// ([`MessageContext::merged_over`]): the fields it sets win, the client's login token
    /// and source stay unless it sets its own.
    pub fn context(mut self, context: MessageContext) -> Self {
        self.context = Some(Box::new(context));
        self
    }

    /// Waits at most `timeout` for the response, instead of the client's default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// If the client is reconnecting when the call is sent, waits for the connection to
    /// come back (up to the call's deadline) instead of failing at once with
    /// `CallError::Disconnected`; see [`crate::ClientBuilder::wait_for_connection`].
    pub fn wait_for_connection(mut self) -> Self {
        self.wait = Some(true);
        self
    }
}

impl<'a, R: Request, E: ErrorCode> IntoFuture for Call<'a, R, E> {
    type Output = Result<R::Response, CallError<E>>;
    type IntoFuture = CallFuture<'a, R, E>;

    fn into_future(self) -> Self::IntoFuture {
        let Self { client, request, context, timeout, wait, error: _ } = self;
        // Bad input fails fast, without a round trip (unless the client opted out).
        if client.inner.validate {
            if let Err(failure) = request.validate_message() {
                let failure = Box::new(failure);
                return CallFuture { state: State::Refused(failure), types: PhantomData };
            }
        }
        if timeout.is_some_and(|t| t.is_zero()) {
            // Refused as the client builder refuses a zero timeout: it could never be met.
            let wire = WireError::new(
                codes::INVALID_OPTION,
                400,
                "invalid option `timeout`: must be more than zero, found 0 s",
            );
            return CallFuture { state: State::Invalid(Box::new(wire)), types: PhantomData };
        }
        // Boxing the request here rather than on the first poll keeps `CallFuture` free of
        // `R`, so it is `Unpin` whatever `R` is; nothing is sent until the first poll.
        let payload = Payload::typed(request);
        let wait = wait.unwrap_or(client.inner.waits);
        let state = State::Start { client, payload, context, timeout, wait };
        CallFuture { state, types: PhantomData }
    }
}

/// An awaited [`Call`]: sends the request when first polled, then waits for the response
/// until the timeout.
///
/// It lives inside the caller's own future: it needs no allocation of its own and no
/// runtime timer (the client's one timer task enforces every deadline).
#[must_use = "a call does nothing until it is awaited"]
pub struct CallFuture<'a, R, E> {
    state: State<'a>,
    types: PhantomData<fn() -> (R, E)>,
}

/// What the call is doing. It lives inline in the caller's future and is moved with it, so
/// what only some calls need (a context of their own, a wait for the connection, a refusal)
/// is boxed, keeping the common case small.
enum State<'a> {
    /// Not sent yet.
    Start {
        client: &'a Client,
        payload: Payload,
        context: Option<Box<MessageContext>>,
        timeout: Option<Duration>,
        wait: bool,
    },
    /// Not sent yet: waiting for the client to reconnect, up to the deadline.
    Reconnecting {
        send: Box<Ready<'a>>,
        connected: Pin<Box<dyn Future<Output = bool> + Send + 'a>>,
    },
    /// Sent; waiting for the answer or the deadline.
    Waiting {
        client: &'a Client,
        id: Option<u64>,
        response: Expiring<'a, Answer>,
        timeout: Duration,
    },
    /// Refused before sending: the request broke the contract's rules.
    Refused(Box<crate::validation::ValidationFailure>),
    /// Refused before sending: an option of the call cannot work.
    Invalid(Box<WireError>),
    /// Answered (or failed to send).
    Done,
}

// `CallFuture` stays `Send` (as the boxed future it replaced was) and `Unpin` for every
// request and error type; checked at compile time.
const _: () = {
    fn send_and_unpin<T: Send + Unpin>() {}
    #[allow(dead_code, reason = "only type-checked, never called")]
    fn call_future<R: Request, E: ErrorCode>() {
        send_and_unpin::<CallFuture<'static, R, E>>();
    }
};

impl<R, E> std::fmt::Debug for CallFuture<'_, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Start { .. } => "not sent",
            State::Reconnecting { .. } => "waiting for the connection",
            State::Waiting { .. } => "waiting",
            State::Refused(_) | State::Invalid(_) => "refused",
            State::Done => "done",
        };
        f.debug_struct("CallFuture").field("state", &state).finish_non_exhaustive()
    }
}

/// A request ready to go, built in its box once: its context carries its deadline.
struct Ready<'a> {
    client: &'a Client,
    frame: Box<RequestFrame>,
    /// The frame's reply.
    receiver: oneshot::Receiver<Reply>,
    timeout: Duration,
    expiry: tokio::time::Instant,
}

impl<'a> State<'a> {
    /// Sends a request that has not been sent yet and moves to `Waiting`, or to
    /// `Reconnecting` when the caller waits for a lost connection; `None` when the
    /// connection is gone.
    fn send(self, name: &'static str) -> Option<Self> {
        let State::Start { client, payload, context, timeout, wait } = self else {
            return Some(self);
        };
        let (reply, receiver) = oneshot::channel();
        let name = Cow::Borrowed(name);
        let fresh = MessageContext::default();
        let mut frame = Box::new(RequestFrame { id: 0, name, payload, context: fresh, reply });
        client.stamp_context(&mut frame.context);
        if let Some(given) = context {
            frame.context = (*given).merged_over(std::mem::take(&mut frame.context));
        }
        // One reading of the monotonic clock starts the deadline the server is told and the
        // one this call waits for, on the runtime's clock (which a test may pause), as
        // `tokio::time::timeout` would. (The timestamp is the wall clock's: the monotonic
        // clock cannot stand in for it, as the wall clock may be slewed.)
        let now = tokio::time::Instant::now();
        let timeout = effective_timeout(client, timeout, &frame.context);
        frame.context.deadline = now.into_std().checked_add(timeout);
        let ready = Ready { client, frame, receiver, timeout, expiry: expiry(now, timeout) };
        if wait && client.status() == ConnectionStatus::Reconnecting {
            let connected = Box::pin(until_connected(client, ready.expiry));
            return Some(State::Reconnecting { send: Box::new(ready), connected });
        }
        ready.send()
    }
}

impl<'a> Ready<'a> {
    /// Hands the request to the transport (or the client's layers); `None` when the
    /// connection is gone.
    fn send(self) -> Option<State<'a>> {
        let Ready { client, frame, receiver, timeout, expiry } = self;
        // The number of a request sent straight to the connection, which this call cancels
        // itself; one that goes through the client's layers cancels by its reply.
        let mut id = None;
        let answer = match &client.inner.requests {
            Some(pipeline) => {
                // The layers send it anew; the reply made with the frame goes unused.
                let RequestFrame { name, payload, context, .. } = *frame;
                Answer::piped(pipeline.get(), ClientRequest { name, payload, context })
            }
            None => {
                let reply = client.send_frame(frame, receiver)?;
                id = Some(reply.id());
                Answer::Direct(reply)
            }
        };
        let response = client.inner.deadlines.wait(answer, expiry);
        Some(State::Waiting { client, id, response, timeout })
    }
}

/// Resolves to `true` once the client is connected again, or `false` when it gives up,
/// is closed, or `expiry` passes first.
async fn until_connected(client: &Client, expiry: tokio::time::Instant) -> bool {
    let mut status = client.watch_status();
    let settled = status.wait_for(|s| {
        matches!(
            s,
            ConnectionStatus::Connected | ConnectionStatus::Error | ConnectionStatus::Disconnected
        )
    });
    let connected = match tokio::time::timeout_at(expiry, settled).await {
        Ok(Ok(status)) => *status == ConnectionStatus::Connected,
        _ => false,
    };
    connected
}

impl<R: Request, E: ErrorCode> Future for CallFuture<'_, R, E> {
    type Output = Result<R::Response, CallError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let State::Invalid(_) = this.state {
            let State::Invalid(wire) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!("matched just above")
            };
            return Poll::Ready(Err(CallError::Internal(*wire)));
        }
        if let State::Refused(_) = this.state {
            let State::Refused(failure) = std::mem::replace(&mut this.state, State::Done) else {
                unreachable!("matched just above")
            };
            return Poll::Ready(Err(CallError::Validation(*failure)));
        }
        if matches!(this.state, State::Start { .. }) {
            match std::mem::replace(&mut this.state, State::Done).send(R::NAME) {
                Some(waiting) => this.state = waiting,
                None => return Poll::Ready(Err(CallError::Disconnected)),
            }
        }
        if let State::Reconnecting { connected, .. } = &mut this.state {
            let connected = std::task::ready!(connected.as_mut().poll(cx));
            let State::Reconnecting { send, .. } = std::mem::replace(&mut this.state, State::Done)
            else {
                unreachable!("matched just above")
            };
            if !connected {
                return Poll::Ready(Err(CallError::Disconnected));
            }
            match (*send).send() {
                Some(waiting) => this.state = waiting,
                None => return Poll::Ready(Err(CallError::Disconnected)),
            }
        }
        let State::Waiting { client, id, response, timeout } = &mut this.state else {
            panic!("a `CallFuture` was polled after it completed");
        };
        let (client, id, timeout) = (*client, *id, *timeout);
        let answer = std::task::ready!(Pin::new(response).poll(cx));
        // Frees the deadline's slot (and, on a timeout, the reply channel) before decoding.
        this.state = State::Done;
        Poll::Ready(match answer {
            Err(Elapsed) => {
                if let Some(id) = id {
                    client.cancel(id);
                }
                Err(CallError::Timeout(timeout))
            }
            Ok(Err(_)) => Err(CallError::Disconnected),
            // The server gave up at this call's own deadline: a timeout, as seen from here.
            Ok(Ok(Err(error))) if error.code == codes::DEADLINE_EXCEEDED => {
                Err(CallError::Timeout(timeout))
            }
            Ok(Ok(Err(error))) => Err(CallError::from_wire(error)),
            Ok(Ok(Ok(payload))) => {
                client.saw_response(&payload);
                payload.decode_owned::<R::Response>().map_err(|e| {
                    CallError::InvalidPayload(format!("response to `{}`: {e}", R::NAME))
                })
            }
        })
    }
}

impl<R, E> Drop for CallFuture<'_, R, E> {
    /// A call dropped while waiting tells the server to cancel its handler.
    fn drop(&mut self) {
        if let State::Waiting { client, id: Some(id), .. } = self.state {
            // The reply is closed first: in process that alone cancels the handler.
            self.state = State::Done;
            client.cancel(id);
        }
    }
}

/// The per-call timeout, else the client default, capped by a deadline the caller's
/// context already carries (a nested call inherits what is left of its budget).
fn effective_timeout(
    client: &Client,
    timeout: Option<Duration>,
    context: &MessageContext,
) -> Duration {
    let chosen = timeout.unwrap_or(client.inner.timeout);
    context.remaining().map_or(chosen, |left| left.min(chosen))
}

/// When a call that starts at `now` with `timeout` expires, as `tokio::time::timeout`
/// would compute it.
fn expiry(now: tokio::time::Instant, timeout: Duration) -> tokio::time::Instant {
    // What tokio uses for "never" when a deadline overflows: about 30 years.
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}
