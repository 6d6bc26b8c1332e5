//! `ws://host:port/path`: the TypeScript library's WebSocket protocol over
//! tokio-tungstenite. One JSON object per text frame (the README lists the shapes); requests are correlated
//! by `requestId`, many in flight per connection, answered in any order.
//!
//! Bad input never takes the server down: a frame that is not JSON, not one of the shapes,
//! or binary is answered with `BAD_MESSAGE`, under its request id when it has a valid one,
//! otherwise under `"requestId":null`; the connection stays up. A message over the maximum
//! size closes that connection with close code 1009.

mod accept;
mod buffered;
mod client;
mod client_write;
mod outbox;
mod pending;
mod server;
mod server_write;
pub(crate) mod wire;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{ClientLink, Listener, ServerLink, Transport};
use crate::error::TransportError;

/// The scheme of the WebSocket transport.
pub const SCHEME: &str = "ws";

/// The default interval between heartbeat pings, both ways: 15 s.
pub const DEFAULT_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(15);

/// The default maximum size of one message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// How long one write to a peer may make no progress by default (the peer does not read):
/// 10 s. The connection is then closed as a slow consumer.
pub const DEFAULT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many encoded answers (and pings) may wait for a server connection's write side;
/// past it the connection reads no more requests until the write side catches up. A peer
/// that keeps sending while it reads nothing fills it, and is closed as a slow consumer
/// (1008) once its writes make no progress for the write timeout.
pub(super) const MAX_QUEUED_ANSWERS: usize = 4096;

/// What each connection's task needs to know of the transport's options.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectionOptions {
    pub(super) heartbeat: std::time::Duration,
    pub(super) write_timeout: std::time::Duration,
}

/// The WebSocket transport. Registered for `ws://` by default with a 1 MiB message limit;
/// register your own with [`crate::transport::register_transport`] to change it.
#[derive(Debug, Clone)]
pub struct WsTransport {
    max_message_size: usize,
    heartbeat: std::time::Duration,
    write_timeout: std::time::Duration,
}

impl Default for WsTransport {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            heartbeat: DEFAULT_HEARTBEAT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }
}

impl WsTransport {
    /// A transport with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest message a peer may send; a larger one closes its connection with 1009.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How often each side pings the other; a peer that sends nothing back (not even the
    /// pong) for a whole interval after a ping is taken for dead, so a dead peer is noticed
    /// within twice the interval (default 15 s). On a client the connection then fails like
    /// any lost connection: calls waiting on it fail with `Disconnected`, and the client
    /// reconnects if it was built to. A server drops a dead client's connection and forgets
    /// the client. Browsers and the TypeScript clients answer pings by themselves.
    #[must_use]
    pub fn heartbeat(mut self, interval: std::time::Duration) -> Self {
        self.heartbeat = interval.max(std::time::Duration::from_millis(1));
        self
    }

    /// How long one write may make no progress before the peer is taken for one that stopped
    /// reading (default [`DEFAULT_WRITE_TIMEOUT`], 10 s). Reading never waits for writing, so
    /// such a peer's frames are still read meanwhile; at the limit its connection is closed
    /// as a slow consumer (1008), and on a client every call waiting on it fails with
    /// `Disconnected` at once.
    #[must_use]
    pub fn write_timeout(mut self, limit: std::time::Duration) -> Self {
        self.write_timeout = limit.max(std::time::Duration::from_millis(1));
        self
    }

    fn options(&self) -> ConnectionOptions {
        ConnectionOptions { heartbeat: self.heartbeat, write_timeout: self.write_timeout }
    }

    fn config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
            .read_buffer_size(FRAME_READ_SIZE)
    }
}

/// How much tungstenite asks for per read. It zeroes that much of its buffer before every
/// read, including each read that finds nothing: at its default, 128 KiB, that `memset` was
/// the largest single cost in the profile of a small round trip. Reads are served from
/// [`Buffered`], so a small figure costs no extra system calls.
const FRAME_READ_SIZE: usize = 4 * 1024;

/// The socket under tungstenite (see [`buffered`]).
pub(super) type Buffered = buffered::Buffered<TcpStream>;

pub(super) fn buffered(stream: TcpStream) -> Buffered {
    buffered::Buffered::new(stream)
}

pub(crate) fn transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(WsTransport::default())))
}

/// Splits `ws://host:port/path` into `host:port` and `/path`.
fn parse(address: &str) -> Result<(&str, &str), TransportError> {
    let invalid = |reason: &str| TransportError::InvalidAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let rest =
        address.strip_prefix("ws://").ok_or_else(|| invalid("expected `ws://host:port/path`"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let port_ok = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(invalid(
            "expected `ws://host:port/path` with a host and a numeric port (0 picks a free one)",
        ));
    }
    Ok((authority, path))
}

#[async_trait]
impl Transport for WsTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError> {
        let (authority, path) = parse(address)?;
        let listener = TcpListener::bind(authority).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => TransportError::AddressInUse(address.to_owned()),
            _ => TransportError::Io(format!("cannot listen on `{authority}`: {e}")),
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| TransportError::Io(format!("cannot read the bound address: {e}")))?;
        let (links, incoming) = mpsc::unbounded_channel();
        let acceptor =
            tokio::spawn(accept::accept_loop(listener, self.config(), self.options(), links));
        Ok(Box::new(WsListener { address: format!("ws://{local}{path}"), incoming, acceptor }))
    }

    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError> {
        let (authority, _) = parse(address)?;
        client::connect(address, authority, self.config(), self.options()).await
    }
}

struct WsListener {
    address: String,
    incoming: mpsc::UnboundedReceiver<ServerLink>,
    acceptor: JoinHandle<()>,
}

#[async_trait]
impl Listener for WsListener {
    async fn accept(&mut self) -> Option<ServerLink> {
        self.incoming.recv().await
    }

    fn local_addr(&self) -> String {
        self.address.clone()
    }
}

impl Drop for WsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
