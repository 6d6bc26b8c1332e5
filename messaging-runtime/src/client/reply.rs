//! The reply a call waits for, and cancellation by id: the client numbers its requests, and
//! a reply dropped before it came (the call was dropped, or timed out) tells the transport to
//! cancel that request by its id, as tarpc's response guard does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

use crate::transport::{Inbound, Reply};

/// The reply to request `id`. A typed call cancels the request itself when it is dropped
/// or times out (it knows its client: nothing to pay per call); a reply armed with
/// [`PendingReply::cancel_on_drop`] cancels it when dropped unanswered.
#[derive(Debug)]
pub(crate) struct PendingReply {
    id: u64,
    receiver: oneshot::Receiver<Reply>,
    /// The connection the request went out on, until the reply comes, when armed. Weak: a
    /// waiting call must not keep a connection open that its client closed.
    cancel: Option<mpsc::WeakUnboundedSender<Inbound>>,
}

impl PendingReply {
    pub(crate) fn new(id: u64, receiver: oneshot::Receiver<Reply>) -> Self {
        Self { id, receiver, cancel: None }
    }

    /// The number the request was sent under.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Cancels the request on `connection` if this reply is dropped unanswered.
    pub(crate) fn cancel_on_drop(mut self, connection: &mpsc::UnboundedSender<Inbound>) -> Self {
        self.cancel = Some(connection.downgrade());
        self
    }
}

impl Future for PendingReply {
    /// `Err` when the connection was lost before the reply came.
    type Output = Result<Reply, oneshot::error::RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reply = std::task::ready!(self.receiver.poll_unpin(cx));
        self.cancel = None;
        Poll::Ready(reply)
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if let Some(connection) = self.cancel.take() {
            // Closed first: in process that alone cancels the handler, and a transport that
            // answers on a wire finds nobody waiting.
            self.receiver.close();
            if let Some(connection) = connection.upgrade() {
                let _ = connection.send(Inbound::Cancel(self.id));
            }
        }
    }
}
