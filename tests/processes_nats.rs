//! The microservices walkthrough over `nats://`, as separate processes: a nats-server, the
//! product service, TWO order-service replicas and the notification service, all given the
//! one broker address. Orders placed by a logged-in client are served by both replicas (a
//! queue group; ADR-32 `$SRV.STATS` shows each one's share), every event reaches the
//! notification service, and when one replica is killed mid-load no call hangs and the other
//! serves everything after.

#[path = "support/nats.rs"]
mod nats_server;
#[path = "support/process.rs"]
mod process;

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use contracts::order::{Address, CreateOrder, OrderLine, OrderServiceClient};
use examples::auth::ALICE_PASSWORD;
use futures_util::future::join_all;
use futures_util::StreamExt;
use messaging_runtime::auth::Credentials;
use messaging_runtime::{CallError, Client};
use nats_server::NatsServer;
use process::ChildProcess;
use tokio::sync::OnceCell;

/// Bounds every wait on a service: its first line, an e-mail, a call, its exit.
const WAIT: Duration = Duration::from_secs(20);
/// Bounds building the examples (a no-op after `cargo test --workspace` built them).
const BUILD: Duration = Duration::from_secs(600);
/// The client's call timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const EXAMPLES: [&str; 3] = ["product-service", "order-service", "notification-service"];

async fn examples_dir() -> &'static Path {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT.get_or_init(|| process::build_examples(&EXAMPLES, BUILD)).await
}

/// Starts example `name` with `args` and waits for its first line (its address, or that it
/// subscribed).
async fn start(name: &str, args: &[&str]) -> ChildProcess {
    let binary = examples_dir().await.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(binary);
    command.args(args).arg("--exit-on-stdin-close");
    let mut service = ChildProcess::spawn(name, command);
    let first = service.next_line(WAIT).await;
    assert!(!first.is_empty(), "{name} said nothing\n{}", service.transcript());
    service
}

fn order(customer: &str) -> CreateOrder {
    CreateOrder {
        customer_id: customer.into(),
        // USB-C cables: 100 in stock, enough for every order here.
        items: vec![OrderLine { product_id: "p-cable".into(), quantity: 1 }],
        shipping_address: Address {
            name: "Ada Lovelace".into(),
            street: "1 Analytical Engine Way".into(),
            city: "London".into(),
            state: "Greater London".into(),
            postal_code: "N1 9GU".into(),
            country: "UK".into(),
        },
    }
}

/// The `createOrder` requests each order-service replica served, from ADR-32 `$SRV.STATS`.
async fn served_per_replica(url: &str) -> Vec<u64> {
    let raw = async_nats::connect(url).await.expect("a plain NATS client connects");
    let inbox = raw.new_inbox();
    let mut answers = raw.subscribe(inbox.clone()).await.expect("subscribes");
    raw.publish_with_reply("$SRV.STATS.order-service", inbox, "".into()).await.expect("asks");
    let mut served = Vec::new();
    while let Ok(Some(answer)) =
        tokio::time::timeout(Duration::from_millis(500), answers.next()).await
    {
        let stats: serde_json::Value = serde_json::from_slice(&answer.payload).expect("json");
        let create = stats["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "createOrder");
        served.push(create.and_then(|e| e["num_requests"].as_u64()).unwrap_or(0));
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_order_service_replicas_share_orders_over_nats_and_survive_losing_one() {
    let broker = NatsServer::start();
    let url = broker.url();
    let mut products = start("product-service", &["--listen", &url]).await;
    let replica =
        |name| ["--listen", &url, "--products", &url, "--replica", name].map(str::to_owned);
    let mut first = start("order-service", &replica("a").each_ref().map(String::as_str)).await;
    let mut second = start("order-service", &replica("b").each_ref().map(String::as_str)).await;
    let mut notifications = start("notification-service", &["--orders", &url]).await;

    // A call the killed replica held fails at this deadline.
    let builder = Client::builder().timeout(CALL_TIMEOUT);
    let client = OrderServiceClient::connect_with(builder, &url).await.expect("connects");
    client.inner().login(Credentials::new("alice", ALICE_PASSWORD)).await.expect("alice logs in");
    // A login made on one replica is accepted by the other (signed demo tokens).
    let placed =
        join_all((0..8).map(|i| client.create_order(order(&format!("c-nats-{i}"))).into_future()))
            .await;
    assert!(placed.iter().all(Result::is_ok), "{placed:?}");
    let served = served_per_replica(&url).await;
    assert_eq!((served.len(), served.iter().sum::<u64>()), (2, 8), "{served:?}");
    assert!(served.iter().all(|n| *n > 0), "both replicas served orders: {served:?}");
    // Every orderCreated reaches the notification service. It then fetches the order by id,
    // which any replica may answer; each keeps its own in-memory store, so the replica that
    // did not create it answers ORDER_NOT_FOUND (the README says so: real replicas share a
    // store). Either line proves the event arrived.
    let mut expected: Vec<String> =
        placed.iter().flatten().map(|o| format!("order {}", o.id)).collect();
    for _ in 0..expected.len() {
        let line = notifications
            .line_where("an order's event", |l| expected.iter().any(|e| l.contains(e)), WAIT)
            .await;
        expected.retain(|e| !line.contains(e));
    }
    assert!(expected.is_empty(), "events missing: {expected:?}");

    // One replica is killed while orders are placed: none hangs, the other takes over.
    let during = tokio::spawn({
        let client = client.clone();
        async move {
            let calls = (0..40).map(|i| {
                let client = client.clone();
                async move { client.create_order(order(&format!("c-kill-{i}"))).await }
            });
            join_all(calls).await
        }
    });
    first.kill();
    let during =
        tokio::time::timeout(WAIT * 2, during).await.expect("no call hangs").expect("task");
    let failed: Vec<_> = during.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.iter().all(|e| matches!(e, CallError::Timeout(_) | CallError::Disconnected)),
        "each fails clearly or succeeds: {failed:?}"
    );
    let after = client.create_order(order("c-after")).await;
    assert!(after.is_ok(), "the remaining replica serves: {after:?}");
    second.stop(WAIT).await;
    notifications.stop(WAIT).await;
    products.stop(WAIT).await;
}
