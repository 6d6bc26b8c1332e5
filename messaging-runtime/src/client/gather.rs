//! Scatter/gather: one request, the replies of every server that serves it
//! ([`Client::request_many`]). Over a broker each replica answers; over a transport with
//! one server per connection the one server does.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Client, ConnectionStatus};
use crate::contract::{ErrorCode, Request};
use crate::error::CallError;
use crate::payload::Payload;
use crate::transport::{GatherFrame, Inbound, Reply};

/// When [`Client::request_many`] stops collecting: whichever comes first of a number of
/// replies, a quiet period after the last reply, and the deadline. The default: no count,
/// a quiet period of 300 ms, the client's default timeout.
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
/// use messaging_runtime::client::Gather;
/// use futures_util::StreamExt;
/// # let _running = Server::bind("memory://doc-gather").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = Client::connect("memory://doc-gather").await?;
/// // Over nats:// every replica answers; here the one server does.
/// let replies: Vec<_> = client
///     .request_many::<Echo, EchoError>(Echo { text: "all of you".into() }, Gather::replies(3))
///     .collect()
///     .await;
/// assert_eq!(replies.len(), 1);
/// assert_eq!(replies[0].as_deref().ok(), Some("all of you"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather {
    /// Stop after this many replies.
    pub max_replies: Option<usize>,
    /// Stop when no reply came for this long since the last one (or since sending).
    pub quiet: Option<Duration>,
    /// Stop at this long after sending; the client's default timeout when `None`.
    pub timeout: Option<Duration>,
}

/// The default quiet period of [`Gather`]: 300 ms.
pub const DEFAULT_GATHER_QUIET: Duration = Duration::from_millis(300);

impl Default for Gather {
    fn default() -> Self {
        Self { max_replies: None, quiet: Some(DEFAULT_GATHER_QUIET), timeout: None }
    }
}

impl Gather {
    /// Stops after `replies` replies (and at the deadline), with no quiet period: for when
    /// the number of replicas is known.
    pub fn replies(replies: usize) -> Self {
        Self { max_replies: Some(replies), quiet: None, timeout: None }
    }

    /// Stops at `timeout` after sending, whatever came.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Stops when no reply came for `quiet`.
    #[must_use]
    pub fn quiet(mut self, quiet: Duration) -> Self {
        self.quiet = Some(quiet);
        self
    }
}

/// What the stream of replies keeps between items.
struct Collecting<R, E> {
    replies: mpsc::UnboundedReceiver<Reply>,
    left: Option<usize>,
    quiet: Option<Duration>,
    deadline: Instant,
    types: PhantomData<fn() -> (R, E)>,
}

impl Client {
    /// Sends `request` once to every server that serves it and yields each reply, typed,
    /// until `until` says to stop (a count, a quiet period, the deadline). Over `nats://`
    /// every replica answers; over `memory://`, `ws://` and `tcp://` the one server does.
    /// The stream ends at once, empty but for the error, when the request could not be sent
    /// (`Disconnected`) or, over a broker, nobody serves it (`NoResponders`).
    pub fn request_many<R: Request, E: ErrorCode>(
        &self,
        request: R,
        until: Gather,
    ) -> impl Stream<Item = Result<R::Response, CallError<E>>> + Send + 'static {
        let timeout = until.timeout.unwrap_or(self.inner.timeout);
        let (replies, receiver) = mpsc::unbounded_channel();
        let refused = self.send_gather(request, timeout, replies);
        let collecting = Collecting::<R, E> {
            replies: receiver,
            left: until.max_replies,
            quiet: until.quiet,
            deadline: Instant::now() + timeout,
            types: PhantomData,
        };
        let first = refused.map(Err);
        stream::iter(first).chain(stream::unfold(collecting, next_reply))
    }

    /// Validates and sends the gather frame; the error to yield when it could not be sent.
    fn send_gather<R: Request, E: ErrorCode>(
        &self,
        request: R,
        timeout: Duration,
        replies: mpsc::UnboundedSender<Reply>,
    ) -> Option<CallError<E>> {
        if self.inner.validate {
            if let Err(failure) = request.validate_message() {
                return Some(CallError::Validation(failure));
            }
        }
        if self.status() != ConnectionStatus::Connected {
            return Some(CallError::Disconnected);
        }
        let mut context = self.new_context();
        context.deadline = Some(std::time::Instant::now() + timeout);
        let id = self.inner.last_request.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let frame = GatherFrame {
            id,
            name: Cow::Borrowed(R::NAME),
            payload: Payload::typed(request),
            context,
            replies,
        };
        (!self.send(Inbound::Gather(Box::new(frame)))).then_some(CallError::Disconnected)
    }
}

async fn next_reply<R: Request, E: ErrorCode>(
    mut state: Collecting<R, E>,
) -> Option<(Result<R::Response, CallError<E>>, Collecting<R, E>)> {
    if state.left == Some(0) {
        return None;
    }
    let quiet = state.quiet.map_or(state.deadline, |q| (Instant::now() + q).min(state.deadline));
    let reply = tokio::time::timeout_at(quiet, state.replies.recv()).await.ok().flatten()?;
    state.left = state.left.map(|n| n - 1);
    let typed = match reply {
        Ok(payload) => payload
            .decode_owned::<R::Response>()
            .map_err(|e| CallError::InvalidPayload(format!("a reply to `{}`: {e}", R::NAME))),
        Err(wire) => Err(CallError::from_wire(wire)),
    };
    Some((typed, state))
}
