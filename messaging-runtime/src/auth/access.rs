//! Access control: roles that grant permissions and inherit other roles.
//!
//! ```
//! use messaging_runtime::auth::AccessPolicy;
//! use messaging_runtime::Actor;
//!
//! let policy = AccessPolicy::builder()
//!     .grant("viewer", ["orders:read", "users:read"])
//!     .grant("editor", ["orders:*", "users:*"])
//!     .inherit("admin", ["editor"])
//!     .build()?;
//!
//! let bob = Actor { id: "bob".into(), kind: "user".into(), roles: vec!["viewer".into()], ..Actor::default() };
//! assert!(policy.allows(&bob, "orders:read"));
//! assert!(!policy.allows(&bob, "orders:write"));
//! # Ok::<(), messaging_runtime::auth::PolicyError>(())
//! ```

use core::fmt;
use std::collections::{BTreeMap, BTreeSet};

use super::permission::{self, Permission, PermissionError};
use super::AuthError;
use crate::context::Actor;

/// Which roles grant which permissions. Built once with [`AccessPolicy::builder`]; each
/// role's inherited roles are expanded at build time (cycles are allowed: the roles in a
/// cycle end up with each other's permissions), so a check only walks the actor's own roles.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Role name → every permission it grants, its own and inherited.
    expanded: BTreeMap<String, Vec<Permission>>,
    /// Role name → every role it is (itself included), for inspection.
    closure: BTreeMap<String, BTreeSet<String>>,
}

/// Collects roles for an [`AccessPolicy`]; errors are reported by [`build`](Self::build).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct AccessPolicyBuilder {
    roles: BTreeMap<String, Role>,
    errors: Vec<PolicyError>,
}

#[derive(Debug, Clone, Default)]
struct Role {
    permissions: Vec<Permission>,
    inherits: Vec<String>,
}

/// A policy that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// A role grants a malformed permission.
    InvalidPermission {
        /// The role.
        role: String,
        /// What is wrong.
        error: PermissionError,
    },
    /// A role inherits a role that is never defined.
    UnknownRole {
        /// The inheriting role.
        role: String,
        /// The role it names.
        inherits: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPermission { role, error } => write!(f, "role `{role}`: {error}"),
            Self::UnknownRole { role, inherits } => write!(
                f,
                "role `{role}` inherits `{inherits}`, which is not defined: give it permissions \
                 with `grant` or inherited roles with `inherit`"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

impl AccessPolicyBuilder {
    /// Role `role` grants `permissions` (added to any it already grants).
    pub fn grant<I, P>(mut self, role: &str, permissions: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let entry = self.roles.entry(role.to_owned()).or_default();
        for p in permissions {
            match Permission::parse(p.as_ref()) {
                Ok(p) => entry.permissions.push(p),
                Err(error) => {
                    self.errors.push(PolicyError::InvalidPermission { role: role.into(), error });
                }
            }
        }
        self
    }

    /// Role `role` inherits every permission of each of `parents` (transitively).
    pub fn inherit<I, R>(mut self, role: &str, parents: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: AsRef<str>,
    {
        let entry = self.roles.entry(role.to_owned()).or_default();
        entry.inherits.extend(parents.into_iter().map(|r| r.as_ref().to_owned()));
        self
    }

    /// Checks the roles and expands inheritance.
    ///
    /// # Errors
    ///
    /// The first malformed permission, or the first inherited role that is never defined.
    pub fn build(self) -> Result<AccessPolicy, PolicyError> {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        for (role, def) in &self.roles {
            if let Some(missing) = def.inherits.iter().find(|r| !self.roles.contains_key(*r)) {
                return Err(PolicyError::UnknownRole {
                    role: role.clone(),
                    inherits: missing.clone(),
                });
            }
        }
        let mut policy = AccessPolicy::default();
        for name in self.roles.keys() {
            // Depth-first over the inheritance graph; `seen` makes cycles terminate.
            let mut seen = BTreeSet::new();
            let mut stack = vec![name.as_str()];
            let mut permissions: Vec<Permission> = Vec::new();
            while let Some(current) = stack.pop() {
                if !seen.insert(current.to_owned()) {
                    continue;
                }
                if let Some(def) = self.roles.get(current) {
                    for p in &def.permissions {
                        if !permissions.contains(p) {
                            permissions.push(p.clone());
                        }
                    }
                    stack.extend(def.inherits.iter().map(String::as_str));
                }
            }
            policy.expanded.insert(name.clone(), permissions);
            policy.closure.insert(name.clone(), seen);
        }
        Ok(policy)
    }
}

impl AccessPolicy {
    /// Starts a policy.
    pub fn builder() -> AccessPolicyBuilder {
        AccessPolicyBuilder::default()
    }

    /// Whether `actor` holds `required`: through any of its roles (with everything they
    /// inherit) or one of its direct permissions. Roles the policy does not define grant
    /// nothing; a malformed direct permission grants nothing.
    pub fn allows(&self, actor: &Actor, required: &str) -> bool {
        let by_role = actor
            .roles
            .iter()
            .filter_map(|role| self.expanded.get(role))
            .flatten()
            .any(|p| p.implies(required));
        by_role
            || actor
                .permissions
                .iter()
                .filter(|p| permission::check_permission(p).is_ok())
                .any(|p| permission::implies(p, required))
    }

    /// [`allows`](Self::allows) as a result: `Err(AuthError::Forbidden)` naming the
    /// permission when the actor lacks it.
    ///
    /// # Errors
    ///
    /// [`AuthError::Forbidden`] (wire `FORBIDDEN`, 403).
    pub fn check(&self, actor: &Actor, required: &str) -> Result<(), AuthError> {
        if self.allows(actor, required) {
            Ok(())
        } else {
            Err(AuthError::Forbidden { permission: required.to_owned() })
        }
    }

    /// Every permission `role` grants, its own and inherited; empty for an unknown role.
    pub fn permissions_of(&self, role: &str) -> &[Permission] {
        self.expanded.get(role).map_or(&[], Vec::as_slice)
    }

    /// Every role `role` includes through inheritance, itself included; empty for an
    /// unknown role.
    pub fn roles_of(&self, role: &str) -> impl Iterator<Item = &str> + '_ {
        self.closure.get(role).into_iter().flatten().map(String::as_str)
    }

    /// The defined roles, in name order.
    pub fn roles(&self) -> impl Iterator<Item = &str> + '_ {
        self.expanded.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[&str], permissions: &[&str]) -> Actor {
        Actor {
            id: "u-1".into(),
            kind: "user".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn demo() -> AccessPolicy {
        AccessPolicy::builder()
            .grant("viewer", ["orders:read", "users:read"])
            .grant("editor", ["orders:*", "users:*"])
            .inherit("admin", ["editor"])
            .grant("root", ["*"])
            .build()
            .expect("valid policy")
    }

    #[test]
    fn wildcards_grant_what_they_cover_and_nothing_else() {
        let policy = demo();
        let editor = actor(&["editor"], &[]);
        assert!(policy.allows(&editor, "orders:write"));
        assert!(policy.allows(&editor, "orders:items:write"));
        assert!(policy.allows(&editor, "users:read"));
        assert!(!policy.allows(&editor, "billing:read"));
        let root = actor(&["root"], &[]);
        assert!(policy.allows(&root, "billing:refund"));
    }

    #[test]
    fn exact_permissions_deny_everything_else() {
        let policy = demo();
        let viewer = actor(&["viewer"], &[]);
        assert!(policy.allows(&viewer, "orders:read"));
        assert!(!policy.allows(&viewer, "orders:write"));
        assert!(!policy.allows(&viewer, "orders"));
        assert_eq!(
            policy.check(&viewer, "orders:write"),
            Err(AuthError::Forbidden { permission: "orders:write".into() })
        );
    }

    #[test]
    fn inheritance_chains_are_followed() {
        let policy = AccessPolicy::builder()
            .grant("reader", ["docs:read"])
            .grant("writer", ["docs:write"])
            .inherit("writer", ["reader"])
            .grant("owner", ["docs:delete"])
            .inherit("owner", ["writer"])
            .inherit("admin", ["owner"])
            .build()
            .expect("valid");
        let admin = actor(&["admin"], &[]);
        for p in ["docs:read", "docs:write", "docs:delete"] {
            assert!(policy.allows(&admin, p), "admin inherits {p}");
        }
        assert!(!policy.allows(&actor(&["writer"], &[]), "docs:delete"), "no upward grant");
        let roles: Vec<&str> = policy.roles_of("admin").collect();
        assert_eq!(roles, ["admin", "owner", "reader", "writer"]);
        assert_eq!(policy.permissions_of("admin").len(), 3);
        assert!(policy.allows(&actor(&["admin"], &[]), "docs:read"));
        assert!(demo().allows(&actor(&["admin"], &[]), "orders:write"), "admin inherits editor");
    }

    #[test]
    fn cycles_terminate_and_share_permissions() {
        let policy = AccessPolicy::builder()
            .grant("a", ["x:1"])
            .inherit("a", ["b"])
            .grant("b", ["x:2"])
            .inherit("b", ["c"])
            .grant("c", ["x:3"])
            .inherit("c", ["a"])
            .inherit("self", ["self"])
            .build()
            .expect("cycles are allowed");
        for role in ["a", "b", "c"] {
            for p in ["x:1", "x:2", "x:3"] {
                assert!(policy.allows(&actor(&[role], &[]), p), "{role} has {p}");
            }
        }
        assert!(!policy.allows(&actor(&["self"], &[]), "x:1"));
    }

    #[test]
    fn direct_permissions_count_and_malformed_ones_grant_nothing() {
        let policy = demo();
        let direct = actor(&[], &["reports:*"]);
        assert!(policy.allows(&direct, "reports:monthly"));
        assert!(!policy.allows(&direct, "orders:read"));
        let mixed = actor(&["viewer"], &["orders:write"]);
        assert!(policy.allows(&mixed, "orders:write"));
        assert!(policy.allows(&mixed, "users:read"));
        let malformed = actor(&[], &["ORDERS:*", "orders:**"]);
        assert!(!policy.allows(&malformed, "orders:read"));
    }

    #[test]
    fn unknown_roles_and_no_roles_are_denied() {
        let policy = demo();
        assert!(!policy.allows(&actor(&["ghost"], &[]), "orders:read"));
        assert!(!policy.allows(&actor(&[], &[]), "orders:read"));
        assert!(!AccessPolicy::default().allows(&actor(&["admin"], &[]), "orders:read"));
    }

    #[test]
    fn build_reports_malformed_permissions_and_undefined_parents() {
        let err = AccessPolicy::builder().grant("x", ["Orders:read"]).build().expect_err("bad");
        assert!(
            err.to_string().starts_with("role `x`: invalid permission \"Orders:read\""),
            "{err}"
        );
        let err = AccessPolicy::builder().inherit("admin", ["editr"]).build().expect_err("bad");
        assert_eq!(
            err,
            PolicyError::UnknownRole { role: "admin".into(), inherits: "editr".into() }
        );
    }
}
