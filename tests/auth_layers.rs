//! Authentication and access control are a layer of the server's one request pipeline, at
//! the place of `.auth(..)` among the `.layer(..)` calls: layers added before it see every
//! request, `$login` and `$logout` included, before its token is checked; layers added after
//! it, and `layer_for` layers, see only admitted requests with the verified actor.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use messaging_runtime::auth::{AuthError, Credentials, HashCost, MemoryAuthProvider};
use messaging_runtime::middleware::{from_fn, BoxError, FromFnLayer, Next};
use messaging_runtime::payload::Payload;
use messaging_runtime::prelude::*;
use messaging_runtime::server::ServerRequest;
use messaging_runtime::{Actor, RunningServer, WireError};

use messaging_tests::profile::{ProfileClient, ProfileServer, Profiles, WhoAmI};

fn actor_of(cx: &Context) -> String {
    let actor = cx.auth.as_ref().and_then(|a| a.actor.as_ref());
    actor.map_or_else(|| "nobody".to_owned(), |a| a.id.clone())
}

type Log = Arc<Mutex<Vec<String>>>;
type BoxedAnswer = Pin<Box<dyn Future<Output = Result<Payload, BoxError>> + Send>>;

/// A layer that logs `"{request type} as {actor}"` for every request it sees.
fn recording(
    log: &Log,
) -> FromFnLayer<impl Fn(ServerRequest, Next<ServerRequest>) -> BoxedAnswer + Clone> {
    let log = Arc::clone(log);
    from_fn(move |request: ServerRequest, next: Next<ServerRequest>| -> BoxedAnswer {
        let seen = format!("{} as {}", request.name, actor_of(&request.context));
        log.lock().expect("log").push(seen);
        Box::pin(next.run(request))
    })
}

/// Serves the profile contract with `before` applied ahead of `.auth(..).access(..)` and
/// `after` behind them.
async fn serve(
    address: &str,
    before: impl FnOnce(Server) -> Server,
    after: impl FnOnce(Server) -> Server,
) -> RunningServer {
    let provider = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
    let alice = Actor {
        id: "u-alice".into(),
        kind: "user".into(),
        roles: vec![],
        permissions: vec!["profile:read".into()],
    };
    provider.add_user("alice", "alice-password", alice).expect("alice");
    let policy = messaging_runtime::auth::AccessPolicy::builder().build().expect("a policy");
    let profiles = Arc::new(Profiles::default());
    let server = Server::bind(address).await.expect("binds").serve(ProfileServer::new(profiles));
    let server = after(before(server).auth(provider).access(policy));
    server.start().await.expect("starts")
}

#[tokio::test]
async fn user_layers_see_login_and_logout_and_inner_layers_the_verified_actor() {
    let (outer, inner, typed) = (Log::default(), Log::default(), Log::default());
    let server = serve(
        "memory://auth-layers",
        |s| s.layer(recording(&outer)),
        |s| s.layer(recording(&inner)).layer_for::<WhoAmI, _>(recording(&typed)),
    )
    .await;
    let client = ProfileClient::connect(server.address()).await.expect("connects");
    let anonymous = client.who_am_i(WhoAmI {}).await.expect_err("needs a login");
    assert!(matches!(anonymous, CallError::Unauthenticated(_)), "{anonymous:?}");
    client.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    assert_eq!(client.who_am_i(WhoAmI {}).await.expect("served"), "u-alice");
    client.inner().logout().await.expect("logs out");
    let outer = outer.lock().expect("log").clone();
    assert_eq!(
        outer,
        ["whoAmI as nobody", "$login as nobody", "whoAmI as nobody", "$logout as nobody"],
        "outer layers see every request, before its token is verified"
    );
    for inner in [inner, typed] {
        let inner = inner.lock().expect("log").clone();
        assert_eq!(inner, ["whoAmI as u-alice"], "inner layers see only admitted requests");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_user_layer_can_refuse_logins_before_any_password_is_checked() {
    // A user's own rule, e.g. a rate limit per address: here, no login for `mallory`.
    let refuse_mallory = from_fn(|request: ServerRequest, next: Next<ServerRequest>| async move {
        if request.name == messaging_runtime::auth::LOGIN {
            let json = request.payload.to_json()?;
            let credentials: Credentials = serde_json::from_str(json.get())?;
            if credentials.username == "mallory" {
                let refused = WireError::new("BLOCKED", 403, "logins from mallory are blocked");
                return Err(Box::new(refused) as BoxError);
            }
        }
        next.run(request).await
    });
    let server = serve("memory://auth-layers-refuse", |s| s.layer(refuse_mallory), |s| s).await;
    let client = Client::connect(server.address()).await.expect("connects");
    let blocked = client.login(Credentials::new("mallory", "anything")).await;
    let blocked = blocked.expect_err("the layer refused it");
    assert!(blocked.to_string().contains("logins from mallory are blocked"), "{blocked}");
    let wrong = client.login(Credentials::new("alice", "guess")).await.expect_err("refused");
    assert_eq!(wrong.into_contract(), Some(AuthError::InvalidCredentials), "the provider decides");
    let session = client.login(Credentials::new("alice", "alice-password")).await;
    assert_eq!(session.expect("logs in").actor.id, "u-alice");
    server.stop().await;
}
