//! What a handler knows about the message it is handling.

use std::ops::Deref;

use crate::context::MessageContext;
use crate::server::registry::{Broadcaster, ClientId};

/// The context a request or event handler receives: the sender's [`MessageContext`], the
/// id the server assigned to the sending client, and a [`Broadcaster`] to publish events.
///
/// Derefs to the [`MessageContext`].
#[derive(Debug, Clone)]
pub struct Context {
    message: MessageContext,
    client_id: ClientId,
    broadcaster: Broadcaster,
}

impl Context {
    pub(crate) fn new(
        message: MessageContext,
        client_id: ClientId,
        broadcaster: Broadcaster,
    ) -> Self {
        Self { message, client_id, broadcaster }
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
        self.message
    }

    /// The id the server assigned to the sending client.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Publishes events to this server's clients.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
    }

    /// A context for a call this handler makes to another service: the trace, auth,
    /// metadata, deadline and the original `source` carry over; the id and target are
    /// cleared and a fresh timestamp is set.
    pub fn forward(&self) -> MessageContext {
        MessageContext {
            id: None,
            timestamp: Some(crate::context::now_millis()),
            target: None,
            ..self.message.clone()
        }
    }
}

impl Deref for Context {
    type Target = MessageContext;

    fn deref(&self) -> &MessageContext {
        &self.message
    }
}
