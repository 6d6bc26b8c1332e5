//! What a handler knows about the message it is handling.

use std::ops::Deref;
use std::sync::Arc;

use crate::context::MessageContext;
use crate::server::gate::SessionSlot;
use crate::server::registry::{Broadcaster, ClientId};

/// Who sent a message: the same for every message of one connection, so each message's
/// context shares it rather than holding copies of its parts.
#[derive(Debug)]
pub(crate) struct Peer {
    /// The id the server assigned to the client.
    pub(crate) client_id: ClientId,
    /// Publishes to the server's clients.
    pub(crate) broadcaster: Broadcaster,
}

/// The context a request or event handler receives: the sender's [`MessageContext`], the
/// id the server assigned to the sending client, and a [`Broadcaster`] to publish events.
///
/// Derefs to the [`MessageContext`].
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
/// /// Relays each echo to the next service, on its own behalf.
/// struct Relay {
///     next: EchoerClient,
/// }
///
/// impl Echoer for Relay {
///     async fn echo(&self, req: Echo, cx: Context) -> Result<String, EchoError> {
///         // The caller's trace and what is left of its deadline go along; its token does not.
///         let forwarded = self.next.echo(req).context(cx.forward()).await;
///         forwarded.map_err(|_| EchoError::empty())
///     }
/// }
///
/// let _parrot = Server::bind("memory://doc-parrot").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let next = EchoerClient::connect("memory://doc-parrot").await?;
/// let _relay = Server::bind("memory://doc-relay").await?.serve(EchoerServer::new(Relay { next })).start().await?;
/// let client = EchoerClient::connect("memory://doc-relay").await?;
/// assert_eq!(client.echo(Echo { text: "via relay".into() }).await?, "via relay");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    message: Box<MessageContext>,
    peer: Arc<Peer>,
    /// The connection's login, for the authentication layer; `None` on a server without one.
    pub(crate) session: Option<SessionSlot>,
}

impl Context {
    /// A context around a message context, boxed already (a frame's context is boxed
    /// straight from the frame, not moved through the dispatch first).
    pub(crate) fn boxed(message: Box<MessageContext>, peer: Arc<Peer>) -> Self {
        Self { message, peer, session: None }
    }

    /// The sender's context, as it arrived.
    pub fn message(&self) -> &MessageContext {
        &self.message
    }

    /// The sender's context, for a middleware layer to change before the handler sees it.
    pub fn message_mut(&mut self) -> &mut MessageContext {
        &mut self.message
    }

    /// The sender's context, by value.
    pub fn into_message(self) -> MessageContext {
        *self.message
    }

    /// The id the server assigned to the sending client.
    pub fn client_id(&self) -> &ClientId {
        &self.peer.client_id
    }

    /// Publishes events to this server's clients, through a generated publisher (which
    /// checks at compile time that each event is its contract's).
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.peer.broadcaster
    }

    /// A contract's typed publisher, in one expression from a handler:
    /// `cx.events::<OrderServiceEvents>().order_placed(placed)`.
    #[must_use]
    pub fn events<P: From<Broadcaster>>(&self) -> P {
        P::from(self.peer.broadcaster.clone())
    }

    /// A context for a call this handler makes to another service, on this service's own
    /// behalf: the trace (trace id, span ids), the deadline (what is left of the caller's
    /// budget) and the original `source` carry over; the caller's credentials (token and
    /// actor) and metadata do not, so a token given to this service works on no other. The
    /// id and target are cleared and a fresh timestamp is set. A service calls its
    /// dependencies with its own identity (its own client's login).
    pub fn forward(&self) -> MessageContext {
        let message = &self.message;
        MessageContext {
            id: None,
            timestamp: Some(crate::context::now_millis()),
            source: message.source.clone(),
            target: None,
            auth: None,
            metadata: std::collections::BTreeMap::new(),
            trace_id: message.trace_id.clone(),
            span_id: message.span_id.clone(),
            parent_span_id: message.parent_span_id.clone(),
            deadline: message.deadline,
        }
    }

    /// Like [`Context::forward`], and the caller's bearer token too, marked as forwarded
    /// ([`crate::Auth::forwarded`]), for a downstream call that must act as the caller. Only
    /// a downstream server that opted in ([`crate::Server::accept_forwarded_credentials`])
    /// accepts it (and verifies it as any token); any other answers `UNAUTHENTICATED` with
    /// [`crate::auth::AuthError::ForwardedCredentialsRefused`]. The actor is never copied:
    /// the downstream service verifies the token itself.
    pub fn forward_with_credentials(&self) -> MessageContext {
        let mut forwarded = self.forward();
        let token = self.message.auth.as_ref().and_then(|auth| auth.token.clone());
        if let Some(token) = token {
            forwarded.auth =
                Some(Box::new(crate::Auth { token: Some(token), actor: None, forwarded: true }));
        }
        forwarded
    }
}

impl Deref for Context {
    type Target = MessageContext;

    fn deref(&self) -> &MessageContext {
        &self.message
    }
}
