//! The dashboard page in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, by the `fantoccini` crate). Orders are placed and moved through a Rust
//! `OrderServiceClient`; the test reads the page's DOM until the new order, its new status
//! and the changed counters appear.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); without them
//! the test fails and says how to install them. `CHROMIUM` and `CHROMEDRIVER` override the
//! binaries; `DASHBOARD_SCREENSHOT=/path.png` saves a screenshot of the page at the end.

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use contracts::order::{
    Address, CancelOrder, CreateOrder, Order, OrderLine, OrderServiceClient, OrderStatus,
    TrackingInfo, UpdateOrderStatus,
};
use examples::dashboard::{self, DashboardOptions};
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::json;

/// The longest any one wait on the page (or on chromedriver) may take.
const WAIT: Duration = Duration::from_secs(20);
/// How long to wait between two looks at the page.
const POLL: Duration = Duration::from_millis(100);

const INSTALL: &str = "install them with `apt-get install -y chromium chromium-driver` \
                       (Debian's packages; `.ci/run` does this), or point CHROMIUM and \
                       CHROMEDRIVER at other binaries";

/// A binary from an environment variable, or its usual Debian path.
fn binary(variable: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "the dashboard browser test needs {what}, not found at {}: {INSTALL}",
        path.display()
    );
    path
}

/// chromedriver on a port it picks itself; killed when dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start(path: &Path) -> Self {
        let mut child = Command::new(path)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", path.display()));
        let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
        let mut driver = Self { child, url: String::new() };
        // chromedriver prints "... started successfully on port 41234."; the thread keeps
        // draining its output afterwards so it never blocks on a full pipe.
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // (Its first line, "Starting ChromeDriver ... on port 0", names the port
                // asked for, not the one bound.)
                let port = line
                    .split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
            }
        });
        match port_rx.recv_timeout(WAIT) {
            Ok(port) => driver.url = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!("chromedriver did not say which port it listens on within {WAIT:?}"),
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh Chromium profile directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("dashboard-browser-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a profile directory can be created");
        Self(dir)
    }
}

impl Drop for Profile {
    /// Ends any browser process still using this profile (chromedriver's death does not
    /// end the Chromium it started), then removes the directory.
    fn drop(&mut self) {
        let flag = format!("--user-data-dir={}", self.0.display());
        for pid in processes_with_arg(&flag) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ids of the processes (Linux: from `/proc`) that were started with `arg`.
fn processes_with_arg(arg: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

async fn open_browser(driver: &Chromedriver, chromium: &Path, profile: &Profile) -> Browser {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--user-data-dir={}", profile.0.display())])
    .collect::<Vec<_>>();
    let capabilities = json!({
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("the capabilities are an object")
    };
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    let connecting = builder.connect(&driver.url);
    tokio::time::timeout(WAIT * 3, connecting)
        .await
        .expect("chromedriver opens a session in time")
        .unwrap_or_else(|e| panic!("chromedriver could not start {}: {e}", chromium.display()))
}

/// What the test reads off the page in one look.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    connection: String,
    stats: Stats,
    rows: Vec<Row>,
    details: Option<Details>,
    events: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Stats {
    total: String,
    pending: String,
    processing: String,
    shipped: String,
    cancelled: String,
    revenue: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: String,
    status: String,
    tracking: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Details {
    id: String,
    text: String,
}

impl Page {
    fn row(&self, order_id: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.id == order_id)
    }

    fn status_of(&self, order_id: &str) -> Option<&str> {
        self.row(order_id).map(|row| row.status.as_str())
    }
}

const LOOK: &str = r##"
    const text = (id) => document.getElementById(id).textContent;
    const details = document.getElementById("order-details");
    return {
        connection: document.getElementById("connection-status").dataset.state,
        stats: {
            total: text("total-orders"), pending: text("pending-orders"),
            processing: text("processing-orders"), shipped: text("shipped-orders"),
            cancelled: text("cancelled-orders"), revenue: text("total-revenue"),
        },
        rows: [...document.querySelectorAll("#recent-orders-list .order-item")].map((row) => ({
            id: row.dataset.orderId,
            status: row.querySelector(".order-status").textContent,
            tracking: row.querySelector(".order-tracking")?.textContent ?? null,
        })),
        details: details.hidden ? null : { id: details.dataset.orderId, text: details.textContent },
        events: [...document.querySelectorAll("#event-log .event-name")].map((e) => e.textContent),
    };
"##;

/// Awaits one WebDriver command for at most [`WAIT`].
async fn within<T, E: std::fmt::Debug>(
    what: &str,
    command: impl std::future::Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(WAIT, command).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what} failed: {e:?}"),
        Err(_) => panic!("{what} took longer than {WAIT:?}"),
    }
}

/// Looks at the page until `done` holds, for at most [`WAIT`].
async fn wait_until(browser: &Browser, what: &str, done: impl Fn(&Page) -> bool) -> Page {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = Page::default();
    // At most WAIT / POLL looks, however quickly the browser answers.
    let looks = WAIT.as_millis() / POLL.as_millis();
    for _ in 0..looks {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let value = within("reading the page", browser.execute(LOOK, Vec::new())).await;
        last = serde_json::from_value(value).expect("the page has the expected elements");
        if done(&last) {
            return last;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("the page did not show {what} within {WAIT:?}; it shows {last:#?}")
}

fn order(customer: &str, lines: &[(&str, u32)]) -> CreateOrder {
    CreateOrder {
        customer_id: customer.to_owned(),
        items: lines
            .iter()
            .map(|(id, quantity)| OrderLine { product_id: (*id).to_owned(), quantity: *quantity })
            .collect(),
        shipping_address: Address {
            name: "Ada Lovelace".into(),
            street: "12 St James's Square".into(),
            city: "London".into(),
            state: "LDN".into(),
            postal_code: "SW1Y 4JH".into(),
            country: "UK".into(),
        },
    }
}

async fn move_to(orders: &OrderServiceClient, order: &Order, status: OrderStatus) {
    let tracking_info = (status == OrderStatus::Shipped).then(|| TrackingInfo {
        tracking_number: "1Z999AA10123456784".into(),
        carrier: "UPS".into(),
        estimated_delivery: 1_900_000_000_000,
    });
    let request = UpdateOrderStatus { order_id: order.id.clone(), status, tracking_info };
    orders.update_order_status(request).await.expect("the status changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_orders_and_counters_change_live() {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium", "Chromium");
    let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver");

    let services = examples::start_all("dashboard-browser").await.expect("the services start");
    let options = DashboardOptions::new("127.0.0.1:0", services.orders.address());
    let dashboard = dashboard::start(options).await.expect("the dashboard starts");
    let orders =
        OrderServiceClient::connect(services.orders.address()).await.expect("order client");

    // Dropped in reverse: chromedriver first, then any Chromium left on the profile.
    let profile = Profile::new();
    let driver = Chromedriver::start(&chromedriver);
    let browser = open_browser(&driver, &chromium, &profile).await;
    // A failed check still ends the browser session before the test fails.
    let outcome =
        AssertUnwindSafe(scenario(&browser, dashboard.page_url(), &orders)).catch_unwind().await;
    if let Some(path) = std::env::var_os("DASHBOARD_SCREENSHOT") {
        let png = within("taking a screenshot", browser.screenshot()).await;
        std::fs::write(&path, png).expect("the screenshot is saved");
    }
    let closed = tokio::time::timeout(WAIT, browser.close()).await;
    drop((driver, profile));
    dashboard.stop().await;
    services.stop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    closed.expect("the browser session closes in time").expect("the browser session closes");
}

/// Places and moves orders, and reads the page until it shows each change.
async fn scenario(browser: &Browser, page_url: &str, orders: &OrderServiceClient) {
    within("loading the page", browser.goto(page_url)).await;
    let page = wait_until(browser, "a live connection", |p| p.connection == "live").await;
    assert_eq!((page.stats.total.as_str(), page.rows.len()), ("0", 0), "{page:#?}");

    // A new order appears, pending, and the counters count it.
    let first = orders
        .create_order(order("c-ada", &[("p-keyboard", 2), ("p-mouse", 1)]))
        .await
        .expect("the order is placed");
    let page = wait_until(browser, "the new order, pending, counted", |p| {
        p.status_of(&first.id) == Some("pending") && p.stats.total == "1" && p.stats.pending == "1"
    })
    .await;
    assert_eq!(page.stats.revenue, "$209.48", "{page:#?}");

    // Its new statuses replace the old one, and the counters move with it.
    move_to(orders, &first, OrderStatus::Processing).await;
    wait_until(browser, "the order processing", |p| {
        p.status_of(&first.id) == Some("processing")
            && (p.stats.pending.as_str(), p.stats.processing.as_str()) == ("0", "1")
    })
    .await;
    move_to(orders, &first, OrderStatus::Shipped).await;
    wait_until(browser, "the order shipped, with its tracking number", |p| {
        p.status_of(&first.id) == Some("shipped")
            && p.stats.shipped == "1"
            && p.row(&first.id).and_then(|r| r.tracking.as_deref())
                == Some("UPS 1Z999AA10123456784")
    })
    .await;

    // A second order goes on top; once cancelled, it earns nothing.
    let second =
        orders.create_order(order("c-grace", &[("p-cable", 3)])).await.expect("second order");
    let request = CancelOrder { order_id: second.id.clone(), reason: Some("changed mind".into()) };
    orders.cancel_order(request).await.expect("the order is cancelled");
    let page = wait_until(browser, "the second order cancelled", |p| {
        p.status_of(&second.id) == Some("cancelled")
            && (p.stats.total.as_str(), p.stats.cancelled.as_str()) == ("2", "1")
            && p.stats.revenue == "$209.48"
    })
    .await;
    let ids: Vec<_> = page.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "newest first");
    for event in ["orderCreated", "orderStatusChanged", "orderShipped"] {
        assert!(page.events.iter().any(|e| e == event), "{event} in the log: {page:#?}");
    }

    // A click shows the order's details.
    let selector = format!(".order-item[data-order-id='{}']", first.id);
    let row = within("finding the order's row", browser.find(Locator::Css(&selector))).await;
    within("clicking the row", row.click()).await;
    let page = wait_until(browser, "the order's details", |p| {
        p.details
            .as_ref()
            .is_some_and(|d| d.id == first.id && d.text.contains("Mechanical keyboard"))
    })
    .await;
    let details = page.details.map(|d| d.text).unwrap_or_default();
    for expected in ["Wireless mouse", "$209.48", "UPS", "1Z999AA10123456784", "processing"] {
        assert!(details.contains(expected), "details show {expected:?}: {details}");
    }
}
