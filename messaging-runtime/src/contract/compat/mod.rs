//! Compares two snapshots of a contract: every change, the rule it falls under and its
//! severity, and whether the version was bumped enough for it.
//!
//! The rules are direction-aware. A request payload is *sent* by clients: it may gain
//! optional fields but not required ones, and may not narrow what it accepts. A response,
//! an event and an error's details are *received* by clients: a field may not disappear,
//! change type or become optional, and no enum variant may be added, since the generated
//! clients reject what they do not know (zod enums and serde enums both fail on an unknown
//! variant). Removing a request, an event or an error code is breaking; adding one is not
//! (an unknown error code reaches a Rust client as `CallError::Internal`, a TypeScript
//! client as an error object with that code).

mod keywords;
mod rules;
mod walk;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use rules::Rule;

use super::snapshot::Snapshot;

/// How much a change matters to the peers of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing a peer can notice (documentation, message templates): any version.
    Patch,
    /// Old peers keep working: needs at least a minor version bump.
    Compatible,
    /// Old peers can fail: needs a major version bump (a minor one before 1.0.0).
    Breaking,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Patch => "patch",
            Self::Compatible => "compatible",
            Self::Breaking => "breaking",
        })
    }
}

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// How much it matters.
    pub severity: Severity,
    /// The rule it falls under.
    pub rule: Rule,
    /// Where: the message, then the path inside it, e.g. `request createOrder: items[].quantity`.
    pub path: String,
    /// What changed, in words.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {} ({})", self.severity, self.path, self.detail, self.rule.text())
    }
}

/// Every change from `old` to `new`, in the order of the contract (requests, events, errors).
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    walk::top_level(old, new, &mut changes);
    changes
}

/// The outcome of [`check`]: the changes, and what is wrong with the version bump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every change.
    pub changes: Vec<Change>,
    /// Each problem with the versions, naming the change that needs a larger bump; empty
    /// when the new version is fine.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the new version may be released as it is.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The most severe change, if any.
    pub fn severity(&self) -> Option<Severity> {
        self.changes.iter().map(|c| c.severity).max()
    }
}

/// Compares `old` with `new` and checks the version: a breaking change needs a major bump
/// (a minor one while the major is 0), a compatible change at least a minor bump (a patch
/// one while the major is 0), and the version may not go down.
pub fn check(old: &Snapshot, new: &Snapshot) -> Report {
    let changes = diff(old, new);
    let mut problems = Vec::new();
    if old.name != new.name {
        problems.push(format!(
            "the snapshots are of different contracts: `{}` and `{}`",
            old.name, new.name
        ));
    }
    match (Version::parse(&old.version), Version::parse(&new.version)) {
        (Ok(from), Ok(to)) => version_problems(from, to, &changes, &mut problems),
        (Err(e), _) | (_, Err(e)) => problems.push(e),
    }
    Report { changes, problems }
}

fn version_problems(from: Version, to: Version, changes: &[Change], problems: &mut Vec<String>) {
    let have = from.bump_to(to);
    if to < from {
        problems.push(format!("the version went down from {from} to {to}"));
        return;
    }
    let mut worst: BTreeMap<Severity, &Change> = BTreeMap::new();
    for change in changes {
        worst.entry(change.severity).or_insert(change);
    }
    for (severity, change) in worst.into_iter().rev() {
        let need = from.needed(severity);
        if have < need {
            problems.push(format!(
                "{change}: a {severity} change needs a {need} version bump, but {from} → {to} is {}",
                have.describe()
            ));
        }
    }
}

/// A `major.minor.patch` version (anything after the patch number is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

/// The size of a version step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    /// Same version.
    None,
    /// Patch number.
    Patch,
    /// Minor number.
    Minor,
    /// Major number.
    Major,
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "no",
            Self::Patch => "patch",
            Self::Minor => "minor",
            Self::Major => "major",
        })
    }
}

impl Bump {
    fn describe(self) -> String {
        match self {
            Self::None => "the same version".to_owned(),
            other => format!("a {other} bump"),
        }
    }
}

impl Version {
    /// Parses `major.minor.patch`, with an optional `-pre` or `+build` tail.
    ///
    /// # Errors
    /// When `text` does not start with three dot-separated numbers.
    pub fn parse(text: &str) -> Result<Self, String> {
        let core = text.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<Result<u64, _>> = core.split('.').map(str::parse::<u64>).collect();
        match parts.as_slice() {
            [Ok(major), Ok(minor), Ok(patch)] => {
                Ok(Self { major: *major, minor: *minor, patch: *patch })
            }
            _ => Err(format!(
                "`{text}` is not a version: expected `major.minor.patch`, like `1.2.0`"
            )),
        }
    }

    /// The step from `self` to `to` (in the sense 0.x versions use: there a minor step is
    /// a major one).
    fn bump_to(self, to: Version) -> Bump {
        if to.major != self.major {
            Bump::Major
        } else if to.minor != self.minor {
            if self.major == 0 {
                Bump::Major
            } else {
                Bump::Minor
            }
        } else if to.patch != self.patch {
            if self.major == 0 {
                Bump::Minor
            } else {
                Bump::Patch
            }
        } else {
            Bump::None
        }
    }

    /// The step a change of this severity needs.
    fn needed(self, severity: Severity) -> Bump {
        match severity {
            Severity::Breaking => Bump::Major,
            Severity::Compatible => Bump::Minor,
            Severity::Patch => Bump::None,
        }
    }

    /// Whether a peer built for `self` can talk to one that serves `served`: same major
    /// (same minor while the major is 0), and `served` at least as new.
    pub fn is_served_by(self, served: Version) -> bool {
        let same_line = if self.major == 0 {
            served.major == 0 && served.minor == self.minor
        } else {
            served.major == self.major
        };
        same_line && served >= self
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
