//! The pipeline's logging middleware, and the limits of its tower guard.

use std::time::{Duration, Instant};

use messaging_runtime::middleware::{from_fn, into_wire, FromFnLayer, Next};
use messaging_runtime::server::ServerRequest;

use super::Answer;

/// The logging middleware, as `tracing` events: one when a request arrives and one with its
/// outcome (`ok`, or the error's code, status and message) and duration. They are emitted
/// inside the runtime's `request` span, which carries the request type, the message id and
/// the server-assigned client id. Payloads are not logged (a `createUser` carries a
/// password).
pub fn logging() -> FromFnLayer<impl Fn(ServerRequest, Next<ServerRequest>) -> Answer + Clone> {
    from_fn(|request: ServerRequest, next: Next<ServerRequest>| -> Answer {
        Box::pin(async move {
            tracing::info!("request received");
            let started = Instant::now();
            let answer = next.run(request).await;
            let duration = started.elapsed();
            match answer {
                Ok(payload) => {
                    tracing::info!(outcome = "ok", ?duration, "request processed");
                    Ok(payload)
                }
                Err(error) => {
                    let wire = into_wire(error);
                    tracing::warn!(
                        outcome = "error",
                        code = %wire.code,
                        status = wire.status.unwrap_or(500),
                        ?duration,
                        "request failed: {}",
                        wire.message
                    );
                    Err(wire.into())
                }
            }
        })
    })
}

/// How long the server lets a request run before answering `TIMEOUT` (504).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How many requests the server runs at once before shedding the excess with
/// `OVERLOADED` (503).
pub const MAX_IN_FLIGHT: usize = 64;
