//! Authentication and access control.
//!
//! - [`AuthProvider`]: logs users in (credentials → [`Session`]), verifies tokens (token →
//!   [`Actor`]) and logs them out. [`MemoryAuthProvider`] keeps argon2 password hashes and
//!   sessions in memory.
//! - [`AccessPolicy`]: roles that grant [`Permission`]s (with `*` wildcards) and inherit other
//!   roles; `policy.allows(actor, "orders:write")`.
//! - The wire: `$login` ([`LoginRequest`] → [`LoginResponse`]) and `$logout`
//!   ([`LogoutRequest`] → `()`) are ordinary request types; every [`AuthError`] becomes a
//!   [`WireError`] (`UNAUTHENTICATED` 401, `FORBIDDEN` 403).

mod access;
#[cfg(feature = "auth")]
mod hashing;
#[cfg(feature = "auth")]
mod memory;
mod permission;
mod wire_error;

use core::fmt;

use serde::{Deserialize, Serialize};

pub use access::{AccessPolicy, AccessPolicyBuilder, PolicyError};
#[cfg(feature = "auth")]
pub use hashing::DEFAULT_HASH_WAIT;
#[cfg(feature = "auth")]
pub use memory::{hash_password, Clock, HashCost, MemoryAuthProvider};
pub use permission::{check_permission, Permission, PermissionError, PERMISSION_SHAPE};

use crate::context::Actor;
use crate::contract::Request;
use crate::error::{codes, WireError};

/// Who may call: logs in with credentials, verifies the tokens it issued, logs them out.
///
/// The server calls [`verify`](Self::verify) on each request (or once per connection after
/// `$login`) and hands the handler the actor it returns, never one the client supplied.
#[async_trait::async_trait]
pub trait AuthProvider: Send + Sync + 'static {
    /// Checks the credentials and opens a session.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidCredentials`] for an unknown user or a wrong password (the two are
    /// not told apart), [`AuthError::Internal`] when the provider itself fails.
    async fn login(&self, credentials: Credentials) -> Result<Session, AuthError>;

    /// The actor a live session's token stands for.
    ///
    /// # Errors
    ///
    /// [`AuthError::UnknownToken`] for a token never issued or logged out,
    /// [`AuthError::ExpiredToken`] for a session past its expiry.
    async fn verify(&self, token: &str) -> Result<Actor, AuthError>;

    /// Ends the session; the token no longer verifies.
    ///
    /// # Errors
    ///
    /// [`AuthError::UnknownToken`] for a token that opens no session.
    async fn logout(&self, token: &str) -> Result<(), AuthError>;
}

/// One provider shared by several servers (instances behind one address, or a server and
/// the one that replaces it after a restart): a session opened on one verifies on the others.
#[async_trait::async_trait]
impl<T: AuthProvider + ?Sized> AuthProvider for std::sync::Arc<T> {
    async fn login(&self, credentials: Credentials) -> Result<Session, AuthError> {
        (**self).login(credentials).await
    }

    async fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        (**self).verify(token).await
    }

    async fn logout(&self, token: &str) -> Result<(), AuthError> {
        (**self).logout(token).await
    }
}

/// What a user logs in with; the payload of `$login`. Fields other than `username` and
/// `password` (a tenant, a one-time code, ...) are kept in `extra` for providers that need
/// them. `Debug` never shows the password.
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
/// use messaging_runtime::auth::{Credentials, HashCost, MemoryAuthProvider};
/// use messaging_runtime::{AccessPolicy, Actor};
///
/// let users = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
/// let ada = Actor { id: "ada".into(), kind: "user".into(), roles: vec!["echoer".into()], ..Actor::default() };
/// users.add_user("ada", "analytical engine", ada)?;
/// let policy = AccessPolicy::builder().grant("echoer", ["echo:*"]).build()?;
/// let _running = Server::bind("memory://doc-login")
///     .await?
///     .serve(EchoerServer::new(Parrot))
///     .auth(users)
///     .access(policy)
///     .start()
///     .await?;
/// let client = EchoerClient::connect("memory://doc-login").await?;
/// // Every later request carries the session's token; the server verifies it each time.
/// let session = client.inner().login(Credentials::new("ada", "analytical engine")).await?;
/// assert_eq!(session.actor.id, "ada");
/// assert_eq!(client.echo(Echo { text: "signed in".into() }).await?, "signed in");
/// client.inner().logout().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password, in clear: it is only ever hashed or compared, never stored.
    pub password: String,
    /// Any other field sent with the login.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Credentials {
    /// A user name and password, nothing else.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: password.into(), extra: serde_json::Map::new() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("extra", &self.extra)
            .finish()
    }
}

/// An open session: the bearer token, who it stands for and when it expires. The answer of
/// `$login` (wire: `{"token", "actor", "expiresAt"}`). `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The bearer token to send in `context.auth.token`.
    pub token: String,
    /// The verified actor.
    pub actor: Actor,
    /// When the session expires, in milliseconds since the Unix epoch.
    pub expires_at: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("actor", &self.actor)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The payload of `$login`.
pub type LoginRequest = Credentials;

/// The answer of `$login`.
pub type LoginResponse = Session;

/// The wire name of the login request.
pub const LOGIN: &str = "$login";

/// The wire name of the logout request.
pub const LOGOUT: &str = "$logout";

impl Request for Credentials {
    const NAME: &'static str = LOGIN;
    type Response = Session;
}

/// The payload of `$logout`: the token to end, or (when absent) the one the request carries
/// in `context.auth.token` or the session bound to the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    /// The token to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Request for LogoutRequest {
    const NAME: &'static str = LOGOUT;
    type Response = ();
}

/// Why a caller is not let in. Each variant has a wire form ([`AuthError::to_wire`]) whose
/// `details.reason` tells the cases apart.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown user or wrong password (deliberately not told apart).
    InvalidCredentials,
    /// The request carries no token and the connection has no session.
    MissingToken,
    /// The token was never issued, or was logged out.
    UnknownToken,
    /// The session expired.
    ExpiredToken,
    /// The actor lacks the permission the request requires.
    Forbidden {
        /// The required permission.
        permission: String,
    },
    /// The provider failed (hashing, randomness, a backing store).
    Internal(String),
    /// Too many logins at once: every password hashing slot is taken and none came free in
    /// time (`OVERLOADED`, 503). Try again shortly.
    Overloaded,
    /// Too many logins at once on one connection (`TOO_MANY_ATTEMPTS`, 429).
    TooManyAttempts {
        /// How long to wait before trying again, in milliseconds.
        retry_after_ms: u64,
    },
    /// The request carries a caller's token that another service passed on
    /// ([`crate::server::Context::forward_with_credentials`]), and this server did not opt
    /// in to such tokens ([`crate::Server::accept_forwarded_credentials`]).
    ForwardedCredentialsRefused,
}

impl AuthError {
    /// The wire code: `UNAUTHENTICATED`, `FORBIDDEN`, `INTERNAL_ERROR`, `OVERLOADED` or
    /// `TOO_MANY_ATTEMPTS`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden { .. } => codes::FORBIDDEN,
            Self::Internal(_) => codes::INTERNAL_ERROR,
            Self::Overloaded => codes::OVERLOADED,
            Self::TooManyAttempts { .. } => codes::TOO_MANY_ATTEMPTS,
            _ => codes::UNAUTHENTICATED,
        }
    }

    /// The status: 401, 403, 500, 503 or 429.
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden { .. } => 403,
            Self::Internal(_) => 500,
            Self::Overloaded => 503,
            Self::TooManyAttempts { .. } => 429,
            _ => 401,
        }
    }

    /// The machine-readable reason carried in `details.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalidCredentials",
            Self::MissingToken => "missingToken",
            Self::UnknownToken => "unknownToken",
            Self::ExpiredToken => "expiredToken",
            Self::Forbidden { .. } => "missingPermission",
            Self::Internal(_) => "providerFailed",
            Self::Overloaded => "hashingBusy",
            Self::TooManyAttempts { .. } => "tooManyLogins",
            Self::ForwardedCredentialsRefused => "forwardedCredentialsRefused",
        }
    }

    /// The wire error: code, status, this error's message and `details.reason` (plus
    /// `details.permission` for [`AuthError::Forbidden`]).
    pub fn to_wire(&self) -> WireError {
        let details = match self {
            Self::Forbidden { permission } => {
                serde_json::json!({ "reason": self.reason(), "permission": permission })
            }
            Self::TooManyAttempts { retry_after_ms } => {
                serde_json::json!({ "reason": self.reason(), "retryAfterMs": retry_after_ms })
            }
            _ => serde_json::json!({ "reason": self.reason() }),
        };
        WireError::new(self.code(), self.status(), self.to_string()).with_details(details)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCredentials => f.write_str("invalid username or password"),
            Self::MissingToken => f.write_str(
                "authentication required: log in with `$login` or send a token in `context.auth.token`",
            ),
            Self::UnknownToken => {
                f.write_str("the token is not valid (never issued or logged out): log in again")
            }
            Self::ExpiredToken => f.write_str("the session has expired: log in again"),
            Self::Forbidden { permission } => {
                write!(f, "permission denied: this request requires `{permission}`")
            }
            Self::Internal(m) => write!(f, "authentication failed: {m}"),
            Self::Overloaded => f.write_str(
                "too many logins at once: every password hashing slot is busy, try again shortly",
            ),
            Self::TooManyAttempts { retry_after_ms } => write!(
                f,
                "too many logins at once on this connection: try again in {retry_after_ms} ms"
            ),
            Self::ForwardedCredentialsRefused => f.write_str(
                "this service does not accept a caller's token passed on by another service: \
                 call it with the calling service's own login (`cx.forward()`), or opt this \
                 service in with `Server::accept_forwarded_credentials`",
            ),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for WireError {
    fn from(error: AuthError) -> Self {
        error.to_wire()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_payload_and_answer_use_the_wire_names() {
        let json = r#"{"username":"alice","password":"pw","tenant":"acme"}"#;
        let credentials: LoginRequest = serde_json::from_str(json).expect("decodes");
        assert_eq!(credentials.extra["tenant"], "acme");
        assert!(!format!("{credentials:?}").contains("pw\""), "Debug hides the password");
        assert_eq!(<LoginRequest as Request>::NAME, "$login");
        assert_eq!(<LogoutRequest as Request>::NAME, "$logout");
        let session = Session { token: "t".into(), actor: Actor::default(), expires_at: 5 };
        let wire = serde_json::to_value(&session).expect("encodes");
        assert_eq!(wire["expiresAt"], 5);
        assert_eq!(wire["token"], "t");
        assert!(!format!("{session:?}").contains("\"t\""), "Debug hides the token");
        assert_eq!(serde_json::to_string(&LogoutRequest::default()).expect("ok"), "{}");
    }

    #[test]
    fn errors_become_401_or_403_with_a_reason() {
        let wire = WireError::from(AuthError::ExpiredToken);
        assert_eq!((wire.code.as_str(), wire.status), ("UNAUTHENTICATED", Some(401)));
        assert_eq!(wire.details.as_ref().map(|d| d["reason"].clone()), Some("expiredToken".into()));
        assert!(wire.message.contains("expired"));
        let wire = AuthError::Forbidden { permission: "orders:write".into() }.to_wire();
        assert_eq!((wire.code.as_str(), wire.status), ("FORBIDDEN", Some(403)));
        assert!(wire.message.contains("`orders:write`"));
        assert_eq!(
            wire.details.as_ref().map(|d| d["permission"].clone()),
            Some("orders:write".into())
        );
        assert_eq!(AuthError::InvalidCredentials.to_wire().status, Some(401));
        assert_eq!(AuthError::Internal("x".into()).to_wire().code, "INTERNAL_ERROR");
    }
}
