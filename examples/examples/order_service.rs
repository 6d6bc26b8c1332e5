//! The guide's order service as a process of its own, for running the microservices apart
//! over `ws://`. It checks and reserves stock in the product service at `--products`:
//!
//! ```sh
//! cargo run -p examples --example order-service -- --listen ws://127.0.0.1:0 --products ws://127.0.0.1:43521/
//! ```
//!
//! The first line of output is the address it listens on, for clients and the notification
//! service's `--orders`. It runs until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use examples::cli::{self, Flag, Spec};

const SPEC: Spec = Spec {
    name: "order-service",
    about: "The order service on its own, over ws://, using a running product service.",
    flags: &[
        Flag::value("--listen", "URL", "where to listen: ws://127.0.0.1:0 picks a free port")
            .required(),
        Flag::value("--products", "URL", "the product service, e.g. ws://127.0.0.1:43521/")
            .required(),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    let (listen, products) = (args.required("--listen"), args.required("--products"));
    let server = match examples::start_order_service(listen, products).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("order-service: {e} (is the product service running at {products}?)");
            return ExitCode::FAILURE;
        }
    };
    cli::announce(server.address());
    cli::announce(&format!(
        "order-service: serving createOrder, getOrderById, updateOrderStatus, cancelOrder; \
         publishing orderCreated, orderStatusChanged, orderShipped; products at {products}"
    ));
    let why = cli::stop_signal(args.switch("--exit-on-stdin-close")).await;
    cli::announce(&format!("order-service: {why}, stopping"));
    server.stop().await;
    ExitCode::SUCCESS
}
