//! What a socket transport's `bind` shares: listening on a TCP address, and a listener that
//! hands the server the links its accept task registers.

use std::future::Future;
use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::TransportError;
use crate::transport::{Listener, ServerLink};

/// Listens on `authority` (`host:port`, port 0 picks one) for `address`; the socket and the
/// address it is bound to.
pub(crate) async fn listen(
    address: &str,
    authority: &str,
) -> Result<(TcpListener, SocketAddr), TransportError> {
    let listener = TcpListener::bind(authority).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => TransportError::AddressInUse(address.to_owned()),
        _ => TransportError::Io(format!("cannot listen on `{authority}`: {e}")),
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| TransportError::Io(format!("cannot read the bound address: {e}")))?;
    Ok((listener, local))
}

/// A listener whose accept task (`accept`, given where to hand each registered link) runs
/// until the listener is dropped; `address` is what clients connect to.
pub(crate) fn spawn_listener<F>(
    address: String,
    accept: impl FnOnce(mpsc::UnboundedSender<ServerLink>) -> F,
) -> Box<dyn Listener>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (links, incoming) = mpsc::unbounded_channel();
    let acceptor = tokio::spawn(accept(links));
    Box::new(ChannelListener { address, incoming, acceptor })
}

struct ChannelListener {
    address: String,
    incoming: mpsc::UnboundedReceiver<ServerLink>,
    acceptor: JoinHandle<()>,
}

#[async_trait]
impl Listener for ChannelListener {
    async fn accept(&mut self) -> Option<ServerLink> {
        self.incoming.recv().await
    }

    fn local_addr(&self) -> String {
        self.address.clone()
    }
}

impl Drop for ChannelListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
