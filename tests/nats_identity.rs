//! Identity over `nats://`: there is no socket per client, and anyone on the broker can write
//! any `Mb-Client` header, so a login is never bound to a link. A request that carries no
//! token is anonymous even under the id of a client that logged in; the Rust client sends its
//! token with every request (an actor never travels in a header).

#[path = "support/nats.rs"]
mod nats_server;

use std::time::Duration;

use async_nats::HeaderMap;
use messaging_runtime::auth::{AccessPolicy, Credentials, HashCost, MemoryAuthProvider};
use messaging_runtime::prelude::*;
use messaging_runtime::Actor;
use nats_server::NatsServer;

/// Who the server says is calling.
#[request("whoAmI", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {}

/// Unused.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum VaultError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// A service that needs a login.
#[contract(name = "vault", version = "1.0.0", error = VaultError)]
pub trait Vault {
    /// The verified caller's id.
    #[permission("vault:read")]
    async fn who_am_i(&self, req: WhoAmI, cx: Context) -> Result<String, VaultError>;
}

struct Vaults;

impl Vault for Vaults {
    async fn who_am_i(&self, _req: WhoAmI, cx: Context) -> Result<String, VaultError> {
        Ok(cx
            .auth
            .as_ref()
            .and_then(|a| a.actor.as_ref())
            .map_or("nobody".into(), |a| a.id.clone()))
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_is_not_bound_to_a_client_id_anyone_can_claim() {
    let broker = NatsServer::start();
    let provider = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
    let alice = Actor {
        id: "u-alice".into(),
        kind: "user".into(),
        roles: vec!["reader".into()],
        permissions: vec![],
    };
    provider.add_user("alice", "alice-password", alice).expect("alice");
    let policy = AccessPolicy::builder().grant("reader", ["vault:read"]).build().expect("policy");
    let server = Server::bind(&broker.url()).await.expect("binds");
    let running = server
        .serve(VaultServer::new(Vaults))
        .auth(provider)
        .access(policy)
        .start()
        .await
        .expect("starts");

    // The Rust client logs in and stays authenticated: its token goes with every request.
    let client = VaultClient::connect(&broker.url()).await.expect("connects");
    client.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    assert_eq!(client.who_am_i(WhoAmI {}).await.expect("served"), "u-alice");

    // A plain NATS client logs in under the id `x`, then asks without its token under that
    // id: anonymous, refused.
    let raw = async_nats::connect(broker.url()).await.expect("a plain client connects");
    let ask = |subject: &str, body: &str, headers: HeaderMap| {
        let request = async_nats::Request::new().headers(headers).payload(body.to_owned().into());
        raw.send_request(subject.to_owned(), request.timeout(Some(WAIT)))
    };
    let as_x = || {
        let mut headers = HeaderMap::new();
        headers.insert("Mb-Client", "x");
        headers
    };
    let login =
        ask("mb.vault.$login", r#"{"username":"alice","password":"alice-password"}"#, as_x())
            .await
            .expect("answered");
    let session: serde_json::Value = serde_json::from_slice(&login.payload).expect("json");
    let token = session["token"].as_str().expect("a token").to_owned();
    let anonymous = ask("mb.vault.whoAmI", "{}", as_x()).await.expect("answered");
    let error: serde_json::Value = serde_json::from_slice(&anonymous.payload).expect("json");
    assert_eq!(error["code"], "UNAUTHENTICATED", "{error}");
    // With its token in `Mb-Auth-Token` the request is alice's: the token is what counts.
    let mut claiming = as_x();
    claiming.insert("Mb-Auth-Token", token.as_str());
    let verified = ask("mb.vault.whoAmI", "{}", claiming).await.expect("answered");
    assert_eq!(serde_json::from_slice::<String>(&verified.payload).expect("json"), "u-alice");
    running.stop().await;
}
