//! The client's [`CallError`], transport and publishing errors; the wire error and the
//! runtime's codes come from [`crate::wire`], below everything else, and are re-exported here.

use core::fmt;
use core::time::Duration;

use crate::contract::ErrorCode;
pub use crate::wire::{codes, WireError};

/// What a typed client call can fail with: the contract's own error `E`, kept apart from
/// everything the runtime or the transport can go wrong with.
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
/// # let _running = Server::bind("memory://doc-call-error").await?.serve(EchoerServer::new(Parrot)).start().await?;
/// let client = EchoerClient::connect("memory://doc-call-error").await?;
/// match client.echo(Echo { text: String::new() }).await {
///     // The contract's own error, typed.
///     Err(CallError::Contract(EchoError::Empty)) => {}
///     // The runtime's: a timeout, a lost connection, a refused login, ...
///     Err(CallError::Timeout(after)) => panic!("no answer within {after:?}"),
///     other => panic!("expected `Empty`, got {other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The server answered with one of the contract's errors.
    Contract(E),
    /// No response arrived within the timeout.
    Timeout(Duration),
    /// The connection was lost (or never there) before the response arrived.
    Disconnected,
    /// The server has no handler for the request type.
    UnknownRequestType(String),
    /// The server could not decode the request, or the client could not decode the response.
    InvalidPayload(String),
    /// The request broke the contract's validation rules: every failing field, with its rule.
    /// The client checks before sending (so this needs no round trip); the server checks too.
    Validation(crate::validation::ValidationFailure),
    /// The server failed with an error that is not in the contract (details in the wire error).
    Internal(WireError),
    /// The request needs a verified caller and had none: no token, or an unknown or expired
    /// one (`UNAUTHENTICATED`, 401). Log in and try again.
    Unauthenticated(WireError),
    /// The verified caller lacks the permission the request requires (`FORBIDDEN`, 403;
    /// `details.permission` names it).
    Forbidden(WireError),
    /// No server serves the request right now (`NO_RESPONDERS`, 503): over `nats://`,
    /// nobody subscribes to the request's subject. Reported at once, not at the timeout.
    NoResponders(WireError),
}

impl<E: ErrorCode> CallError<E> {
    /// Sorts a wire error into the contract's typed error or a runtime error.
    pub fn from_wire(error: WireError) -> Self {
        if let Some(typed) = E::from_wire(&error) {
            return Self::Contract(typed);
        }
        match error.code.as_str() {
            codes::UNKNOWN_REQUEST_TYPE => Self::UnknownRequestType(error.message),
            codes::INVALID_PAYLOAD => Self::InvalidPayload(error.message),
            codes::UNAUTHENTICATED => Self::Unauthenticated(error),
            codes::FORBIDDEN => Self::Forbidden(error),
            codes::NO_RESPONDERS => Self::NoResponders(error),
            codes::VALIDATION_ERROR => {
                match crate::validation::ValidationFailure::from_wire(&error) {
                    Some(failure) => Self::Validation(failure),
                    None => Self::Internal(error),
                }
            }
            _ => Self::Internal(error),
        }
    }
}

impl<E> CallError<E> {
    /// The contract error, if that is what this is.
    pub fn contract(&self) -> Option<&E> {
        match self {
            Self::Contract(e) => Some(e),
            _ => None,
        }
    }

    /// The contract error by value, if that is what this is.
    pub fn into_contract(self) -> Option<E> {
        match self {
            Self::Contract(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Contract(e) => fmt::Display::fmt(e, f),
            Self::Timeout(d) => write!(f, "no response within {} ms", d.as_millis()),
            Self::Disconnected => {
                f.write_str("the connection was lost before the response arrived")
            }
            Self::UnknownRequestType(m) | Self::InvalidPayload(m) => f.write_str(m),
            Self::Validation(failure) => fmt::Display::fmt(failure, f),
            Self::Internal(e) => write!(f, "internal error: {e}"),
            Self::Unauthenticated(e) => write!(f, "not authenticated: {}", e.message),
            Self::Forbidden(e) => write!(f, "forbidden: {}", e.message),
            Self::NoResponders(e) => f.write_str(&e.message),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for CallError<E> {}

/// Binding a server or connecting a client failed.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use messaging_runtime::{Client, TransportError};
///
/// match Client::connect("memory://nobody-here").await {
///     Err(TransportError::NotFound(address)) => assert_eq!(address, "memory://nobody-here"),
///     other => panic!("expected `NotFound`, got {other:?}"),
/// }
/// let Err(error) = Client::connect("carrier-pigeon://coop").await else { panic!("unknown scheme") };
/// assert!(error.to_string().contains("expected one of the schemes"), "{error}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The address could not be parsed.
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What was wrong, and what is accepted.
        reason: String,
    },
    /// No transport is registered for the address's scheme.
    UnsupportedScheme {
        /// The address as given.
        address: String,
        /// The schemes that are registered.
        supported: Vec<&'static str>,
    },
    /// A server is already bound at the address.
    AddressInUse(String),
    /// Nothing listens at the address.
    NotFound(String),
    /// The connection is closed.
    Closed,
    /// The server refused the connection (for example, it has as many connections as it
    /// allows: [`crate::Server::max_connections`]).
    Refused {
        /// The address as given.
        address: String,
        /// Why, as the server said.
        reason: String,
    },
    /// Any other I/O failure.
    Io(String),
    /// A client or transport option is set to a value it cannot work with.
    InvalidOption {
        /// The option, as the builder names it (e.g. `reconnect.factor`, or
        /// `handshake_timeout` on [`crate::transport::ws::WsTransport`]).
        option: &'static str,
        /// What was wrong, and what is accepted.
        reason: String,
    },
    /// The server does not serve a version of the contract this client was built for
    /// (the version handshake: [`crate::contract::handshake`]).
    IncompatibleContract {
        /// The contract name.
        contract: String,
        /// The version the client was built with.
        client_version: String,
        /// The version the server serves; `None` when it does not serve the contract.
        server_version: Option<String>,
        /// Why, as the server said.
        reason: String,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidAddress { address, reason } => {
                write!(f, "invalid address `{address}`: {reason}")
            }
            Self::UnsupportedScheme { address, supported } => write!(
                f,
                "no transport for address `{address}`: expected one of the schemes {}",
                supported.iter().map(|s| format!("`{s}://`")).collect::<Vec<_>>().join(", ")
            ),
            Self::AddressInUse(a) => write!(f, "address `{a}` is already bound by another server"),
            Self::NotFound(a) => write!(f, "no server is bound at `{a}`"),
            Self::Closed => f.write_str("the connection is closed"),
            Self::Refused { address, reason } => {
                write!(f, "the server at `{address}` refused the connection: {reason}")
            }
            Self::Io(m) => write!(f, "transport i/o error: {m}"),
            Self::InvalidOption { option, reason } => {
                write!(f, "invalid option `{option}`: {reason}")
            }
            Self::IncompatibleContract { contract, client_version, server_version, reason } => {
                match server_version {
                    Some(served) => write!(
                        f,
                        "incompatible contract `{contract}`: this client was built for version \
                         {client_version}, the server serves version {served}: {reason}"
                    ),
                    None => write!(
                        f,
                        "incompatible contract `{contract}`: this client was built for version \
                         {client_version}: {reason}"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for TransportError {}

/// Publishing an event failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The server is not running.
    NotRunning,
    /// No client with this id is connected.
    UnknownClient(String),
    /// The connection to the peer is closed.
    Closed,
    /// The client did not take its events fast enough: its queue was full, and it was
    /// disconnected ([`crate::Server::outbound_queue`]).
    SlowConsumer(String),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning => f.write_str("the server is not running"),
            Self::UnknownClient(id) => write!(f, "no client with id `{id}` is connected"),
            Self::SlowConsumer(id) => {
                write!(f, "client `{id}` did not take its events fast enough and was disconnected")
            }
            Self::Closed => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for PublishError {}
