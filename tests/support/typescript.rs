//! The generated TypeScript of the contracts, for the tests that run it: written under
//! `tests/node/generated/<tag>/` (so `zod` resolves from `tests/node/node_modules`),
//! type-checked with `tsc --strict --noEmit`, then compiled to JavaScript for Node.
//!
//! Needs Node and `tests/node`'s dependencies (`npm ci --prefix tests/node`, which
//! `.ci/install` runs); without them the test fails and says so.

#![allow(
    dead_code,
    reason = "each test target that includes this module uses a different part of it"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use messaging_runtime::contract::snapshot::Snapshot;
use messaging_runtime::contract::typescript::typescript_of;
use messaging_runtime::ContractDescriptor;

use crate::process::ChildProcess;

/// Bounds each `tsc` and `node` run.
pub(crate) const RUN: Duration = Duration::from_secs(120);

/// `tests/node`.
pub(crate) fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Fails with what to do when Node or a dependency of `tests/node` is missing.
pub(crate) fn require_node_modules(packages: &[&str]) {
    let setup = "run `.ci/install` (or `npm ci --prefix tests/node`) from the repository root";
    for package in packages {
        let path = node_dir().join("node_modules").join(package);
        assert!(
            path.is_dir(),
            "this test needs npm package `{package}` ({} is missing): {setup}",
            path.display()
        );
    }
}

/// Runs `node ARGS` in `tests/node`; fails the test with the transcript unless it exits 0.
/// Returns the lines it printed.
pub(crate) async fn node(what: &str, args: &[&str]) -> Vec<String> {
    let mut command = Command::new("node");
    command.current_dir(node_dir()).args(args);
    let mut child = ChildProcess::spawn(what, command);
    let status = child.wait_exit(RUN).await;
    let transcript = child.transcript();
    match status {
        Some(status) if status.success() => child.seen().to_vec(),
        Some(status) => panic!("{what} failed ({status})\n{transcript}"),
        None => panic!("{what} did not finish within {RUN:?}\n{transcript}"),
    }
}

/// Writes the TypeScript of `contracts` to `tests/node/generated/<tag>/<name>.ts`, checks
/// it with `tsc --strict --noEmit`, compiles it to `<tag>/js/<name>.js`, and returns that
/// directory (relative to `tests/node`).
pub(crate) async fn compile(tag: &str, contracts: &[&'static ContractDescriptor]) -> String {
    require_node_modules(&["typescript", "zod"]);
    let dir = node_dir().join("generated").join(tag);
    std::fs::create_dir_all(&dir).expect("create tests/node/generated");
    let mut files = Vec::new();
    for descriptor in contracts {
        let snapshot = Snapshot::of_descriptor(descriptor).expect("the contract has schemas");
        let file = format!("generated/{tag}/{}.ts", descriptor.name);
        std::fs::write(node_dir().join(&file), typescript_of(&snapshot)).expect("write the .ts");
        files.push(file);
    }
    let common = [
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
    ];
    let tsc = "node_modules/typescript/bin/tsc";
    let mut check = vec![tsc, "--noEmit"];
    check.extend(common);
    check.extend(files.iter().map(String::as_str));
    node("tsc --strict --noEmit", &check).await;
    let out = format!("generated/{tag}/js");
    let mut emit = vec![tsc, "--outDir", out.as_str()];
    emit.extend(common);
    emit.extend(files.iter().map(String::as_str));
    node("tsc (emit)", &emit).await;
    out
}
