//! A peer that never reads its answers is let go as a slow consumer. In a test binary of its
//! own: it registers a `ws://` transport with a short write timeout for the whole process.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::transport::register_transport;
use messaging_runtime::transport::ws::WsTransport;
use tokio_tungstenite::tungstenite::Message;

/// Every wait in this file is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

/// Echoes its blob back.
#[request("echo", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echo {
    /// What to send back.
    pub blob: String,
}

/// Never returned.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum EchoError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Echoes.
#[contract(name = "back", version = "1.0.0", error = EchoError, events())]
pub trait Back {
    /// Echoes.
    async fn echo(&self, req: Echo) -> Result<String, EchoError>;
}

struct Echoer;

impl Back for Echoer {
    async fn echo(&self, req: Echo) -> Result<String, EchoError> {
        Ok(req.blob)
    }
}

/// A raw client that sends requests with large answers and never reads: the server's writes
/// block, it keeps reading, and at the write timeout it lets the client go as a slow
/// consumer; a well-behaved client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_its_answers_is_let_go() {
    register_transport(Arc::new(WsTransport::new().write_timeout(Duration::from_millis(300))));
    let server = Server::bind("ws://127.0.0.1:0/never-reads").await.expect("binds");
    let server = server.serve(BackServer::new(Echoer)).start().await.expect("starts");
    let url = server.address().to_owned();
    let (mut raw, _) = tokio_tungstenite::connect_async(&url).await.expect("raw connects");
    let blob = "y".repeat(256 * 1024);
    let sent = tokio::time::timeout(WAIT, async {
        // 64 MiB of answers: far more than the socket buffers hold.
        for id in 0..256 {
            let frame = serde_json::json!({"type": "request", "requestId": id,
                "requestType": "echo", "payload": {"blob": blob}});
            if raw.send(Message::Text(frame.to_string().into())).await.is_err() {
                break;
            }
        }
    });
    sent.await.expect("sending does not hang");
    let polite = BackClient::connect(&url).await.expect("connects");
    let echoed = polite.echo(Echo { blob: "hi".into() }).timeout(Duration::from_secs(10)).await;
    assert_eq!(echoed.expect("a reading client is served"), "hi");
    let let_go = tokio::time::timeout(WAIT, async {
        while server.clients().len() > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let_go.await.expect("the server lets the client that does not read go");
    // What the raw client finally reads ends with the connection closing.
    let drained = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = raw.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    });
    let code = drained.await.expect("the connection ends");
    assert!(matches!(code, None | Some(1008)), "closed as a slow consumer, not {code:?}");
    server.stop().await;
}
