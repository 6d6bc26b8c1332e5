//! The guide's real-time dashboard: a page in the browser that shows the orders as they
//! are placed, processed, shipped and delivered.
//!
//! ```sh
//! cargo run -p examples --example dashboard -- --listen 127.0.0.1:8080 --simulate
//! ```
//!
//! The first line of output is the page's URL (`--listen 127.0.0.1:0` picks a free port),
//! the second the WebSocket address the page talks to. By default the product and order
//! services run in this process over `memory://`, and `--simulate` places and moves orders
//! every second; `--orders ws://…` follows an order service running elsewhere instead (see
//! the `order-service` example). Runs until Ctrl-C or SIGTERM.
//!
//! Either way the order service asks for a login: the dashboard logs in as `dashboard`
//! (password in `$DEMO_DASHBOARD_PASSWORD`, or the demo default), to the order service to
//! look orders up and, with `--simulate`, to the order and product services to place, move
//! and restock orders. The page's own WebSocket server asks for no login: it only reads.

use std::process::ExitCode;
use std::time::Duration;

use contracts::order::OrderServiceClient;
use contracts::product::ProductServiceClient;
use examples::auth::{DemoAuth, DASHBOARD};
use examples::cli::{self, Args, Flag, Spec};
use examples::dashboard::{self, DashboardOptions, Simulator};
use examples::Services;

const SPEC: Spec = Spec {
    name: "dashboard",
    about: "The real-time order dashboard: serves a page that shows orders live, following an \
            order service.",
    flags: &[
        Flag::value(
            "--listen",
            "HOST:PORT",
            "where to serve the page (default 127.0.0.1:8080; port 0 picks a free one)",
        ),
        Flag::value(
            "--orders",
            "URL",
            "follow this order service (e.g. ws://127.0.0.1:40001/) instead of running one here",
        ),
        Flag::value(
            "--products",
            "URL",
            "with --orders and --simulate: the product service, to restock delivered units",
        ),
        Flag::value(
            "--ws",
            "URL",
            "where the page's WebSocket server listens (default ws://HOST:0/dashboard)",
        ),
        Flag::switch("--simulate", "place and move orders every second, to show traffic"),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

/// The address of the page when `--listen` is not given.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How often the simulator acts.
const SIMULATION_TICK: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dashboard: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    if args.value("--products").is_some() && args.value("--orders").is_none() {
        return Err("`--products` goes with `--orders`: without it, the services run here".into());
    }
    // Without --orders, the product and order services run in this process.
    let (services, orders_address, products_address) = match args.value("--orders") {
        Some(orders) => (None, orders.to_owned(), args.value("--products").map(str::to_owned)),
        None => {
            let auth = DemoAuth::new().map_err(|e| format!("cannot set up the demo users: {e}"))?;
            let services = examples::start_all_with("dashboard", Some(&auth))
                .await
                .map_err(|e| e.to_string())?;
            let orders = services.orders.address().to_owned();
            let products = services.products.address().to_owned();
            (Some(services), orders, Some(products))
        }
    };

    let options = DashboardOptions {
        listen: args.value("--listen").unwrap_or(DEFAULT_LISTEN).to_owned(),
        ws: args.value("--ws").map(str::to_owned),
        orders: orders_address.clone(),
        account: Some(DASHBOARD),
    };
    let running = dashboard::start(options).await.map_err(|e| e.to_string())?;
    cli::announce(running.page_url());
    cli::announce(running.ws_address());
    cli::announce(&format!(
        "dashboard: open {} in a browser; it talks to {} (requests getRecentOrders, \
         getOrderById, getDashboardStats; events orderCreated, orderStatusChanged, \
         orderShipped, statsUpdated)",
        running.page_url(),
        running.ws_address()
    ));
    cli::announce(&following(services.as_ref(), &orders_address));

    let simulator = if args.switch("--simulate") {
        Some(simulate(&orders_address, products_address.as_deref()).await?)
    } else {
        cli::announce("dashboard: no traffic of its own: add --simulate to place orders");
        None
    };

    let why = cli::stop_signal(args.switch("--exit-on-stdin-close")).await;
    cli::announce(&format!("dashboard: {why}, stopping"));
    if let Some(simulator) = simulator {
        simulator.stop();
    }
    running.stop().await;
    if let Some(services) = services {
        services.stop().await;
    }
    Ok(())
}

fn following(services: Option<&Services>, orders: &str) -> String {
    match services {
        Some(services) => format!(
            "dashboard: following the order service at {orders}, running in this process \
             with the product service at {}",
            services.products.address()
        ),
        None => format!("dashboard: following the order service at {orders}"),
    }
}

async fn simulate(orders: &str, products: Option<&str>) -> Result<Simulator, String> {
    let client = OrderServiceClient::connect(orders)
        .await
        .map_err(|e| format!("the simulator cannot reach the order service at {orders}: {e}"))?;
    client.inner().login(DASHBOARD.credentials()).await.map_err(|e| {
        format!("the simulator cannot log in to the order service at {orders} as dashboard: {e}")
    })?;
    let restock = match products {
        Some(address) => {
            let products = ProductServiceClient::connect(address).await.map_err(|e| {
                format!("the simulator cannot reach the product service at {address}: {e}")
            })?;
            products.inner().login(DASHBOARD.credentials()).await.map_err(|e| {
                format!("the simulator cannot log in to the product service at {address}: {e}")
            })?;
            Some(products)
        }
        None => None,
    };
    cli::announce(&format!(
        "dashboard: simulating orders every {} s{}",
        SIMULATION_TICK.as_secs(),
        if restock.is_some() { ", restocking delivered units" } else { "" }
    ));
    Ok(Simulator::start(client, restock, SIMULATION_TICK))
}
