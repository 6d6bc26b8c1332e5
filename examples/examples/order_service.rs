//! The guide's order service as a process of its own, for running the microservices apart
//! over `ws://` or `nats://`. It checks and reserves stock in the product service at
//! `--products`:
//!
//! ```sh
//! cargo run -p examples --example order-service -- --listen ws://127.0.0.1:0 --products ws://127.0.0.1:43521/
//! # or, as one of several replicas behind a NATS broker:
//! cargo run -p examples --example order-service -- --listen nats://127.0.0.1:4222 --products nats://127.0.0.1:4222 --replica a
//! ```
//!
//! The first line of output is the address it listens on, for clients and the notification
//! service's `--orders`. It runs until Ctrl-C or SIGTERM.
//!
//! Every request needs a login: `getOrderById` with `orders:read`, the others (which change
//! orders and stock) with `orders:write`; the demo users are in `examples::auth` and the
//! README's security section. It logs in to the product service as `order-service`, with the
//! password in `$DEMO_ORDER_SERVICE_PASSWORD` (or the demo default, which the product
//! service's own default matches).

use std::process::ExitCode;

use examples::cli::{self, Flag, Spec};

const SPEC: Spec = Spec {
    name: "order-service",
    about: "The order service on its own, over ws:// or nats://, using a running product service.",
    flags: &[
        Flag::value("--listen", "URL", "where to listen: ws://127.0.0.1:0 picks a free port")
            .required(),
        Flag::value("--products", "URL", "the product service, e.g. ws://127.0.0.1:43521/")
            .required(),
        Flag::value(
            "--replica",
            "NAME",
            "run as one replica of several: order ids start with NAME",
        ),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    let (listen, products) = (args.required("--listen"), args.required("--products"));
    let started = match examples::auth::DemoAuth::new() {
        Ok(auth) => {
            examples::start_order_replica(listen, products, Some(&auth), args.value("--replica"))
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(format!("cannot set up the demo users: {e}")),
    };
    let server = match started {
        Ok(server) => server,
        Err(e) => {
            eprintln!("order-service: {e} (is the product service running at {products}?)");
            return ExitCode::FAILURE;
        }
    };
    cli::announce(server.address());
    cli::announce(&format!(
        "order-service: serving createOrder, getOrderById, updateOrderStatus, cancelOrder; \
         publishing orderCreated, orderStatusChanged, orderShipped; products at {products} \
         (logged in as order-service); every request needs a login"
    ));
    let why = cli::stop_signal(args.switch("--exit-on-stdin-close")).await;
    cli::announce(&format!("order-service: {why}, stopping"));
    server.stop().await;
    ExitCode::SUCCESS
}
