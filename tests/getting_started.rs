//! The README's Getting started, followed as a newcomer would: its `[dependencies]` block and
//! its `main.rs` block copied into a new crate outside the workspace, built and run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A cold build of the runtime and its dependencies takes minutes on two cores.
const BUILD_AND_RUN: Duration = Duration::from_secs(20 * 60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_owned()
}

/// The body of the first fenced block opening with `fence` in `text`.
fn block<'a>(text: &'a str, fence: &str) -> &'a str {
    let start = text.find(fence).unwrap_or_else(|| panic!("no {fence} block")) + fence.len();
    let body = &text[start..];
    let body = body.strip_prefix('\n').unwrap_or(body);
    &body[..body.find("\n```").unwrap_or_else(|| panic!("the {fence} block is not closed"))]
}

/// Waits for `child`, at most `limit`; kills it past that.
fn wait_bounded(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    while child.try_wait().expect("the child can be polled").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("building and running the getting-started crate took over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().expect("the child's output")
}

#[test]
fn the_readmes_getting_started_builds_and_runs_in_a_crate_outside_the_workspace() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("the README");
    let section = readme.split("\n## Getting started\n").nth(1).expect("a Getting started section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let dependencies = block(section, "```toml");
    let main = block(section, "```rust");
    assert!(dependencies.starts_with("[dependencies]"), "{dependencies}");

    let dir =
        std::env::temp_dir().join(format!("messaging-getting-started-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("a crate directory");
    // The one substitution: the README's path to a clone next to the new crate.
    let runtime = root.join("messaging-runtime");
    let dependencies =
        dependencies.replace("../messaging/messaging-runtime", &runtime.to_string_lossy());
    let manifest = format!(
        "[package]\nname = \"hello-messaging\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n# Not part of any workspace above it.\n[workspace]\n\n{dependencies}\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::write(dir.join("src/main.rs"), main).expect("main.rs");
    // The workspace's versions, so nothing new is downloaded; cargo trims the rest.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // A target directory of its own: the workspace's is locked by the running `cargo test`.
    let target = root.join("target").join("getting-started");
    let child = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let output = wait_bounded(child, BUILD_AND_RUN);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the crate failed ({}):\n{stdout}\n{stderr}", output.status);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some("hello, world"), "{stdout}");
    assert_eq!(lines.get(1).copied(), Some("event: greeted world"), "{stdout}");
    let error = lines.get(2).copied().unwrap_or_default();
    assert!(error.starts_with("error: ") && error.contains("a name cannot be empty"), "{stdout}");
    assert!(!stderr.contains("warning"), "the newcomer's crate builds without warnings:\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
