//! The `api-gateway` program as a child process: its first line is the base URL it serves
//! on, and the routes answer over real HTTP with the services running in its process. The
//! order service asks for a login: reading works on the gateway's own login, placing an
//! order needs the caller's (`POST /login` as the demo user `alice`).

#[path = "support/http.rs"]
mod http_client;
#[path = "support/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use http::Method;
use http_client::Http;
use process::ChildProcess;
use serde_json::json;
use tokio::sync::OnceCell;

/// Bounds every wait on the program: its first line, its exit.
const WAIT: Duration = Duration::from_secs(20);

/// Bounds building the example (a no-op after `cargo test --workspace` built it).
const BUILD: Duration = Duration::from_secs(600);

const NAME: &str = "api-gateway";

/// The example's binary, built once per test binary.
async fn binary() -> &'static Path {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT.get_or_init(build).await
}

/// Builds the example once per test binary.
async fn build() -> PathBuf {
    let dir = process::build_examples(&[NAME], BUILD).await;
    dir.join(format!("{NAME}{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_announces_its_url_and_serves_the_routes() {
    let mut command = Command::new(binary().await);
    command.args(["--listen", "127.0.0.1:0", "--exit-on-stdin-close"]);
    let mut gateway = ChildProcess::spawn(NAME, command);
    let url = gateway.next_line(WAIT).await;
    let port = url.strip_prefix("http://127.0.0.1:").and_then(|port| port.parse::<u16>().ok());
    assert!(
        port.is_some_and(|port| port != 0),
        "the first line must be the base URL, like http://127.0.0.1:43521, not {url:?}"
    );

    let http = Http::new(&url);
    let body = json!({
        "customerId": "customer-process",
        "items": [{"productId": "p-mouse", "quantity": 2}],
        "shippingAddress": {
            "name": "Ada", "street": "1 Main St", "city": "Springfield", "state": "IL",
            "postalCode": "62701", "country": "US",
        },
    });
    let anonymous = http.json(Method::POST, "/orders", &body).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}\n{}", gateway.transcript());
    assert_eq!(anonymous.error()["code"], "UNAUTHENTICATED");
    let wrong = json!({ "username": "alice", "password": "not-her-password" });
    let refused = http.json(Method::POST, "/login", &wrong).await;
    assert_eq!((refused.status, refused.error()["code"].clone()), (401, json!("UNAUTHENTICATED")));
    let alice = json!({ "username": "alice", "password": examples::auth::ALICE_PASSWORD });
    let login = http.json(Method::POST, "/login", &alice).await;
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!(login.json()["actor"]["id"], "alice");
    let token = login.json()["token"].as_str().expect("a token").to_owned();
    let bearer = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", bearer.as_str())];
    let text = body.to_string();
    let created = http.send(Method::POST, "/orders", &headers, Some(&text)).await;
    assert_eq!(created.status, 201, "{created:?}\n{}", gateway.transcript());
    let id = created.json()["id"].as_str().expect("the order has an id").to_owned();
    let read = http.get(&format!("/orders/{id}")).await;
    assert_eq!((read.status, read.json()["customerId"].clone()), (200, json!("customer-process")));
    let missing = http.get("/orders/order-404").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error()["code"], "ORDER_NOT_FOUND");
    let logout = http.send(Method::POST, "/logout", &headers[1..], None).await;
    assert_eq!(logout.status, 204, "{logout:?}");
    let stale = http.send(Method::POST, "/orders", &headers, Some(&text)).await;
    assert_eq!((stale.status, stale.error()["code"].clone()), (401, json!("UNAUTHENTICATED")));

    gateway.stop(WAIT).await;
}

#[tokio::test]
async fn help_lists_the_flags() {
    let mut command = Command::new(binary().await);
    command.arg("--help");
    let mut help = ChildProcess::spawn(NAME, command);
    let status = help.wait_exit(WAIT).await.expect("--help exits at once");
    assert!(status.success(), "{}", help.transcript());
    let text = help.seen().join("\n");
    for flag in ["--listen HOST:PORT", "--orders URL", "--timeout-ms MS"] {
        assert!(text.contains(flag), "{flag} is missing from the help:\n{text}");
    }
}
