//! Interop with the TypeScript clients: `tests/node/interop.mjs` runs against the Rust order
//! service over `ws://` and must pass every check, and against the live dashboard (its
//! requests, its typed error, and the order events it forwards live). Its typed requests
//! and events go through the client generated from the Rust contracts
//! (`typescript()`, compiled with `tsc --strict`): typed errors with code, message, status
//! and details; createOrder with its orderCreated event; a payload refused by zod before
//! sending. A raw client of the TypeScript adapter's wire protocol sends what the generated
//! one cannot (BAD_MESSAGE, INVALID_PAYLOAD, UNKNOWN_REQUEST_TYPE answers). Neither sends
//! the version handshake, and the servers serve them.
//!
//! Needs Node and `tests/node`'s dependencies: `.ci/install` (or `npm ci --prefix tests/node`).
//! Without them the test fails and says so.

#[path = "support/process.rs"]
mod process;
#[path = "support/typescript.rs"]
mod typescript;

use std::process::Command;
use std::time::Duration;

use messaging_runtime::Contract;
use process::ChildProcess;
use typescript::node_dir;

/// Bounds the whole Node run (the client cuts itself off after 30 s).
const RUN: Duration = Duration::from_secs(60);

/// Fails with what to do when Node or the client's dependencies are missing.
async fn require_node() {
    let setup = "run `npm ci --prefix tests/node` from the repository root (Node 18 or later)";
    let mut command = Command::new("node");
    command.arg("--version");
    let works = match ChildProcess::try_spawn("node --version", command) {
        Ok(mut version) => version.wait_exit(RUN).await.is_some_and(|status| status.success()),
        Err(_) => false,
    };
    assert!(works, "the Node interop test needs `node` on the PATH: install Node, then {setup}");
    let ws = node_dir().join("node_modules").join("ws");
    assert!(
        ws.is_dir(),
        "the Node interop test needs the client's dependencies ({} is missing): {setup}",
        ws.display()
    );
}

/// Runs `node tests/node/interop.mjs <url> [suites]` with the generated clients compiled
/// under `generated/<tag>/` and fails with its output unless every check passed.
async fn run_interop(tag: &str, url: &str, suites: &[&str], env: &[(&str, &str)]) {
    let contracts = [
        contracts::order::OrderServiceContract::DESCRIPTOR,
        contracts::dashboard::DashboardServiceContract::DESCRIPTOR,
    ];
    let generated = typescript::compile(tag, &contracts).await;
    let mut command = Command::new("node");
    command.current_dir(node_dir()).arg("interop.mjs").arg(url).args(suites);
    command.envs(env.iter().copied()).env("GENERATED_DIR", generated);
    let mut node = ChildProcess::spawn("node interop.mjs", command);
    let status = node.wait_exit(RUN).await;
    let transcript = node.transcript();
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!("the Node client failed ({status})\n{transcript}"),
        None => panic!("the Node client did not finish within {RUN:?}\n{transcript}"),
    }
    let summary = node.seen().last().cloned().unwrap_or_default();
    assert!(summary.contains("checks passed"), "no summary line\n{transcript}");
    assert!(!node.seen().iter().any(|l| l.starts_with("not ok")), "{transcript}");
}

/// The product and order services over `ws://` on ephemeral ports.
async fn order_services() -> examples::Services {
    let products = examples::start_product_service("ws://127.0.0.1:0")
        .await
        .expect("the product service starts");
    let orders = examples::start_order_service("ws://127.0.0.1:0", products.address())
        .await
        .expect("the order service starts");
    examples::Services { products, orders }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_client_of_the_typescript_protocol_talks_to_the_rust_order_service() {
    require_node().await;
    let services = order_services().await;
    run_interop("interop-orders", services.orders.address(), &["orders"], &[]).await;
    services.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_client_of_the_typescript_protocol_talks_to_the_rust_dashboard() {
    require_node().await;
    let services = order_services().await;
    let orders = services.orders.address().to_owned();
    let options = examples::dashboard::DashboardOptions::new("127.0.0.1:0", orders.clone());
    let dashboard = examples::dashboard::start(options).await.expect("the dashboard starts");
    let env = [("ORDERS_URL", orders.as_str())];
    run_interop("interop-dashboard", dashboard.ws_address(), &["dashboard"], &env).await;
    dashboard.stop().await;
    services.stop().await;
}
