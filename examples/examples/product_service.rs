//! The guide's product service as a process of its own, for running the microservices
//! apart over `ws://`:
//!
//! ```sh
//! cargo run -p examples --example product-service -- --listen ws://127.0.0.1:0
//! ```
//!
//! The first line of output is the address it listens on (`ws://127.0.0.1:43521/`), for
//! the order service's `--products`. It runs until Ctrl-C or SIGTERM.
//!
//! Looking products up is open; `reserveProduct` and `releaseProduct` need a login with
//! `products:write`, which the `order-service` account has (its password is
//! `$DEMO_ORDER_SERVICE_PASSWORD`, or the demo default: see `examples::auth` and the
//! README's security section).

use std::process::ExitCode;

use examples::cli::{self, Flag, Spec};

const SPEC: Spec = Spec {
    name: "product-service",
    about: "The product service (catalogue and stock) on its own, over ws://.",
    flags: &[
        Flag::value("--listen", "URL", "where to listen: ws://127.0.0.1:0 picks a free port")
            .required(),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    let started = match examples::auth::DemoAuth::new() {
        Ok(auth) => examples::start_product_service_with(args.required("--listen"), Some(&auth))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot set up the demo users: {e}")),
    };
    let server = match started {
        Ok(server) => server,
        Err(e) => {
            eprintln!("product-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    cli::announce(server.address());
    cli::announce(
        "product-service: serving getProductById (open), reserveProduct and releaseProduct \
         (login with products:write)",
    );
    let why = cli::stop_signal(args.switch("--exit-on-stdin-close")).await;
    cli::announce(&format!("product-service: {why}, stopping"));
    server.stop().await;
    ExitCode::SUCCESS
}
