//! The examples' users and roles: an argon2-backed [`MemoryAuthProvider`] seeded with two
//! demo users, and the [`AccessPolicy`] the order and user contracts' permissions are checked
//! against.
//!
//! | role     | grants                      | inherits |
//! |----------|-----------------------------|----------|
//! | `viewer` | `orders:read`, `users:read` |          |
//! | `editor` | `orders:*`, `users:*`       |          |
//! | `admin`  |                             | `editor` |
//!
//! | user    | password         | roles    | may                                  |
//! |---------|------------------|----------|--------------------------------------|
//! | `alice` | [`ALICE_PASSWORD`] | `admin`  | every order and user request         |
//! | `bob`   | [`BOB_PASSWORD`]   | `viewer` | `getOrderById`, `getUserById` only   |
//!
//! The passwords are demo constants so the examples can log in; the provider keeps only
//! their argon2id hashes (a real deployment would load PHC strings with
//! [`MemoryAuthProvider::add_hashed_user`] and never see a password outside `$login`).
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

use messaging_runtime::auth::{AccessPolicy, AuthError, HashCost, MemoryAuthProvider};
use messaging_runtime::Actor;

/// The demo password of `alice` (role `admin`).
pub const ALICE_PASSWORD: &str = "alice-wonderland-42";

/// The demo password of `bob` (role `viewer`).
pub const BOB_PASSWORD: &str = "bob-the-viewer-42";

/// The role table above: `viewer` reads orders and users, `editor` does anything to them,
/// `admin` inherits `editor`.
pub fn demo_policy() -> AccessPolicy {
    AccessPolicy::builder()
        .grant("viewer", ["orders:read", "users:read"])
        .grant("editor", ["orders:*", "users:*"])
        .inherit("admin", ["editor"])
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

/// `alice` (`admin`) and `bob` (`viewer`), hashed at argon2id's recommended cost; sessions
/// last an hour.
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
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use contracts::order::OrderServiceContract;
    use contracts::user::UserServiceContract;
    use messaging_runtime::auth::{AuthProvider, Credentials};
    use messaging_runtime::Contract;

    use super::*;

    /// Which requests of the order and user contracts `actor` may send, by wire name.
    fn allowed(policy: &AccessPolicy, actor: &Actor) -> Vec<&'static str> {
        [OrderServiceContract::DESCRIPTOR, UserServiceContract::DESCRIPTOR]
            .iter()
            .flat_map(|c| c.requests)
            .filter(|r| r.permission.is_none_or(|p| policy.allows(actor, p)))
            .map(|r| r.name)
            .collect()
    }

    #[tokio::test]
    async fn alice_may_do_everything_and_bob_only_read() {
        let auth = demo_provider_with(HashCost::LOW).expect("hashes");
        let policy = demo_policy();
        let alice = auth.login(Credentials::new("alice", ALICE_PASSWORD)).await.expect("alice");
        let alice = auth.verify(&alice.token).await.expect("verifies");
        let bob = auth.login(Credentials::new("bob", BOB_PASSWORD)).await.expect("bob");
        let bob = auth.verify(&bob.token).await.expect("verifies");
        assert_eq!(
            allowed(&policy, &alice),
            [
                "createOrder",
                "getOrderById",
                "updateOrderStatus",
                "cancelOrder",
                "createUser",
                "getUserById"
            ]
        );
        assert_eq!(allowed(&policy, &bob), ["getOrderById", "getUserById"]);
        assert_eq!(
            policy.check(&bob, "orders:write"),
            Err(AuthError::Forbidden { permission: "orders:write".into() })
        );
    }

    #[tokio::test]
    async fn wrong_passwords_are_refused() {
        let auth = demo_provider_with(HashCost::LOW).expect("hashes");
        let refused = auth.login(Credentials::new("bob", ALICE_PASSWORD)).await;
        assert_eq!(refused, Err(AuthError::InvalidCredentials));
    }
}
