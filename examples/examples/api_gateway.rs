//! The guide's API gateway: HTTP routes in front of the order service.
//!
//! ```sh
//! cargo run -p examples --example api-gateway -- --listen 127.0.0.1:3000
//! TOKEN=$(curl -s -X POST http://127.0.0.1:3000/login -H 'content-type: application/json' \
//!   -d '{"username":"alice","password":"alice-wonderland-42"}' | jq -r .token)
//! curl -s -X POST http://127.0.0.1:3000/orders -H 'content-type: application/json' \
//!   -H "authorization: Bearer $TOKEN" \
//!   -d '{"customerId":"c-1","items":[{"productId":"p-mouse","quantity":1}],
//!        "shippingAddress":{"name":"Ada","street":"1 Main St","city":"Springfield",
//!        "state":"IL","postalCode":"62701","country":"US"}}'
//! curl -s http://127.0.0.1:3000/orders/order-1
//! curl -s -X PUT http://127.0.0.1:3000/orders/order-1/status -H "authorization: Bearer $TOKEN" \
//!   -H 'content-type: application/json' -d '{"status":"processing"}'
//! curl -s -X POST http://127.0.0.1:3000/orders/order-1/cancel -H "authorization: Bearer $TOKEN"
//! ```
//!
//! The first line of output is the base URL (`--listen 127.0.0.1:0` picks a free port).
//! By default the product and order services run in this process over `memory://`;
//! `--orders ws://…` fronts an order service running elsewhere instead (see the
//! `order-service` example). Either way the order service asks for a login: the gateway logs
//! in as `gateway` (password in `$DEMO_GATEWAY_PASSWORD`, or the demo default), which may
//! only read; the routes that change orders need the caller's own login (`POST /login` with
//! a demo user such as `alice`, see the README's security section). Runs until Ctrl-C or
//! SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use examples::cli::{self, Args, Flag, Spec};
use examples::gateway::{self, GatewayOptions};

const SPEC: Spec = Spec {
    name: "api-gateway",
    about: "The API gateway: POST /orders, GET /orders/{id}, PUT /orders/{id}/status, \
            POST /orders/{id}/cancel, POST /login and POST /logout over HTTP, forwarded to the \
            order service.",
    flags: &[
        Flag::value(
            "--listen",
            "HOST:PORT",
            "where to serve HTTP (default 127.0.0.1:3000; port 0 picks a free one)",
        ),
        Flag::value(
            "--orders",
            "URL",
            "front this order service (e.g. ws://127.0.0.1:40001/) instead of running one here",
        ),
        Flag::value("--timeout-ms", "MS", "how long a call to the order service may take"),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

/// The address when `--listen` is not given (the guide's port).
const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("api-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let timeout = match args.value("--timeout-ms") {
        Some(ms) => Duration::from_millis(
            ms.parse().map_err(|_| format!("`--timeout-ms` takes milliseconds, not `{ms}`"))?,
        ),
        None => gateway::DEFAULT_TIMEOUT,
    };
    // Without --orders, the product and order services run in this process.
    let (services, orders) = match args.value("--orders") {
        Some(orders) => (None, orders.to_owned()),
        None => {
            let auth = examples::auth::DemoAuth::new()
                .map_err(|e| format!("cannot set up the demo users: {e}"))?;
            let services = examples::start_all_with("api-gateway", Some(&auth))
                .await
                .map_err(|e| e.to_string())?;
            let orders = services.orders.address().to_owned();
            (Some(services), orders)
        }
    };
    let options = GatewayOptions {
        listen: args.value("--listen").unwrap_or(DEFAULT_LISTEN).to_owned(),
        orders: orders.clone(),
        timeout,
        account: Some(examples::auth::GATEWAY),
    };
    let running = gateway::start(options).await.map_err(|e| e.to_string())?;
    let url = running.url().to_owned();
    cli::announce(&url);
    cli::announce(&format!(
        "api-gateway: POST {url}/orders, GET {url}/orders/{{id}}, \
         PUT {url}/orders/{{id}}/status, POST {url}/orders/{{id}}/cancel, POST {url}/login, \
         POST {url}/logout (changing orders needs a login)"
    ));
    cli::announce(&match &services {
        Some(services) => format!(
            "api-gateway: forwarding to the order service at {orders}, running in this process \
             with the product service at {} (products p-keyboard, p-mouse, p-monitor, p-cable)",
            services.products.address()
        ),
        None => format!("api-gateway: forwarding to the order service at {orders}"),
    });

    let why = cli::stop_signal(args.switch("--exit-on-stdin-close")).await;
    cli::announce(&format!("api-gateway: {why}, stopping"));
    running.stop().await;
    if let Some(services) = services {
        services.stop().await;
    }
    Ok(())
}
