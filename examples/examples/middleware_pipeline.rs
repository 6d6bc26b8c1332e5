//! The guide's custom middleware pipeline: authentication, logging, metrics, rate limiting
//! and validation in front of the user service, over `memory://`.
//!
//! Run with `cargo run -p examples --example middleware-pipeline`. The logging layer's
//! `tracing` events go to stderr (set `RUST_LOG` to change what shows:
//! `RUST_LOG=info,messaging_runtime=debug` adds the runtime's own line per request, with
//! its outcome, for the requests the authentication gate answers before any layer); what
//! each request was answered, and the metrics, go to stdout.

use std::io::IsTerminal;

use examples::pipeline::{self, RATE_LIMIT, RATE_LIMIT_WINDOW};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), pipeline::Error> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    println!("Magic Button Messaging: a custom middleware pipeline in front of the user service");
    println!("pipeline: {}", pipeline::ORDER);
    println!("rate limit: {RATE_LIMIT} requests per {} s per user", RATE_LIMIT_WINDOW.as_secs());
    println!();
    // alice and bob, with their passwords hashed by argon2id at the recommended cost.
    let auth = examples::auth::demo_provider()?;
    let report = pipeline::run_with("middleware-pipeline", auth, |step| println!("{step}")).await?;

    println!();
    println!(
        "metrics collected by the metrics middleware (the authentication gate answers \
         $login, UNAUTHENTICATED and FORBIDDEN in front of it):"
    );
    println!("{}", report.metrics);
    Ok(())
}
