//! The examples' users and roles: an argon2-backed [`MemoryAuthProvider`] seeded with two
//! human demo users and four service accounts, the [`AccessPolicy`] the contracts'
//! permissions are checked against, and [`StayLoggedIn`], which keeps a service's link to
//! another service logged in across reconnections.
//!
//! | role           | grants                                   | inherits |
//! |----------------|------------------------------------------|----------|
//! | `viewer`       | `orders:read`, `users:read`              |          |
//! | `editor`       | `orders:*`, `users:*`, `products:*`      |          |
//! | `admin`        |                                          | `editor` |
//! | `stock-keeper` | `products:write`                         |          |
//! | `simulator`    | `orders:write`, `products:write`         | `viewer` |
//!
//! | user                   | password                                  | roles          |
//! |------------------------|-------------------------------------------|----------------|
//! | `alice`                | [`ALICE_PASSWORD`]                        | `admin`        |
//! | `bob`                  | [`BOB_PASSWORD`]                          | `viewer`       |
//! | `order-service`        | `$DEMO_ORDER_SERVICE_PASSWORD` or its demo default        | `stock-keeper` |
//! | `notification-service` | `$DEMO_NOTIFICATION_SERVICE_PASSWORD` or its demo default | `viewer`       |
//! | `gateway`              | `$DEMO_GATEWAY_PASSWORD` or its demo default              | `viewer`       |
//! | `dashboard`            | `$DEMO_DASHBOARD_PASSWORD` or its demo default            | `simulator`    |
//!
//! The service accounts' passwords are read from the environment ([`ServiceAccount::password`])
//! by both sides: the server that seeds the account and the service that logs in with it; the
//! demo defaults ([`ServiceAccount::default_password`]) let the examples run as they are.
//! Passwords are never printed. The provider keeps only argon2id hashes (a real deployment
//! would load PHC strings with [`MemoryAuthProvider::add_hashed_user`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use messaging_runtime::auth::{AuthProvider, Credentials};
//!
//! let auth = examples::auth::demo_provider()?;
//! let policy = examples::auth::demo_policy();
//! let bob = auth.login(Credentials::new("bob", examples::auth::BOB_PASSWORD)).await?;
//! let actor = auth.verify(&bob.token).await?;
//! assert!(policy.allows(&actor, "orders:read"));
//! assert!(!policy.allows(&actor, "orders:write"));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::signed_tokens::SignedTokens;
use std::time::Duration;

use messaging_runtime::auth::{
    AccessPolicy, AuthError, Credentials, HashCost, MemoryAuthProvider, Session,
};
use messaging_runtime::{Actor, CallError, Client, ConnectionStatus, Server};
use tokio::task::JoinHandle;

/// The demo password of `alice` (role `admin`).
pub const ALICE_PASSWORD: &str = "alice-wonderland-42";

/// The demo password of `bob` (role `viewer`).
pub const BOB_PASSWORD: &str = "bob-the-viewer-42";

/// A service's own account: the order service, the notification service, the API gateway
/// and the dashboard each log in to the services they call with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAccount {
    /// The user name, e.g. `order-service`.
    pub username: &'static str,
    /// The environment variable holding the password, e.g. `DEMO_ORDER_SERVICE_PASSWORD`.
    pub env: &'static str,
    /// The password when [`ServiceAccount::env`] is unset or empty: a demo value, public in
    /// this source and the README, so set the variable for anything but a demo.
    pub default_password: &'static str,
    /// The roles of the account.
    pub roles: &'static [&'static str],
}

impl ServiceAccount {
    /// The password: the variable [`ServiceAccount::env`] when set and not empty, else the
    /// demo default.
    pub fn password(&self) -> String {
        match std::env::var(self.env) {
            Ok(password) if !password.is_empty() => password,
            _ => self.default_password.to_owned(),
        }
    }

    /// The account's user name and [`password`](Self::password), for `$login`.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.username, self.password())
    }
}

/// The order service: reserves and releases stock in the product service.
pub const ORDER_SERVICE: ServiceAccount = ServiceAccount {
    username: "order-service",
    env: "DEMO_ORDER_SERVICE_PASSWORD",
    default_password: "order-service-demo-password",
    roles: &["stock-keeper"],
};

/// The notification service: reads orders.
pub const NOTIFICATION_SERVICE: ServiceAccount = ServiceAccount {
    username: "notification-service",
    env: "DEMO_NOTIFICATION_SERVICE_PASSWORD",
    default_password: "notification-service-demo-password",
    roles: &["viewer"],
};

/// The API gateway: reads orders for HTTP callers that send no token of their own.
pub const GATEWAY: ServiceAccount = ServiceAccount {
    username: "gateway",
    env: "DEMO_GATEWAY_PASSWORD",
    default_password: "gateway-demo-password",
    roles: &["viewer"],
};

/// The dashboard: reads orders, and its simulator places, moves and restocks them.
pub const DASHBOARD: ServiceAccount = ServiceAccount {
    username: "dashboard",
    env: "DEMO_DASHBOARD_PASSWORD",
    default_password: "dashboard-demo-password",
    roles: &["simulator"],
};

/// Every service account, as seeded by [`demo_provider`].
pub const SERVICE_ACCOUNTS: [ServiceAccount; 4] =
    [ORDER_SERVICE, NOTIFICATION_SERVICE, GATEWAY, DASHBOARD];

/// The role table above.
pub fn demo_policy() -> AccessPolicy {
    AccessPolicy::builder()
        .grant("viewer", ["orders:read", "users:read"])
        .grant("editor", ["orders:*", "users:*", "products:*"])
        .inherit("admin", ["editor"])
        .grant("stock-keeper", ["products:write"])
        .grant("simulator", ["orders:write", "products:write"])
        .inherit("simulator", ["viewer"])
        .build()
        .unwrap_or_else(|e| unreachable!("the demo role table is valid: {e}"))
}

/// A user actor with `roles`.
pub fn user(id: &str, roles: &[&str]) -> Actor {
    Actor {
        id: id.to_owned(),
        kind: "user".to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        permissions: Vec::new(),
    }
}

/// A service actor with `roles`.
fn service(account: &ServiceAccount) -> Actor {
    Actor { kind: "service".to_owned(), ..user(account.username, account.roles) }
}

/// `alice` (`admin`), `bob` (`viewer`) and the [`SERVICE_ACCOUNTS`], hashed at argon2id's
/// recommended cost; sessions last an hour.
///
/// # Errors
///
/// [`AuthError::Internal`] when hashing fails (no system randomness).
pub fn demo_provider() -> Result<MemoryAuthProvider, AuthError> {
    demo_provider_with(HashCost::RECOMMENDED)
}

/// [`demo_provider`] hashing at `cost` ([`HashCost::LOW`] keeps tests fast).
///
/// # Errors
///
/// [`AuthError::Internal`] when hashing fails.
pub fn demo_provider_with(cost: HashCost) -> Result<MemoryAuthProvider, AuthError> {
    let auth = MemoryAuthProvider::new().with_hash_cost(cost);
    auth.add_user("alice", ALICE_PASSWORD, user("alice", &["admin"]))?;
    auth.add_user("bob", BOB_PASSWORD, user("bob", &["viewer"]))?;
    for account in &SERVICE_ACCOUNTS {
        auth.add_user(account.username, &account.password(), service(account))?;
    }
    Ok(auth)
}

/// The actor of every demo user and service account, by username.
pub fn demo_actors() -> std::collections::HashMap<String, Actor> {
    let mut actors = std::collections::HashMap::from([
        ("alice".to_owned(), user("alice", &["admin"])),
        ("bob".to_owned(), user("bob", &["viewer"])),
    ]);
    for account in &SERVICE_ACCOUNTS {
        actors.insert(account.username.to_owned(), service(account));
    }
    actors
}

/// How the demo services authenticate: one [`demo_provider`] checks passwords, its sessions
/// travel as [`SignedTokens`] (so a token issued by one server, or by one replica of a
/// service behind `nats://`, verifies on the others that share the secret), and the
/// [`demo_policy`] says who may do what.
#[derive(Debug, Clone)]
pub struct DemoAuth {
    provider: Arc<MemoryAuthProvider>,
    tokens: Arc<SignedTokens>,
    policy: AccessPolicy,
}

impl DemoAuth {
    /// The demo users hashed at argon2id's recommended cost.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when hashing fails.
    pub fn new() -> Result<Self, AuthError> {
        Self::with_cost(HashCost::RECOMMENDED)
    }

    /// The demo users hashed at `cost`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] when hashing fails.
    pub fn with_cost(cost: HashCost) -> Result<Self, AuthError> {
        let provider = Arc::new(demo_provider_with(cost)?);
        let tokens = Arc::new(SignedTokens::new(Arc::clone(&provider), demo_actors()));
        Ok(Self { provider, tokens, policy: demo_policy() })
    }

    /// The provider that checks the demo users' passwords (its own sessions are closed at
    /// once: the demo hands out [`SignedTokens`] instead).
    pub fn provider(&self) -> &MemoryAuthProvider {
        &self.provider
    }

    /// `server` answering `$login`/`$logout` with the demo users and checking every declared
    /// permission against the demo policy: a request that declares one needs a login.
    pub fn secure(&self, server: Server) -> Server {
        server.auth(Arc::clone(&self.tokens)).access(self.policy.clone())
    }
}

/// How long [`StayLoggedIn`] waits before trying a failed login again, at first and at most.
const RELOGIN_DELAYS: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Keeps a client logged in: a session is bound to one connection (and a restarted service
/// knows none of the old tokens), so each time the link reconnects it logs in again. Stops
/// when dropped.
#[derive(Debug)]
pub struct StayLoggedIn(JoinHandle<()>);

impl StayLoggedIn {
    /// Logs `client` in with `credentials` now, then again after every reconnection.
    ///
    /// # Errors
    ///
    /// The first login's error (wrong credentials, a server without auth, a lost link).
    pub async fn start(
        client: &Client,
        credentials: Credentials,
    ) -> Result<(Self, Session), CallError<AuthError>> {
        let session = client.login(credentials.clone()).await?;
        let task = tokio::spawn(relogin_on_reconnect(client.clone(), credentials));
        Ok((Self(task), session))
    }
}

impl Drop for StayLoggedIn {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn relogin_on_reconnect(client: Client, credentials: Credentials) {
    let mut status = client.watch_status();
    let mut was_down = false;
    while status.changed().await.is_ok() {
        let now = *status.borrow_and_update();
        match now {
            ConnectionStatus::Connected if was_down => {
                was_down = false;
                login_until_done(&client, &credentials).await;
            }
            ConnectionStatus::Connected => {}
            ConnectionStatus::Error | ConnectionStatus::Disconnected => return,
            _ => was_down = true,
        }
    }
}

/// Logs in, trying again with a growing delay while the link is up and the login fails.
async fn login_until_done(client: &Client, credentials: &Credentials) {
    let mut delay = RELOGIN_DELAYS.0;
    loop {
        match client.login(credentials.clone()).await {
            Ok(_) => return,
            Err(e) if client.status() == ConnectionStatus::Connected => {
                eprintln!(
                    "{}: logging in again to {} failed: {e}",
                    credentials.username,
                    client.address()
                );
            }
            // The link went down again: the next reconnection logs in.
            Err(_) => return,
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RELOGIN_DELAYS.1);
    }
}

#[cfg(test)]
mod tests {
    use contracts::order::OrderServiceContract;
    use contracts::product::ProductServiceContract;
    use contracts::user::UserServiceContract;
    use messaging_runtime::auth::{AuthProvider, Credentials};
    use messaging_runtime::Contract;

    use super::*;

    /// Which requests of the order, product and user contracts `actor` may send, by wire name.
    fn allowed(policy: &AccessPolicy, actor: &Actor) -> Vec<&'static str> {
        [
            OrderServiceContract::DESCRIPTOR,
            ProductServiceContract::DESCRIPTOR,
            UserServiceContract::DESCRIPTOR,
        ]
        .iter()
        .flat_map(|c| c.requests)
        .filter(|r| r.permission.is_some_and(|p| policy.allows(actor, p)))
        .map(|r| r.name)
        .collect()
    }

    async fn actor(auth: &MemoryAuthProvider, username: &str, password: &str) -> Actor {
        let session = auth.login(Credentials::new(username, password)).await.expect("logs in");
        auth.verify(&session.token).await.expect("verifies")
    }

    #[tokio::test]
    async fn each_user_may_send_what_its_roles_grant() {
        let auth = demo_provider_with(HashCost::LOW).expect("hashes");
        let policy = demo_policy();
        let alice = actor(&auth, "alice", ALICE_PASSWORD).await;
        let mut every = vec!["createOrder", "getOrderById", "updateOrderStatus", "cancelOrder"];
        every.extend(["reserveProduct", "releaseProduct", "createUser", "getUserById"]);
        assert_eq!(allowed(&policy, &alice), every);
        let bob = actor(&auth, "bob", BOB_PASSWORD).await;
        assert_eq!(allowed(&policy, &bob), ["getOrderById", "getUserById"]);
        assert_eq!(
            policy.check(&bob, "orders:write"),
            Err(AuthError::Forbidden { permission: "orders:write".into() })
        );
        let expected: [(&ServiceAccount, &[&str]); 4] = [
            (&ORDER_SERVICE, &["reserveProduct", "releaseProduct"]),
            (&NOTIFICATION_SERVICE, &["getOrderById", "getUserById"]),
            (&GATEWAY, &["getOrderById", "getUserById"]),
            (
                &DASHBOARD,
                &[
                    "createOrder",
                    "getOrderById",
                    "updateOrderStatus",
                    "cancelOrder",
                    "reserveProduct",
                    "releaseProduct",
                    "getUserById",
                ],
            ),
        ];
        for (account, requests) in expected {
            let actor = actor(&auth, account.username, account.default_password).await;
            assert_eq!(actor.kind, "service");
            assert_eq!(allowed(&policy, &actor), requests, "{}", account.username);
        }
    }

    #[tokio::test]
    async fn wrong_passwords_are_refused() {
        let auth = demo_provider_with(HashCost::LOW).expect("hashes");
        let refused = auth.login(Credentials::new("bob", ALICE_PASSWORD)).await;
        assert_eq!(refused, Err(AuthError::InvalidCredentials));
        let refused = auth.login(Credentials::new("gateway", ORDER_SERVICE.default_password)).await;
        assert_eq!(refused, Err(AuthError::InvalidCredentials));
    }

    #[test]
    fn service_passwords_default_to_the_demo_values() {
        // The variables are not set where the tests run.
        for account in SERVICE_ACCOUNTS {
            assert!(account.env.starts_with("DEMO_") && account.env.ends_with("_PASSWORD"));
            if std::env::var_os(account.env).is_none() {
                assert_eq!(account.password(), account.default_password);
            }
        }
    }
}
