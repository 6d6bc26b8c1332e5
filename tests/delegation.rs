//! Delegation: a service calls its dependencies on its own behalf. `cx.forward()` carries the
//! trace and the deadline, not the caller's token, actor or metadata; the caller's token goes
//! on only when the service asks for it (`forward_with_credentials`).

use std::sync::Arc;

use messaging_runtime::auth::{Credentials, HashCost, MemoryAuthProvider};
use messaging_runtime::prelude::*;
use messaging_runtime::Actor;

/// Who does the back service think is calling?
#[request("whoIsCalling", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoIsCalling {}

/// Asks the back service, forwarding the caller's credentials or not.
#[request("relay", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relay {
    /// Whether to forward the caller's token.
    pub with_credentials: bool,
}

/// Never returned by the services themselves.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum RelayError {
    /// The back service failed.
    #[error(status = 502, message = "the back service failed: {reason}")]
    BackFailed {
        /// What it said.
        reason: String,
    },
}

/// The back service.
#[contract(name = "back", version = "1.0.0", error = RelayError)]
pub trait Back {
    /// Names the verified caller, or `nobody`.
    async fn who_is_calling(&self, req: WhoIsCalling, cx: Context) -> Result<String, RelayError>;
}

/// The front service.
#[contract(name = "front", version = "1.0.0", error = RelayError)]
pub trait Front {
    /// Relays to the back service.
    async fn relay(&self, req: Relay, cx: Context) -> Result<String, RelayError>;
}

struct Backend;

impl Back for Backend {
    async fn who_is_calling(&self, _req: WhoIsCalling, cx: Context) -> Result<String, RelayError> {
        let actor = cx.auth.as_ref().and_then(|a| a.actor.as_ref()).map(|a| a.id.clone());
        let metadata = if cx.metadata.is_empty() { "no metadata" } else { "metadata" };
        Ok(format!("{} with {metadata}", actor.unwrap_or_else(|| "nobody".into())))
    }
}

struct Frontend(BackClient);

impl Front for Frontend {
    async fn relay(&self, req: Relay, cx: Context) -> Result<String, RelayError> {
        let forwarded =
            if req.with_credentials { cx.forward_with_credentials() } else { cx.forward() };
        assert_eq!(forwarded.deadline, cx.deadline, "the deadline carries over");
        assert_eq!(forwarded.trace_id, cx.trace_id, "the trace carries over");
        let answer = self.0.who_is_calling(WhoIsCalling {}).context(forwarded).await;
        answer.map_err(|e| RelayError::back_failed(e.to_string()))
    }
}

#[tokio::test]
async fn a_forwarded_call_carries_the_trace_not_the_callers_token() {
    let provider = Arc::new(MemoryAuthProvider::new().with_hash_cost(HashCost::LOW));
    let alice =
        Actor { id: "u-alice".into(), kind: "user".into(), roles: vec![], permissions: vec![] };
    provider.add_user("alice", "alice-password", alice).expect("alice");
    // Both services trust the same provider: a token the front saw would work on the back.
    let back = Server::bind("memory://delegation-back").await.expect("binds");
    let back = back.serve(BackServer::new(Backend)).auth(Arc::clone(&provider)).start().await;
    let back = back.expect("starts");
    let link = BackClient::connect("memory://delegation-back").await.expect("connects");
    let front = Server::bind("memory://delegation-front").await.expect("binds");
    let front = front.serve(FrontServer::new(Frontend(link))).auth(Arc::clone(&provider));
    let front = front.start().await.expect("starts");
    let client = FrontClient::connect("memory://delegation-front").await.expect("connects");
    client.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    let mut cx = MessageContext::new();
    cx.trace_id = Some("trace-1".into());
    cx.metadata.insert("note".into(), serde_json::json!("for the front only"));
    let plain = client.relay(Relay { with_credentials: false }).context(cx.clone()).await;
    assert_eq!(plain.expect("relayed"), "nobody with no metadata");
    let delegated = client.relay(Relay { with_credentials: true }).context(cx).await;
    assert_eq!(delegated.expect("relayed"), "u-alice with no metadata");
    front.stop().await;
    back.stop().await;
}
