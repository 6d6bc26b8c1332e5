//! `nats://host:port`: services behind a NATS broker. Only the address changes:
//! `Server::bind("nats://127.0.0.1:4222")` and `OrderServiceClient::connect("nats://127.0.0.1:4222")`;
//! the contract's name picks the subjects (the `subjects` module has the table). Start the same
//! server three times and the three replicas share the load (a queue group); a client never
//! learns how many there are, and a request nobody serves fails at once (`NO_RESPONDERS`).
//!
//! - Requests: the body is the request's JSON payload as is, the context travels in headers
//!   (the `headers` module has the table). A success reply's body is the response JSON; an error
//!   reply carries ADR-32's `Nats-Service-Error` and `Nats-Service-Error-Code` headers and
//!   the wire error `{code, message, status, details}` as its body.
//! - Every server registers each contract it serves as an ADR-32 service (`$SRV.PING`,
//!   `$SRV.INFO`, `$SRV.STATS`; `service.rs`), so the `nats` CLI and every NATS library
//!   discover it.
//! - Events: a broadcast is one publish on the event's subject, whatever the number of
//!   subscribers.
//! - Identity: there is no socket per client. A client names itself with a random id: in
//!   its requests' reply subject (`{inbox}.{request number}`, the inbox ending in the id,
//!   then the context's timestamp and deadline: `reply_to.rs`) and
//!   in the `Mb-Client` header of its other messages (a header wins over the reply subject,
//!   so any NATS client can name itself); the server keeps one link per id (for events to that client, its
//!   cancels, its in-flight limit) and drops it when the client says goodbye or after it was
//!   idle for [`NatsTransport::link_idle`]. Since anyone could write any id, a login is never
//!   bound to a link: every request carries its token (the Rust client does), and the
//!   server verifies it per request.
//!
//! The ADR-32 part is written here rather than taken from `async-nats`'s `service` module:
//! that module answers errors with an empty body, and the typed client needs the wire error.

mod client;
mod durable;
pub(crate) mod headers;
mod links;
mod reply_to;
mod server;
mod service;
pub(crate) mod subjects;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

pub use durable::{Delivery, DurableEvents, DurableSubscription};

use super::{ClientLink, Listener, Transport};
use crate::error::TransportError;

/// The scheme of the NATS transport.
pub const SCHEME: &str = "nats";
/// The default subject prefix: `mb`.
pub const DEFAULT_PREFIX: &str = "mb";
/// The default queue group of every endpoint: `q`, as ADR-32 suggests.
pub const DEFAULT_QUEUE_GROUP: &str = "q";
/// How long a server keeps the link of a client it has not heard from: 5 minutes.
pub const DEFAULT_LINK_IDLE: Duration = Duration::from_secs(300);
/// How many events may wait for a client's subscribers before the client is closed as a
/// slow consumer: 8192.
pub const DEFAULT_CLIENT_EVENT_QUEUE: usize = 8192;

/// How long a JetStream stream keeps stored events by default: 7 days.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a durable subscriber has to acknowledge an event before it is delivered again,
/// by default: 30 s.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);

/// The NATS transport, registered for `nats://` with the default options; give one with
/// other options to one server ([`crate::Server::bind_with`]) or client
/// ([`crate::client::ClientBuilder::transport`]).
///
/// # Examples
///
/// ```no_run
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
/// use messaging_runtime::transport::nats::NatsTransport;
///
/// // Three processes running this are three replicas sharing the requests.
/// let running = Server::bind_with(
///     NatsTransport::new().prefix("shop").queue_group("orders").store_events(true),
///     "nats://127.0.0.1:4222",
/// )
/// .await?
/// .serve(EchoerServer::new(Parrot))
/// .start()
/// .await?;
/// // Any process of the fleet calls it without knowing where it runs.
/// let client = Client::builder()
///     .transport(NatsTransport::new().prefix("shop"))
///     .timeout(Duration::from_secs(2))
///     .connect("nats://127.0.0.1:4222")
///     .await?;
/// let client = EchoerClient::from_client(client);
/// assert_eq!(client.echo(Echo { text: "over the broker".into() }).await?, "over the broker");
/// running.run_until_ctrl_c().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NatsTransport {
    options: Options,
}

/// What servers and clients of one transport share.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) prefix: String,
    pub(crate) queue_group: String,
    pub(crate) link_idle: Duration,
    pub(crate) client_event_queue: usize,
    pub(crate) store_events: bool,
    pub(crate) event_retention: Duration,
    pub(crate) ack_wait: Duration,
}

impl Default for NatsTransport {
    fn default() -> Self {
        Self {
            options: Options {
                prefix: DEFAULT_PREFIX.to_owned(),
                queue_group: DEFAULT_QUEUE_GROUP.to_owned(),
                link_idle: DEFAULT_LINK_IDLE,
                client_event_queue: DEFAULT_CLIENT_EVENT_QUEUE,
                store_events: false,
                event_retention: DEFAULT_EVENT_RETENTION,
                ack_wait: DEFAULT_ACK_WAIT,
            },
        }
    }
}

pub(crate) fn transport() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(NatsTransport::default())))
}

impl NatsTransport {
    /// A transport with the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first tokens of every subject (`mb` by default), e.g. `acme.prod` to keep two
    /// deployments apart on one broker. Servers and clients must use the same prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// The queue group of every endpoint (`q` by default): replicas in one group share the
    /// requests; replicas in different groups each get every request.
    #[must_use]
    pub fn queue_group(mut self, group: impl Into<String>) -> Self {
        self.options.queue_group = group.into();
        self
    }

    /// How long a server keeps the link of a client it has not heard from (5 minutes by
    /// default); events sent to that client meanwhile still reach it.
    #[must_use]
    pub fn link_idle(mut self, idle: Duration) -> Self {
        self.options.link_idle = idle;
        self
    }

    /// How many events may wait for a client's subscribers (8192 by default) before the
    /// client is closed as a slow consumer.
    #[must_use]
    pub fn client_event_queue(mut self, events: usize) -> Self {
        self.options.client_event_queue = events;
        self
    }

    /// Stores the events of the contracts a server serves in a JetStream stream (off by
    /// default), so that durable subscribers ([`NatsTransport::durable`]) get the events
    /// published while they were down. The broker needs JetStream on (`nats-server -js`).
    #[must_use]
    pub fn store_events(mut self, store: bool) -> Self {
        self.options.store_events = store;
        self
    }

    /// How long the stream keeps stored events (7 days by default).
    #[must_use]
    pub fn event_retention(mut self, retention: Duration) -> Self {
        self.options.event_retention = retention;
        self
    }

    /// How long a durable subscriber has to acknowledge an event before it is delivered
    /// again (30 s by default).
    #[must_use]
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.options.ack_wait = wait;
        self
    }

    /// The stored events of `contract` on the broker at `address`, to subscribe to durably
    /// ([`DurableEvents::subscribe`]); makes the stream if no server made it yet.
    ///
    /// # Errors
    /// An address or option the transport cannot work with, a broker that cannot be reached
    /// or has no JetStream.
    pub async fn durable(
        &self,
        address: &str,
        contract: &str,
    ) -> Result<DurableEvents, TransportError> {
        self.check()?;
        service::check_name(contract)
            .map_err(|reason| TransportError::InvalidOption { option: "contract", reason })?;
        let broker = connect_broker(address, "messaging-runtime durable subscriber", None).await?;
        DurableEvents::open(broker, contract, &self.options).await
    }

    fn check(&self) -> Result<(), TransportError> {
        let invalid = |option, reason| Err(TransportError::InvalidOption { option, reason });
        if let Err(reason) = subjects::check_prefix(&self.options.prefix) {
            return invalid("prefix", reason);
        }
        if let Err(reason) = subjects::check_token("the queue group", &self.options.queue_group) {
            return invalid("queue_group", reason);
        }
        if self.options.link_idle.is_zero() {
            return invalid("link_idle", "must be more than zero, found 0 s".to_owned());
        }
        if self.options.ack_wait.is_zero() {
            return invalid("ack_wait", "must be more than zero, found 0 s".to_owned());
        }
        if self.options.client_event_queue == 0 {
            return invalid("client_event_queue", "must be at least 1, found 0".to_owned());
        }
        Ok(())
    }
}

/// The broker addresses of `nats://host:port[,host:port...]`, as `async-nats` takes them.
fn parse(address: &str) -> Result<Vec<String>, TransportError> {
    let invalid = |reason: &str| {
        TransportError::InvalidAddress {
        address: address.to_owned(),
        reason: format!(
            "{reason}; expected `nats://HOST:PORT`, or several `HOST:PORT` joined by `,` for a cluster"
        ),
    }
    };
    let rest = address.strip_prefix("nats://").ok_or_else(|| invalid("not a `nats://` address"))?;
    if rest.contains('/') {
        return Err(invalid("a NATS address has no path (subjects come from the contract)"));
    }
    rest.split(',')
        .map(|server| match server.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(format!("nats://{server}"))
            }
            _ => Err(invalid(&format!("`{server}` is not `HOST:PORT`"))),
        })
        .collect()
}

/// Connects to the broker, failing at once when it cannot be reached. Once connected, a
/// server's connection reconnects by itself (and resubscribes) for as long as the process
/// runs; a client's is given `lost`, told when the connection drops, so that the client
/// fails its waiting calls at once and reconnects as its options say, like over a socket.
async fn connect_broker(
    address: &str,
    name: &str,
    lost: Option<Arc<tokio::sync::Notify>>,
) -> Result<async_nats::Client, TransportError> {
    let servers = parse(address)?;
    let servers = servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::InvalidAddress {
            address: address.to_owned(),
            reason: e.to_string(),
        })?;
    let mut options =
        async_nats::ConnectOptions::new().name(name).connection_timeout(Duration::from_secs(5));
    if let Some(lost) = lost {
        // The client redials by itself (its `reconnect` option): the connection that dropped
        // must not come back on its own and keep subscriptions nobody reads.
        options = options.max_reconnects(1).event_callback(move |event| {
            if matches!(event, async_nats::Event::Disconnected | async_nats::Event::Closed) {
                lost.notify_one();
            }
            std::future::ready(())
        });
    }
    options.connect(servers).await.map_err(|e| {
        TransportError::Io(format!("cannot reach the NATS server at `{address}`: {e}"))
    })
}

/// `bytes` random bytes as hex, for ids that name (a client, a service instance) and do
/// not authenticate: without OS randomness the clock stands in.
pub(crate) fn random_id(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    if getrandom::fill(&mut random).is_err() {
        let now = crate::context::now_millis().to_le_bytes();
        random.iter_mut().zip(now.iter().cycle()).for_each(|(b, n)| *b = *n);
    }
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns once the broker has handled everything this connection sent before (its
/// subscriptions and unsubscriptions): a message sent to a fresh inbox comes back. A flush
/// alone does not promise it (it may be answered by a PONG already on its way).
pub(crate) async fn sync_with_broker(broker: &async_nats::Client) -> Result<(), TransportError> {
    let failed = |e: &dyn std::fmt::Display| TransportError::Io(format!("nats: {e}"));
    let inbox = broker.new_inbox();
    let mut echo = broker.subscribe(inbox.clone()).await.map_err(|e| failed(&e))?;
    broker.publish(inbox, "".into()).await.map_err(|e| failed(&e))?;
    match tokio::time::timeout(SYNC_WAIT, futures_util::StreamExt::next(&mut echo)).await {
        Ok(Some(_)) => Ok(()),
        _ => Err(failed(&format!("the broker did not answer within {SYNC_WAIT:?}"))),
    }
}

/// How long [`sync_with_broker`] waits.
const SYNC_WAIT: Duration = Duration::from_secs(5);

#[async_trait]
impl Transport for NatsTransport {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    async fn bind(&self, address: &str) -> Result<Box<dyn Listener>, TransportError> {
        self.check()?;
        let broker = connect_broker(address, "messaging-runtime server", None).await?;
        Ok(Box::new(server::NatsListener::new(broker, address, self.options.clone())))
    }

    async fn connect(&self, address: &str) -> Result<ClientLink, TransportError> {
        self.connect_to(address, None).await
    }

    async fn connect_to(
        &self,
        address: &str,
        contract: Option<&str>,
    ) -> Result<ClientLink, TransportError> {
        self.check()?;
        let Some(contract) = contract else {
            return Err(TransportError::InvalidOption {
                option: "contract",
                reason: "a `nats://` client must name the contract it calls (its subjects start \
                         with it): connect with `{Trait}Client::connect`, or \
                         `Client::builder().contract(\"name\")`"
                    .to_owned(),
            });
        };
        if let Err(reason) = subjects::check_token("the contract name", contract) {
            return Err(TransportError::InvalidOption { option: "contract", reason });
        }
        let lost = Arc::new(tokio::sync::Notify::new());
        let name = format!("messaging-runtime client of {contract}");
        let broker = connect_broker(address, &name, Some(Arc::clone(&lost))).await?;
        client::start(broker, contract, self.options.clone(), lost).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_one_or_more_brokers() {
        assert_eq!(parse("nats://127.0.0.1:4222").expect("one"), ["nats://127.0.0.1:4222"]);
        assert_eq!(parse("nats://a:1,b:2").expect("two"), ["nats://a:1", "nats://b:2"]);
        for bad in ["nats://", "nats://host", "nats://h:99999", "nats://h:1/orders", "ws://h:1"] {
            let err = parse(bad).expect_err(bad).to_string();
            assert!(err.contains("expected `nats://HOST:PORT`"), "{err}");
        }
    }

    #[test]
    fn options_are_checked() {
        for (transport, option) in [
            (NatsTransport::new().prefix("a..b"), "prefix"),
            (NatsTransport::new().queue_group("a b"), "queue_group"),
            (NatsTransport::new().link_idle(Duration::ZERO), "link_idle"),
            (NatsTransport::new().client_event_queue(0), "client_event_queue"),
        ] {
            let Err(TransportError::InvalidOption { option: found, .. }) = transport.check() else {
                panic!("{option} should be refused");
            };
            assert_eq!(found, option);
        }
    }
}
