//! The contract snapshots and the compatibility check: the committed snapshot of each
//! contract allows the contract as it is now (the CI guard), one test per rule of the
//! direction-aware check (each changes a copy of a snapshot and expects that rule), the
//! version bump each severity needs, and the `export` example's `snapshot` and `diff`.

#[path = "../support/process.rs"]
mod process;
mod rules;

use std::time::Duration;

use messaging_runtime::contract::compat::{self, Rule, Severity};
use messaging_runtime::contract::snapshot::Snapshot;
use serde_json::{json, Value};

/// The snapshot of a contract of this repository, as it is now.
pub(crate) fn current(name: &str) -> Snapshot {
    let descriptor = contracts::by_name(name).expect("a contract of this repository");
    Snapshot::of_descriptor(descriptor).expect("every type derives JsonSchema")
}

/// The order service's snapshot as it is now, labelled version 1.0.0, so the version
/// arithmetic of the tests below does not depend on the contract's current version.
fn orders_at_one() -> Snapshot {
    changed(&current("order-service"), "1.0.0", |_| {})
}

/// A copy of `snapshot` changed by `edit` on its JSON form, with `version`.
pub(crate) fn changed(
    snapshot: &Snapshot,
    version: &str,
    edit: impl FnOnce(&mut Value),
) -> Snapshot {
    let mut value = serde_json::to_value(snapshot).expect("a snapshot is JSON");
    edit(&mut value);
    value["version"] = json!(version);
    serde_json::from_value(value).expect("still a snapshot")
}

/// Fails the CI when a contract changed without the version bump its changes need. The
/// committed snapshot is the last released one: after a release, refresh it with
/// `cargo run -p examples --example export -- <name> snapshot > contracts/src/<name>.snapshot.json`.
#[test]
fn the_committed_snapshots_allow_the_contracts_as_they_are() {
    for descriptor in contracts::ALL {
        let path = contracts::snapshot_path(descriptor.name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no committed snapshot {}: {e}", path.display()));
        let committed = Snapshot::from_json(&text).expect("a snapshot");
        let report = compat::check(&committed, &current(descriptor.name));
        let changes: Vec<String> = report.changes.iter().map(ToString::to_string).collect();
        assert!(
            report.is_ok(),
            "{}: {}\nchanges:\n  {}",
            descriptor.name,
            report.problems.join("\n"),
            changes.join("\n  ")
        );
    }
}

#[test]
fn a_breaking_change_needs_a_major_bump() {
    let old = orders_at_one();
    let drop = |v: &mut Value| {
        v["requests"].as_array_mut().expect("requests").retain(|r| r["name"] != "cancelOrder");
    };
    let report = compat::check(&old, &changed(&old, "1.1.0", drop));
    assert_eq!(report.severity(), Some(Severity::Breaking));
    assert_eq!(
        report.problems,
        ["breaking: request cancelOrder: the request is gone (removing a request breaks the \
          clients that send it): a breaking change needs a major version bump, but 1.0.0 → \
          1.1.0 is a minor bump"]
    );
    assert!(compat::check(&old, &changed(&old, "2.0.0", drop)).is_ok());
}

#[test]
fn a_compatible_change_needs_a_minor_bump() {
    let old = orders_at_one();
    let add = |v: &mut Value| {
        let mut extra = v["events"][0].clone();
        extra["name"] = json!("orderArchived");
        v["events"].as_array_mut().expect("events").push(extra);
    };
    let report = compat::check(&old, &changed(&old, "1.0.1", add));
    assert_eq!(report.severity(), Some(Severity::Compatible));
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0]
        .contains("needs a minor version bump, but 1.0.0 → 1.0.1 is a patch bump"));
    assert!(compat::check(&old, &changed(&old, "1.1.0", add)).is_ok());
}

#[test]
fn before_one_zero_zero_a_minor_bump_is_a_major_one() {
    let old = changed(&current("order-service"), "0.3.0", |_| {});
    let drop = |v: &mut Value| {
        v["events"].as_array_mut().expect("events").clear();
    };
    assert!(compat::check(&old, &changed(&old, "0.4.0", drop)).is_ok());
    assert!(!compat::check(&old, &changed(&old, "0.3.1", drop)).is_ok());
}

#[test]
fn a_version_that_goes_down_or_does_not_parse_is_refused() {
    let old = current("user-service");
    let report = compat::check(&old, &changed(&old, "0.9.0", |_| {}));
    assert_eq!(report.problems, ["the version went down from 1.0.0 to 0.9.0"]);
    let report = compat::check(&old, &changed(&old, "one", |_| {}));
    assert_eq!(
        report.problems,
        ["`one` is not a version: expected `major.minor.patch`, like `1.2.0`"]
    );
}

#[test]
fn documentation_and_templates_need_no_bump() {
    let old = orders_at_one();
    let new = changed(&old, "1.0.0", |v| {
        v["definitions"]["Order"]["description"] = json!("An order, reworded.");
        v["errors"][0]["template"] = json!("No order {orderId}");
    });
    let report = compat::check(&old, &new);
    let rules: Vec<Rule> = report.changes.iter().map(|c| c.rule).collect();
    assert_eq!(rules, [Rule::DocumentationChanged, Rule::ErrorTemplateChanged]);
    assert!(report.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_example_prints_snapshots_and_diffs_them() {
    let dir = process::build_examples(&["export"], Duration::from_secs(600)).await;
    let export = dir.join(format!("export{}", std::env::consts::EXE_SUFFIX));
    let printed = run(&export, &["order-service", "snapshot"]).await;
    assert_eq!(printed.0, Some(0), "{}", printed.1);
    let snapshot = Snapshot::from_json(&printed.1).expect("a snapshot");
    assert_eq!(snapshot, current("order-service"));
    let old =
        std::env::temp_dir().join(format!("order-service-{}.snapshot.json", std::process::id()));
    let newer = changed(&snapshot, &snapshot.version, |v| {
        v["definitions"]["Order"]["properties"]
            .as_object_mut()
            .expect("properties")
            .remove("legacyCode");
        v["definitions"]["Order"]["properties"]["legacyCode"] = json!({ "type": "string" });
        v["definitions"]["Order"]["required"]
            .as_array_mut()
            .expect("required")
            .push(json!("legacyCode"));
    });
    std::fs::write(&old, newer.to_pretty_json()).expect("write the old snapshot");
    let path = old.to_str().expect("a UTF-8 path");
    let (code, out) = run(&export, &["order-service", "diff", path]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("breaking: response of createOrder.legacyCode: the field is gone"),
        "{out}"
    );
    std::fs::write(&old, snapshot.to_pretty_json()).expect("write the same snapshot");
    let (code, out) = run(&export, &["order-service", "diff", path]).await;
    assert_eq!(code, Some(0), "{out}");
    let _ = std::fs::remove_file(&old);
    let (code, out) = run(&export, &["no-such-service", "snapshot"]).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unknown contract `no-such-service`"), "{out}");
}

/// Runs `program ARGS` to its end (within a minute): its exit code, and its stdout (or,
/// when it fails, its transcript with stderr).
async fn run(program: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(program);
    command.args(args);
    let mut child = process::ChildProcess::spawn("export", command);
    let status =
        child.wait_exit(Duration::from_secs(60)).await.expect("export ends within a minute");
    let out = if status.success() { child.seen().join("\n") } else { child.transcript() };
    (status.code(), out)
}
