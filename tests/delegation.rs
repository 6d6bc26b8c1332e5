//! Delegation: a service calls its dependencies on its own behalf. `cx.forward()` carries the
//! trace and the deadline, not the caller's token, actor or metadata; the caller's token goes
//! on only when the service asks for it (`forward_with_credentials`), and only to a service
//! that opted in to forwarded tokens (`Server::accept_forwarded_credentials`).

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
    /// Whether to ask the back service that accepts forwarded tokens.
    pub to_trusting: bool,
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

/// The front service's links: to a back service that refuses forwarded tokens (the
/// default) and to one that opted in.
struct Frontend {
    strict: BackClient,
    trusting: BackClient,
}

impl Front for Frontend {
    async fn relay(&self, req: Relay, cx: Context) -> Result<String, RelayError> {
        let forwarded =
            if req.with_credentials { cx.forward_with_credentials() } else { cx.forward() };
        assert_eq!(forwarded.deadline, cx.deadline, "the deadline carries over");
        assert_eq!(forwarded.trace_id, cx.trace_id, "the trace carries over");
        let back = if req.to_trusting { &self.trusting } else { &self.strict };
        let answer = back.who_is_calling(WhoIsCalling {}).context(forwarded).await;
        answer.map_err(|e| RelayError::back_failed(e.to_string()))
    }
}

/// Serves the back contract at `address`, trusting `provider`'s tokens; `opt_in` accepts
/// forwarded ones too.
async fn serve_back(
    address: &str,
    provider: &Arc<MemoryAuthProvider>,
    opt_in: bool,
) -> (messaging_runtime::RunningServer, BackClient) {
    let back = Server::bind(address).await.expect("binds");
    let back = back.serve(BackServer::new(Backend)).auth(Arc::clone(provider));
    let back = back.accept_forwarded_credentials(opt_in).start().await.expect("starts");
    let link = BackClient::connect(address).await.expect("connects");
    (back, link)
}

#[tokio::test]
async fn a_forwarded_call_carries_the_trace_not_the_callers_token() {
    let provider = Arc::new(MemoryAuthProvider::new().with_hash_cost(HashCost::LOW));
    let alice =
        Actor { id: "u-alice".into(), kind: "user".into(), roles: vec![], permissions: vec![] };
    provider.add_user("alice", "alice-password", alice).expect("alice");
    // Every service trusts the same provider: a token the front saw would work on the back.
    let (strict, strict_link) = serve_back("memory://delegation-back", &provider, false).await;
    let (trusting, trusting_link) =
        serve_back("memory://delegation-back-trusting", &provider, true).await;
    let links = Frontend { strict: strict_link, trusting: trusting_link };
    let front = Server::bind("memory://delegation-front").await.expect("binds");
    let front = front.serve(FrontServer::new(links)).auth(Arc::clone(&provider));
    let front = front.start().await.expect("starts");
    let client = FrontClient::connect("memory://delegation-front").await.expect("connects");
    client.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    let mut cx = MessageContext::new();
    cx.trace_id = Some("trace-1".into());
    cx.metadata.insert("note".into(), serde_json::json!("for the front only"));
    let relay = |with_credentials, to_trusting| Relay { with_credentials, to_trusting };
    for to_trusting in [false, true] {
        let plain = client.relay(relay(false, to_trusting)).context(cx.clone()).await;
        assert_eq!(plain.expect("relayed"), "nobody with no metadata");
    }
    let refused = client.relay(relay(true, false)).context(cx.clone()).await;
    let refused = refused.expect_err("a service that did not opt in refuses forwarded tokens");
    let message = refused.to_string();
    assert!(message.contains("does not accept a caller's token passed on"), "{message}");
    let delegated = client.relay(relay(true, true)).context(cx).await;
    assert_eq!(delegated.expect("relayed"), "u-alice with no metadata");
    front.stop().await;
    strict.stop().await;
    trusting.stop().await;
}
