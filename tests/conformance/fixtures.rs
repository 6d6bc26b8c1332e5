//! The transports the suite runs on: each makes a fresh server address and the client
//! builder that reaches it. Adding a transport is one entry here and one line in `main.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use messaging_runtime::client::ClientBuilder;
use messaging_runtime::transport::ws::{Tls, WsTransport};
use messaging_runtime::{Client, Server, TransportError};

use crate::certificate::Certificate;
use crate::nats_server::NatsServer;

/// One transport under test.
pub(crate) enum Fixture {
    /// `memory://`, a fresh name per server.
    Memory,
    /// `ws://127.0.0.1:0`.
    Ws,
    /// `wss://127.0.0.1:0`, with a certificate made for the test.
    Wss(Certificate),
    /// `tcp://127.0.0.1:0`.
    Tcp,
    /// `nats://` on a nats-server of the test's own.
    Nats(Mutex<NatsServer>),
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Fixture {
    /// The fixture named `name` (as `main.rs` lists them).
    pub(crate) fn new(name: &str) -> Self {
        match name {
            "memory" => Self::Memory,
            "ws" => Self::Ws,
            "wss" => Self::Wss(Certificate::new(&format!("conformance-{}", next()))),
            "tcp" => Self::Tcp,
            "nats" => Self::Nats(Mutex::new(NatsServer::start())),
            other => panic!("no fixture named `{other}`"),
        }
    }

    /// An address to bind a new server at (port 0 where the transport picks one).
    pub(crate) fn fresh_address(&self) -> String {
        match self {
            Self::Memory => format!("memory://conformance-{}", next()),
            Self::Ws => "ws://127.0.0.1:0/conformance".to_owned(),
            Self::Wss(_) => "wss://127.0.0.1:0/conformance".to_owned(),
            Self::Tcp => "tcp://127.0.0.1:0".to_owned(),
            Self::Nats(broker) => lock(broker).url(),
        }
    }

    /// Binds a server at `address` with this transport.
    pub(crate) async fn bind(&self, address: &str) -> Result<Server, TransportError> {
        match self {
            Self::Wss(cert) => {
                let tls = Tls::new().identity_from_pem(cert.cert(), cert.key()).expect("pem");
                Server::bind_with(WsTransport::new().tls(tls), address).await
            }
            _ => Server::bind(address).await,
        }
    }

    /// A client builder that reaches this transport's servers.
    pub(crate) fn client(&self) -> ClientBuilder {
        match self {
            Self::Wss(cert) => {
                let tls = Tls::new().roots_from_pem(cert.cert()).expect("roots");
                Client::builder().transport(WsTransport::new().tls(tls))
            }
            _ => Client::builder(),
        }
    }
}

impl Fixture {
    /// Whether clients reach servers through a broker. A client's connection is then to the
    /// broker, not to one server: a server that stops does not disconnect it (its next call
    /// fails `NO_RESPONDERS`), and a broadcast cannot count the subscribers it reached.
    pub(crate) fn is_broker(&self) -> bool {
        matches!(self, Self::Nats(_))
    }

    /// Takes the clients' connections away: over a broker, the broker goes down (the
    /// server's stop did that already for a socket transport).
    pub(crate) fn outage(&self) {
        if let Self::Nats(broker) = self {
            lock(broker).kill();
        }
    }

    /// Ends [`Fixture::outage`]: the broker comes back on the same port.
    pub(crate) fn recover(&self) {
        if let Self::Nats(broker) = self {
            lock(broker).restart();
        }
    }
}

fn lock(broker: &Mutex<NatsServer>) -> MutexGuard<'_, NatsServer> {
    broker.lock().unwrap_or_else(PoisonError::into_inner)
}

fn next() -> usize {
    NEXT.fetch_add(1, Ordering::Relaxed)
}
