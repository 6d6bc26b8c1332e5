//! The server keeps serving through faults in its handlers.

use std::future::IntoFuture;
use std::time::Duration;

use messaging_runtime::prelude::*;

/// Divides, panicking on a zero divisor (a bug in the handler, on purpose).
#[request("divide", response = i64)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Divide {
    /// The dividend.
    pub a: i64,
    /// The divisor.
    pub b: i64,
}

/// Never returned.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum MathError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// A calculator with a bug.
#[contract(name = "calculator", version = "1.0.0", error = MathError)]
pub trait Calculator {
    /// Divides `a` by `b`.
    async fn divide(&self, req: Divide) -> Result<i64, MathError>;
}

struct Buggy;

impl Calculator for Buggy {
    async fn divide(&self, req: Divide) -> Result<i64, MathError> {
        if req.b == 0 {
            panic!("attempt to divide {} by zero", req.a);
        }
        tokio::task::yield_now().await;
        Ok(req.a / req.b)
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_error_for_its_request_only() {
    for address in ["memory://resilience-panic", "ws://127.0.0.1:0/calc"] {
        let server = Server::bind(address)
            .await
            .expect("binds")
            .serve(CalculatorServer::new(Buggy))
            .start()
            .await
            .expect("starts");
        let client = Client::builder()
            .timeout(Duration::from_secs(5))
            .connect(server.address())
            .await
            .expect("connects");
        let client = CalculatorClient::from_client(client);
        let (good, bad, after) = tokio::join!(
            client.divide(Divide { a: 9, b: 3 }).into_future(),
            client.divide(Divide { a: 1, b: 0 }).into_future(),
            client.divide(Divide { a: 8, b: 2 }).into_future(),
        );
        assert_eq!(good.expect("served"), 3, "{address}");
        assert_eq!(after.expect("served"), 4, "{address}");
        let CallError::Internal(wire) = bad.expect_err("the handler panicked") else {
            panic!("expected INTERNAL_ERROR over {address}");
        };
        assert_eq!((wire.code.as_str(), wire.status), ("INTERNAL_ERROR", Some(500)));
        assert!(!wire.message.contains("zero"), "the panic message stays on the server");
        assert_eq!(client.divide(Divide { a: 6, b: 3 }).await.expect("still serving"), 2);
        assert_eq!(server.clients().len(), 1, "the connection survived");
        server.stop().await;
    }
}

#[tokio::test]
async fn the_status_stream_starts_with_now_and_never_repeats_a_value() {
    use futures_util::StreamExt;
    let server = Server::bind("memory://resilience-status")
        .await
        .expect("binds")
        .serve(CalculatorServer::new(Buggy))
        .start()
        .await
        .expect("starts");
    let client = Client::connect(server.address()).await.expect("connects");
    let mut statuses = client.status_stream();
    let first =
        tokio::time::timeout(Duration::from_secs(5), statuses.next()).await.expect("in time");
    assert_eq!(first, Some(ConnectionStatus::Connected));
    server.stop().await;
    client.close();
    client.close();
    let next =
        tokio::time::timeout(Duration::from_secs(5), statuses.next()).await.expect("in time");
    assert_eq!(next, Some(ConnectionStatus::Disconnected));
    let quiet = tokio::time::timeout(Duration::from_millis(100), statuses.next()).await;
    assert!(quiet.is_err(), "no repeated `disconnected`: {quiet:?}");
}
