//! `memory://name`: a named in-process hub. Typed values move through channels with no
//! serialisation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{event_queue, ClientLink, Listener, ServerLink, Transport};
use crate::error::TransportError;

/// The scheme of the in-process transport.
pub const SCHEME: &str = "memory";

type Hub = Mutex<HashMap<String, mpsc::UnboundedSender<ServerLink>>>;

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(Hub::default)
}

/// The in-process transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryTransport;

pub(crate) fn transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(MemoryTransport)))
}

/// Checks `memory://name` and returns the name.
fn parse(address: &str) -> Result<&str, TransportError> {
    let name = address.strip_prefix("memory://").unwrap_or_default();
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(name)
    } else {
        Err(TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: "expected `memory://NAME` where NAME is non-empty and made of ASCII letters, \
                     digits, `-`, `_`, `.` or `/`"
                .to_owned(),
        })
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError> {
        let name = parse(address)?;
        let mut hub = hub().lock().unwrap_or_else(PoisonError::into_inner);
        if hub.get(name).is_some_and(|tx| !tx.is_closed()) {
            return Err(TransportError::AddressInUse(address.to_owned()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        hub.insert(name.to_owned(), tx.clone());
        Ok(Box::new(MemoryListener { name: name.to_owned(), own: tx, incoming: rx, next_peer: 0 }))
    }

    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError> {
        let name = parse(address)?;
        let acceptor = hub()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| TransportError::NotFound(address.to_owned()))?;
        let (to_server, inbound) = mpsc::unbounded_channel();
        // The client's dispatcher takes events as fast as its subscribers do: the server
        // bounds the backlog (`Server::outbound_queue`) as it does for any other transport.
        let (outbound, events) = event_queue();
        let (registered, ready) = oneshot::channel();
        // Kept only until the server answers, to read why it refused, if it did.
        let answer = outbound.clone();
        let link = ServerLink {
            inbound,
            outbound,
            peer: String::new(),
            registered: Some(registered),
            sessions: true,
            client_id: None,
            driver: None,
        };
        acceptor.send(link).map_err(|_| TransportError::NotFound(address.to_owned()))?;
        // The server registers the client before it is handed back, so no broadcast made
        // after `connect` returns can miss it.
        let client_id = ready.await.map_err(|_| match answer.close_reason() {
            Some(reason) => {
                TransportError::Refused { address: address.to_owned(), reason: reason.to_string() }
            }
            None => TransportError::NotFound(address.to_owned()),
        })?;
        drop(answer);
        Ok(ClientLink {
            outbound: to_server,
            events,
            client_id: Some(client_id),
            encoded_requests: false,
        })
    }
}

struct MemoryListener {
    name: String,
    own: mpsc::UnboundedSender<ServerLink>,
    incoming: mpsc::UnboundedReceiver<ServerLink>,
    next_peer: u64,
}

#[async_trait]
impl Listener for MemoryListener {
    async fn accept(&mut self) -> Option<ServerLink> {
        let mut link = self.incoming.recv().await?;
        self.next_peer += 1;
        link.peer = format!("memory://{}#{}", self.name, self.next_peer);
        Some(link)
    }

    fn local_addr(&self) -> String {
        format!("memory://{}", self.name)
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        let mut hub = hub().lock().unwrap_or_else(PoisonError::into_inner);
        // Only remove our own entry: a new server may have bound the name already.
        if hub.get(&self.name).is_some_and(|tx| tx.same_channel(&self.own)) {
            hub.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_are_checked_and_names_are_exclusive() {
        let t = MemoryTransport;
        for bad in ["memory://", "memory://has space", "memory://ü"] {
            let Err(TransportError::InvalidAddress { address, .. }) = t.bind(bad).await else {
                panic!("`{bad}` should be rejected");
            };
            assert_eq!(address, bad);
        }
        let listener = t.bind("memory://unit-exclusive").await.expect("binds");
        assert_eq!(listener.local_addr(), "memory://unit-exclusive");
        let taken = t.bind("memory://unit-exclusive").await.err();
        assert_eq!(taken, Some(TransportError::AddressInUse("memory://unit-exclusive".into())));
        drop(listener);
        assert!(t.connect("memory://unit-exclusive").await.is_err(), "gone after drop");
        let again = t.bind("memory://unit-exclusive").await;
        assert!(again.is_ok(), "the name is free again after the listener is dropped");
    }

    #[tokio::test]
    async fn unknown_names_and_schemes_fail_clearly() {
        let err = MemoryTransport.connect("memory://nobody-here").await.expect_err("fails");
        assert_eq!(err.to_string(), "no server is bound at `memory://nobody-here`");
        let Err(err) = crate::transport::transport_for("carrier-pigeon://x") else {
            panic!("an unknown scheme is rejected");
        };
        assert!(err.to_string().contains("expected one of the schemes `memory://`"), "{err}");
        let Err(err) = crate::transport::transport_for("orders") else {
            panic!("an address without a scheme is rejected");
        };
        assert!(err.to_string().contains("expected `scheme://...`"), "{err}");
    }
}
