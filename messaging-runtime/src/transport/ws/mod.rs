//! `ws://host:port/path`: the TypeScript library's WebSocket protocol over
//! tokio-tungstenite. One JSON object per text frame (the README lists the shapes); requests are correlated
//! by `requestId`, many in flight per connection, answered in any order.
//!
//! Bad input never takes the server down: a frame that is not JSON, not one of the shapes,
//! or binary is answered with `BAD_MESSAGE`, under its request id when it has a valid one,
//! otherwise under `"requestId":null`; the connection stays up. A message over the maximum
//! size closes that connection with close code 1009.
//!
//! `wss://host:port/path` is the same over TLS ([`WsTransport::tls`]). The server reads and
//! answers the HTTP upgrade itself (`handshake.rs`): under a time limit, with its own cap on
//! handshakes under way, an HTTP answer for every request that is not an allowed upgrade,
//! and an `Origin` check (`origin.rs`). Modules: `accept` (the accept loop and each
//! handshake) uses `handshake`, `origin`, `stream` and `tls` below it, then hands the socket
//! to `server`; `client` gets its socket from `stream`.

mod accept;
mod buffered;
mod client;
mod handshake;
mod origin;
mod stream;
mod tls;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::engine;
use super::{ClientLink, Listener, Transport};
use crate::error::TransportError;
use stream::{buffered, Buffered};

/// A WebSocket over the buffered socket, as the engine drives it.
type Socket = tokio_tungstenite::WebSocketStream<Buffered>;
pub use tls::{Tls, TlsError};

/// The scheme of the WebSocket transport.
pub const SCHEME: &str = "ws";

/// The scheme of the WebSocket transport over TLS.
pub const SECURE_SCHEME: &str = "wss";

/// The default interval between heartbeat pings, both ways: 15 s.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// The default maximum size of one message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// How long one write to a peer may make no progress by default (the peer does not read):
/// 10 s. The connection is then closed as a slow consumer.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server lets a new connection take to finish its handshake by default: 5 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections may be in their handshake at once on one server by default: 1024.
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// The WebSocket transport, `ws://` (or `wss://` with [`WsTransport::tls`]). Registered for
/// `ws://` and `wss://` by default with the default options; give one with other options to
/// a single server ([`crate::Server::bind_with`]) or client
/// ([`crate::client::ClientBuilder::transport`]), or register it for every server and
/// client of the process with [`crate::transport::register_transport`].
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
/// use messaging_runtime::transport::ws::WsTransport;
///
/// let options = WsTransport::new()
///     .max_message_size(1 << 20)
///     .heartbeat(Duration::from_secs(15))
///     .handshake_timeout(Duration::from_secs(5))
///     .allowed_origins(["https://shop.example"]);
/// let running = Server::bind_with(options, "ws://127.0.0.1:0/orders")
///     .await?
///     .serve(EchoerServer::new(Parrot))
///     .start()
///     .await?;
/// let client = EchoerClient::connect(running.address()).await?;
/// assert_eq!(client.echo(Echo { text: "over a socket".into() }).await?, "over a socket");
/// running.stop().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WsTransport {
    max_message_size: usize,
    heartbeat: Duration,
    write_timeout: Duration,
    handshake_timeout: Duration,
    max_pending_handshakes: usize,
    allowed_origins: Vec<String>,
    tls: Option<Tls>,
}

impl Default for WsTransport {
    fn default() -> Self {
        Self {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            heartbeat: DEFAULT_HEARTBEAT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending_handshakes: DEFAULT_MAX_PENDING_HANDSHAKES,
            allowed_origins: Vec::new(),
            tls: None,
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
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval.max(Duration::from_millis(1));
        self
    }

    /// How long one write may make no progress before the peer is taken for one that stopped
    /// reading (default [`DEFAULT_WRITE_TIMEOUT`], 10 s). Reading never waits for writing, so
    /// such a peer's frames are still read meanwhile; at the limit its connection is closed
    /// as a slow consumer (1008), and on a client every call waiting on it fails with
    /// `Disconnected` at once.
    #[must_use]
    pub fn write_timeout(mut self, limit: Duration) -> Self {
        self.write_timeout = limit.max(Duration::from_millis(1));
        self
    }

    fn options(&self) -> engine::ConnectionOptions {
        engine::ConnectionOptions { heartbeat: self.heartbeat, write_timeout: self.write_timeout }
    }

    /// Server side: how long a new connection may take from its TCP connect to the end of
    /// its WebSocket handshake (TLS included). A socket that sends nothing in that time is
    /// closed; one whose request head is not whole by then is answered 408 and closed.
    /// Default [`DEFAULT_HANDSHAKE_TIMEOUT`], 5 s; zero is refused when binding.
    #[must_use]
    pub fn handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    /// Server side: how many connections may be in their handshake at once. They are not
    /// counted against [`crate::Server::max_connections`], which counts upgraded clients;
    /// a new socket beyond this many is closed at once. Default
    /// [`DEFAULT_MAX_PENDING_HANDSHAKES`], 1024; zero is refused when binding.
    #[must_use]
    pub fn max_pending_handshakes(mut self, connections: usize) -> Self {
        self.max_pending_handshakes = connections;
        self
    }

    /// Server side: the browser origins (`scheme://host[:port]`, e.g.
    /// `http://127.0.0.1:8080`) whose pages may open a connection, besides the server's own
    /// (a page served from the same host and port as the WebSocket); `"*"` allows every
    /// origin. A handshake with any other `Origin` is refused with 403; a handshake with no
    /// `Origin` (not a browser: the Rust, Node and TypeScript clients) is always allowed.
    ///
    /// By default only the server's own origin is allowed: browsers let any page open a
    /// WebSocket to any server with the user's cookies, so allowing every origin would let
    /// any site read what the server tells a logged-in user (cross-site WebSocket
    /// hijacking). An entry that is not an origin is refused when binding.
    #[must_use]
    pub fn allowed_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Speaks `wss://` (WebSocket over TLS) instead of `ws://`: a server presents the
    /// certificate of [`Tls::identity_from_pem`], a client trusts the roots of
    /// [`Tls::roots_from_pem`] (the Mozilla roots by default).
    #[must_use]
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    fn config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
            .read_buffer_size(FRAME_READ_SIZE)
    }

    /// What a listener serves each connection with; `Err` for an option it cannot work with.
    fn accepting(&self, address: &str) -> Result<accept::Accepting, TransportError> {
        let invalid = |option, reason: String| TransportError::InvalidOption { option, reason };
        if self.handshake_timeout.is_zero() {
            return Err(invalid("handshake_timeout", "must be more than zero, found 0 s".into()));
        }
        if self.max_pending_handshakes == 0 || self.max_pending_handshakes > Semaphore::MAX_PERMITS
        {
            let reason = format!(
                "must be from 1 to {}, found {}",
                Semaphore::MAX_PERMITS,
                self.max_pending_handshakes
            );
            return Err(invalid("max_pending_handshakes", reason));
        }
        let origins = origin::Origins::parse(&self.allowed_origins)
            .map_err(|reason| invalid("allowed_origins", reason))?;
        let tls = match &self.tls {
            None => None,
            Some(tls) => match &tls.server {
                Some(server) => Some(tokio_rustls::TlsAcceptor::from(Arc::clone(server))),
                None => {
                    return Err(TransportError::InvalidAddress {
                        address: address.to_owned(),
                        reason: "serving `wss://` needs a certificate: bind with \
                                 `WsTransport::new().tls(Tls::new().identity_from_pem(..)?)`"
                            .to_owned(),
                    })
                }
            },
        };
        Ok(accept::Accepting {
            config: self.config(),
            options: self.options(),
            handshake_timeout: self.handshake_timeout,
            pending: Arc::new(Semaphore::new(self.max_pending_handshakes)),
            origins,
            tls,
        })
    }
}

/// How much tungstenite asks for per read. It zeroes that much of its buffer before every
/// read, including each read that finds nothing: at its default, 128 KiB, that `memset` was
/// the largest single cost in the profile of a small round trip. Reads are served from
/// [`Buffered`], so a small figure costs no extra system calls.
const FRAME_READ_SIZE: usize = 4 * 1024;

pub(crate) fn transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(WsTransport::default())))
}

/// The built-in `wss://` transport: the default options and the Mozilla roots; it connects,
/// but binding needs a certificate ([`WsTransport::tls`]).
pub(crate) fn secure_transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(WsTransport::default().tls(Tls::new()))))
}

/// Splits `scheme://host:port/path` into `host:port` and `/path`.
fn parse<'a>(address: &'a str, scheme: &str) -> Result<(&'a str, &'a str), TransportError> {
    let invalid =
        |reason: String| TransportError::InvalidAddress { address: address.to_owned(), reason };
    let rest = address
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"))
        .ok_or_else(|| invalid(format!("expected `{scheme}://host:port/path`")))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let port_ok = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(invalid(format!(
            "expected `{scheme}://host:port/path` with a host and a numeric port (0 picks a free one)"
        )));
    }
    Ok((authority, path))
}

#[async_trait]
impl Transport for WsTransport {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            SECURE_SCHEME
        } else {
            SCHEME
        }
    }

    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError> {
        let (authority, path) = parse(address, self.scheme())?;
        let accepting = self.accepting(address)?;
        let (listener, local) = engine::listen(address, authority).await?;
        let address = format!("{}://{local}{path}", self.scheme());
        let accepting = Arc::new(accepting);
        Ok(engine::spawn_listener(address, |links| accept::accept_loop(listener, accepting, links)))
    }

    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError> {
        let (authority, _) = parse(address, self.scheme())?;
        let stream = stream::dial(address, authority, self.tls.as_ref()).await?;
        client::connect(address, stream, self.config(), self.options()).await
    }
}
