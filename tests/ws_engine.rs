//! The WebSocket engine under bursts and peers that do not read: reading never waits for
//! writing, so two peers that write to each other at once never wait for each other, and a
//! peer that stops reading is let go as a slow consumer.

use std::future::IntoFuture;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::transport::ws::WsTransport;
use messaging_runtime::RunningServer;
use messaging_tests::wait::until;
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

/// Makes `calls` concurrent `echo` calls of `size` bytes each to the back service.
#[request("fan", response = u64)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fan {
    /// How many calls.
    pub calls: u32,
    /// How large each blob is.
    pub size: u32,
}

/// What the relay can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum RelayError {
    /// The back service failed.
    #[error(status = 502, message = "the back service failed: {reason}")]
    BackFailed {
        /// What the back service said.
        reason: String,
    },
}

/// The back service: echoes.
#[contract(name = "back", version = "1.0.0", error = RelayError, events())]
pub trait Back {
    /// Echoes.
    async fn echo(&self, req: Echo) -> Result<String, RelayError>;
}

/// The front service: fans out to the back service.
#[contract(name = "front", version = "1.0.0", error = RelayError, events())]
pub trait Front {
    /// Fans out.
    async fn fan(&self, req: Fan) -> Result<u64, RelayError>;
}

struct Echoer;

impl Back for Echoer {
    async fn echo(&self, req: Echo) -> Result<String, RelayError> {
        Ok(req.blob)
    }
}

struct Fanner(BackClient);

impl Front for Fanner {
    async fn fan(&self, req: Fan) -> Result<u64, RelayError> {
        let blob = "x".repeat(req.size as usize);
        let calls = (0..req.calls).map(|_| self.0.echo(Echo { blob: blob.clone() }).into_future());
        let mut total = 0;
        for answer in join_all(calls).await {
            let echoed = answer.map_err(|e| RelayError::back_failed(e.to_string()))?;
            total += echoed.len() as u64;
        }
        Ok(total)
    }
}

async fn start_pair() -> (RunningServer, RunningServer) {
    let back = Server::bind("ws://127.0.0.1:0/back").await.expect("binds");
    let back = back.serve(BackServer::new(Echoer)).start().await.expect("starts");
    let link = BackClient::connect(back.address()).await.expect("connects to the back");
    let front = Server::bind("ws://127.0.0.1:0/front").await.expect("binds");
    let front = front.serve(FrontServer::new(Fanner(link))).start().await.expect("starts");
    (back, front)
}

/// Twelve requests at once, each making a thousand concurrent 4 KiB calls over one link:
/// both ends of the front -> back link write megabytes to each other at the same time. A
/// connection that stopped reading while a write was blocked wedged both for good; now every
/// request is answered, and the link serves a normal request afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_busy_peers_writing_at_once_do_not_wedge_each_other() {
    let (back, front) = start_pair().await;
    let client = FrontClient::connect(front.address()).await.expect("connects");
    let burst =
        (0..12).map(|_| client.fan(Fan { calls: 1000, size: 4096 }).timeout(WAIT).into_future());
    let answers = tokio::time::timeout(WAIT, join_all(burst)).await.expect("the burst ends");
    let mut answered = 0;
    for answer in answers {
        match answer {
            Ok(total) => {
                assert_eq!(total, 1000 * 4096);
                answered += 1;
            }
            // The link's in-flight limit may answer some calls `OVERLOADED`: a clear
            // answer, never a hang.
            Err(CallError::Contract(RelayError::BackFailed { reason })) => {
                assert!(reason.contains("OVERLOADED") || reason.contains("overloaded"), "{reason}");
            }
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert!(answered > 0, "at least one fan-out went through whole");
    let after = client.fan(Fan { calls: 3, size: 10 }).timeout(Duration::from_secs(10)).await;
    assert_eq!(after.expect("the link still serves"), 30);
    front.stop().await;
    back.stop().await;
}

/// A raw client that sends requests with large answers and never reads: the server's writes
/// block, it keeps reading, and at the write timeout it lets the client go as a slow
/// consumer; a well-behaved client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_its_answers_is_let_go() {
    let transport = WsTransport::new().write_timeout(Duration::from_millis(300));
    let server = Server::bind_with(transport, "ws://127.0.0.1:0/never-reads").await.expect("binds");
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
    until("the server lets the client that does not read go", || server.clients().len() <= 1).await;
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
