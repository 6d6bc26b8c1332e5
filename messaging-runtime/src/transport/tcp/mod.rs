//! `tcp://host:port`: the JSON envelope of `envelope` over a plain TCP socket, one
//! length-prefixed frame per message (`codec.rs`), driven by the same connection engine as
//! `ws://`. For services that talk to each other inside one network and need neither
//! browsers nor HTTP: no handshake, and a smaller frame header.
//!
//! The server registers each client as soon as it connects, then sends it a pong; `connect`
//! returns once that arrives, so a client never misses an event published right
//! after it connected. A refused client reads a close frame with the reason instead.

mod codec;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::codec::Framed;

use super::engine::{self, ConnectionOptions, Registration};
use super::{ClientLink, Listener, ServerLink, Transport};
use crate::error::TransportError;
use codec::FrameCodec;

/// The scheme of the plain TCP transport.
pub const SCHEME: &str = "tcp";

/// How long `connect` waits for the server to register the client.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The default maximum size of one message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;
/// The default interval between heartbeat pings, both ways: 15 s.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// How long one write may make no progress by default: 10 s.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The plain TCP transport, registered for `tcp://` with the default options; give one with
/// other options to one server ([`crate::Server::bind_with`]) or client
/// ([`crate::client::ClientBuilder::transport`]).
#[derive(Debug, Clone)]
pub struct TcpTransport {
    max_message_size: usize,
    options: ConnectionOptions,
}

impl Default for TcpTransport {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            options: ConnectionOptions {
                heartbeat: DEFAULT_HEARTBEAT,
                write_timeout: DEFAULT_WRITE_TIMEOUT,
            },
        }
    }
}

impl TcpTransport {
    /// A transport with the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest message a peer may send (1 MiB by default); a larger one closes its
    /// connection with 1009.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How often each side pings the other (15 s by default); a peer silent for a whole
    /// interval is taken for dead.
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.options.heartbeat = interval.max(Duration::from_millis(1));
        self
    }

    /// How long one write may make no progress before the peer is closed as a slow
    /// consumer (10 s by default).
    #[must_use]
    pub fn write_timeout(mut self, limit: Duration) -> Self {
        self.options.write_timeout = limit.max(Duration::from_millis(1));
        self
    }

    fn framed(&self, stream: TcpStream) -> Framed<TcpStream, FrameCodec> {
        // Small frames should leave at once, not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        Framed::new(stream, FrameCodec::new(self.max_message_size))
    }
}

pub(crate) fn transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(TcpTransport::default())))
}

/// Checks `tcp://host:port` and returns `host:port`.
fn parse(address: &str) -> Result<&str, TransportError> {
    let invalid = || TransportError::InvalidAddress {
        address: address.to_owned(),
        reason: "expected `tcp://host:port` with a host and a numeric port (0 picks a free one)"
            .to_owned(),
    };
    let authority = address.strip_prefix("tcp://").ok_or_else(invalid)?.trim_end_matches('/');
    let valid = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    valid.then_some(authority).ok_or_else(invalid)
}

#[async_trait]
impl Transport for TcpTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError> {
        let authority = parse(address)?;
        let (listener, local) = engine::listen(address, authority).await?;
        let transport = self.clone();
        let address = format!("tcp://{local}");
        Ok(engine::spawn_listener(address, |links| accept_loop(listener, transport, links)))
    }

    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError> {
        let authority = parse(address)?;
        let stream = TcpStream::connect(authority).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => TransportError::NotFound(address.to_owned()),
            _ => TransportError::Io(format!("cannot connect to `{address}`: {e}")),
        })?;
        let mut framed = self.framed(stream);
        let first = tokio::time::timeout(READY_TIMEOUT, framed.next()).await;
        match first {
            Ok(Some(Ok(Message::Pong(id)))) => {
                let mut link = engine::start_client(framed, self.options);
                // The server's id for this client, as text; empty from a server that sends none.
                link.client_id =
                    std::str::from_utf8(&id).ok().filter(|id| !id.is_empty()).map(str::to_owned);
                Ok(link)
            }
            Ok(Some(Ok(Message::Close(Some(frame))))) => Err(TransportError::Refused {
                address: address.to_owned(),
                reason: frame.reason.to_string(),
            }),
            Ok(other) => Err(TransportError::Io(format!(
                "`{address}` did not answer as a `tcp://` server: read {other:?}"
            ))),
            Err(_) => Err(TransportError::Io(format!(
                "`{address}` did not register this client within {READY_TIMEOUT:?}"
            ))),
        }
    }
}

/// Accepts clients: each is registered with the server, told it is ready, then served.
async fn accept_loop(
    listener: TcpListener,
    transport: TcpTransport,
    links: mpsc::UnboundedSender<ServerLink>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (transport, links) = (transport.clone(), links.clone());
                tokio::spawn(async move {
                    let mut framed = transport.framed(stream);
                    match engine::register(&links, format!("tcp://{peer}")).await {
                        Registration::Accepted(accepted) => {
                            // The pong tells the client it is registered, and its id.
                            let id = accepted.client_id.clone().into_bytes();
                            let ready = framed.send(Message::Pong(id.into()));
                            let limit = transport.options.write_timeout;
                            if matches!(tokio::time::timeout(limit, ready).await, Ok(Ok(()))) {
                                accepted.serve(framed, transport.options).await;
                            }
                        }
                        Registration::Refused(reason) => {
                            let frame = engine::close_frame(reason);
                            let _ = framed.send(Message::Close(Some(frame))).await;
                        }
                        Registration::Gone => {}
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
