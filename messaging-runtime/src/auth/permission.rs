//! Permission strings: `orders:write`, `orders:*`, `*`.
//!
//! A permission is one or more segments separated by `:`. A segment is either made of
//! `a-z`, `0-9`, `_` and `-`, or is exactly `*`. The same rule is checked at compile time by
//! `#[permission("...")]` on a contract method: both use the one function of the
//! `messaging-rules` crate.
//!
//! A *granted* permission implies a *required* one segment by segment: a literal segment
//! matches only itself, a `*` segment matches any one segment, and a `*` in the last position
//! matches one or more remaining segments. So `*` implies everything, `orders:*` implies
//! `orders:write` and `orders:items:write` (but not `orders` alone), and `*:read` implies
//! `orders:read`. A required permission is read literally: requiring `orders:*` is satisfied
//! only by a grant of `orders:*` or `*`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a permission looks like, for error messages.
pub const PERMISSION_SHAPE: &str = "segments of `a-z`, `0-9`, `_` or `-` (or a whole `*`) \
     separated by `:`, like \"orders:write\", \"orders:*\" or \"*\"";

pub use messaging_rules::check_permission;

/// A permission string that follows the rule of [`check_permission`].
///
/// # Examples
///
/// ```
/// use messaging_runtime::Permission;
///
/// let granted = Permission::parse("orders:*")?;
/// assert!(granted.implies("orders:write"));
/// assert!(!granted.implies("products:write"));
/// assert!(Permission::parse("Orders Write").is_err(), "lower-case segments separated by `:`");
/// # Ok::<(), messaging_runtime::auth::PermissionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission(String);

/// A string that is not a valid [`Permission`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionError {
    /// The string as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PermissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid permission \"{}\": {}; expected {PERMISSION_SHAPE}",
            self.value, self.reason
        )
    }
}

impl std::error::Error for PermissionError {}

impl Permission {
    /// Parses and validates a permission.
    ///
    /// # Errors
    ///
    /// [`PermissionError`] when `value` breaks the rule of [`check_permission`].
    pub fn parse(value: impl Into<String>) -> Result<Self, PermissionError> {
        let value = value.into();
        match check_permission(&value) {
            Ok(()) => Ok(Self(value)),
            Err(reason) => Err(PermissionError { value, reason }),
        }
    }

    /// The permission as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether holding `self` grants `required` (see the module docs for the wildcard rules).
    /// `required` is compared as written; a malformed `required` is granted only by `*`.
    pub fn implies(&self, required: &str) -> bool {
        implies(&self.0, required)
    }
}

/// Whether the granted pattern `granted` implies `required`, segment by segment.
pub(crate) fn implies(granted: &str, required: &str) -> bool {
    if granted == "*" {
        return true;
    }
    let mut wanted = required.split(':');
    let mut grants = granted.split(':').peekable();
    while let Some(grant) = grants.next() {
        let Some(segment) = wanted.next() else { return false };
        if grant == "*" {
            if grants.peek().is_none() {
                return true;
            }
        } else if grant != segment {
            return false;
        }
    }
    wanted.next().is_none()
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Permission {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Permission {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lower_case_segments_and_whole_segment_wildcards() {
        for ok in ["*", "orders", "orders:write", "orders:*", "*:read", "a-b_c:9", "x:*:y"] {
            assert!(Permission::parse(ok).is_ok(), "{ok} is valid");
        }
    }

    #[test]
    fn rejects_malformed_permissions_saying_what_is_wrong() {
        let cases = [
            ("", "empty"),
            ("orders:", "empty segment"),
            (":orders", "empty segment"),
            ("orders::write", "empty segment"),
            ("Orders:write", "upper-case letter `O`"),
            ("orders:wr*", "mixes `*`"),
            ("orders write", "whitespace"),
            ("orders.write", "character `.`"),
        ];
        for (bad, reason) in cases {
            let err = Permission::parse(bad).expect_err(bad);
            assert!(err.reason.contains(reason), "{bad}: {}", err.reason);
            assert!(err.to_string().contains("expected segments of"), "{err}");
        }
    }

    #[test]
    fn wildcards_match_one_segment_or_the_rest_when_last() {
        let grants = |g: &str, r: &str| Permission::parse(g).expect("valid").implies(r);
        assert!(grants("*", "orders:write"));
        assert!(grants("*", "anything:at:all"));
        assert!(grants("orders:*", "orders:write"));
        assert!(grants("orders:*", "orders:items:write"));
        assert!(grants("orders:*", "orders:*"));
        assert!(!grants("orders:*", "orders"));
        assert!(!grants("orders:*", "users:read"));
        assert!(grants("*:read", "orders:read"));
        assert!(!grants("*:read", "orders:write"));
        assert!(!grants("*:read", "orders:items:read"));
        assert!(grants("orders:write", "orders:write"));
        assert!(!grants("orders:write", "orders:read"));
        assert!(!grants("orders:write", "orders:write:all"));
        assert!(!grants("orders:write", "orders"));
        assert!(!grants("orders:read", "orders:*"), "a required wildcard is literal");
    }

    #[test]
    fn serde_validates() {
        let p: Permission = serde_json::from_str("\"orders:*\"").expect("valid");
        assert_eq!(serde_json::to_string(&p).expect("ok"), "\"orders:*\"");
        assert!(serde_json::from_str::<Permission>("\"Orders\"").is_err());
    }
}
