//! The server decides who is calling: it verifies tokens (or the session a connection
//! logged in with), hands handlers the verified actor, ignores any actor the client claims,
//! and checks each request's declared permission before dispatch.

use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::auth::{AuthError, Credentials, HashCost, MemoryAuthProvider};
use messaging_runtime::prelude::*;
use messaging_runtime::{Auth, RunningServer};

use messaging_tests::profile::*;

async fn serve(name: &str) -> (RunningServer, Arc<Profiles>) {
    let provider = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
    provider.add_user("alice", "alice-password", actor("u-alice", "admin")).expect("alice");
    provider.add_user("bob", "bob-password", actor("u-bob", "viewer")).expect("bob");
    let profiles = Arc::new(Profiles::default());
    let server = Server::bind(&format!("memory://{name}"))
        .await
        .expect("binds")
        .serve(ProfileServer::new(Arc::clone(&profiles)))
        .auth(provider)
        .access(policy())
        .start()
        .await
        .expect("starts");
    (server, profiles)
}

fn code<E: std::fmt::Debug>(err: &CallError<E>) -> String {
    match err {
        CallError::Internal(wire)
        | CallError::Unauthenticated(wire)
        | CallError::Forbidden(wire) => wire.code.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn login_checks_the_password_and_the_session_carries_the_verified_actor() {
    let (server, _) = serve("auth-login").await;
    let client = ProfileClient::connect(server.address()).await.expect("connects");
    let wrong =
        client.inner().login(Credentials::new("alice", "guess")).await.expect_err("refused");
    assert!(matches!(wrong, CallError::Contract(AuthError::InvalidCredentials)), "{wrong:?}");
    let anonymous = client.who_am_i(WhoAmI {}).await.expect_err("needs a login");
    assert!(matches!(anonymous, CallError::Unauthenticated(_)), "its own variant: {anonymous:?}");
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    let session =
        client.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    assert_eq!(session.actor.id, "u-alice");
    assert_eq!(client.who_am_i(WhoAmI {}).await.expect("allowed"), "u-alice");
    client.inner().logout().await.expect("logs out");
    let after = client.who_am_i(WhoAmI {}).await.expect_err("logged out");
    assert_eq!(code(&after), "UNAUTHENTICATED");
    server.stop().await;
}

#[tokio::test]
async fn a_missing_permission_is_forbidden_and_the_handler_never_runs() {
    let (server, profiles) = serve("auth-forbidden").await;
    let bob = ProfileClient::connect(server.address()).await.expect("connects");
    bob.inner().login(Credentials::new("bob", "bob-password")).await.expect("logs in");
    assert_eq!(bob.who_am_i(WhoAmI {}).await.expect("viewers may read"), "u-bob");
    let err =
        bob.change_setting(ChangeSetting { value: "dark".into() }).await.expect_err("forbidden");
    let CallError::Forbidden(wire) = err else { panic!("expected FORBIDDEN") };
    assert_eq!((wire.code.as_str(), wire.status), ("FORBIDDEN", Some(403)));
    assert!(profiles.changed.lock().expect("changed").is_empty(), "the handler was not called");
    let alice = ProfileClient::connect(server.address()).await.expect("connects");
    alice.inner().login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    let changed = alice.change_setting(ChangeSetting { value: "dark".into() }).await;
    assert_eq!(changed.expect("admins inherit viewer and hold settings:*"), "dark");
    server.stop().await;
}

#[tokio::test]
async fn a_client_cannot_act_as_another_by_forging_its_context() {
    let (server, _) = serve("auth-forgery").await;
    let mallory = ProfileClient::connect(server.address()).await.expect("connects");
    let forged = MessageContext {
        source: Some("u-alice".into()),
        auth: Some(Box::new(Auth {
            token: None,
            actor: Some(actor("u-alice", "admin")),
            forwarded: false,
        })),
        ..MessageContext::new()
    }
    .with_metadata("clientId", "client-1");
    let err = mallory.who_am_i(WhoAmI {}).context(forged.clone()).await.expect_err("no token");
    assert_eq!(code(&err), "UNAUTHENTICATED", "a claimed actor is not an identity");
    let bad_token = MessageContext {
        auth: Some(Box::new(Auth { token: Some("made-up".into()), actor: None, forwarded: false })),
        ..forged
    };
    let err = mallory.who_am_i(WhoAmI {}).context(bad_token).await.expect_err("unknown token");
    assert_eq!(code(&err), "UNAUTHENTICATED");
    mallory.inner().login(Credentials::new("bob", "bob-password")).await.expect("logs in as bob");
    let claim_alice = MessageContext {
        auth: Some(Box::new(Auth {
            token: None,
            actor: Some(actor("u-alice", "admin")),
            forwarded: false,
        })),
        ..MessageContext::new()
    };
    let who = mallory.who_am_i(WhoAmI {}).context(claim_alice).await.expect("bob's session");
    assert_eq!(who, "u-bob", "the verified session wins over the claimed actor");
    server.stop().await;
}

/// Serves the profile contract at `address` with a provider shared across restarts.
async fn serve_shared(address: &str, provider: &Arc<MemoryAuthProvider>) -> RunningServer {
    Server::bind(address)
        .await
        .expect("binds")
        .serve(ProfileServer::new(Arc::new(Profiles::default())))
        .auth(Arc::clone(provider))
        .access(policy())
        .start()
        .await
        .expect("starts")
}

#[tokio::test]
async fn a_client_that_reconnects_stays_logged_in() {
    let provider = Arc::new(MemoryAuthProvider::new().with_hash_cost(HashCost::LOW));
    provider.add_user("alice", "alice-password", actor("u-alice", "admin")).expect("alice");
    let first = serve_shared("ws://127.0.0.1:0/auth-reconnect", &provider).await;
    let address = first.address().to_owned();
    let backoff = messaging_runtime::Backoff {
        initial_delay: std::time::Duration::from_millis(20),
        max_delay: std::time::Duration::from_millis(100),
        ..messaging_runtime::Backoff::default()
    };
    let client = Client::builder().reconnect(backoff).connect(&address).await.expect("connects");
    client.login(Credentials::new("alice", "alice-password")).await.expect("logs in");
    let profile = ProfileClient::from_client(client);
    assert_eq!(profile.who_am_i(WhoAmI {}).await.expect("served"), "u-alice");
    first.stop().await;
    let mut status = profile.inner().watch_status();
    let wait = std::time::Duration::from_secs(5);
    let down =
        tokio::time::timeout(wait, status.wait_for(|s| *s == ConnectionStatus::Reconnecting));
    assert!(down.await.is_ok(), "reconnecting");
    let second = serve_shared(&address, &provider).await;
    let up = tokio::time::timeout(wait, status.wait_for(|s| *s == ConnectionStatus::Connected));
    assert!(up.await.is_ok(), "connected again");
    // The token travels with every request: the new server verifies it, no new login needed.
    assert_eq!(profile.who_am_i(WhoAmI {}).await.expect("still logged in"), "u-alice");
    // A per-call context is laid over the client's own: the login stays (it used to replace
    // it, and the reconnected client was then anonymous).
    let traced = MessageContext::new().with_trace_id("t-per-call");
    let who = profile.who_am_i(WhoAmI {}).context(traced).await.expect("still logged in");
    assert_eq!(who, "u-alice");
    second.stop().await;
}

#[tokio::test]
async fn failed_logins_back_off_and_the_right_password_works_after_the_wait() {
    let provider = MemoryAuthProvider::new().with_hash_cost(HashCost::LOW);
    provider.add_user("alice", "alice-password", actor("u-alice", "admin")).expect("alice");
    let throttle = messaging_runtime::server::LoginThrottle {
        free_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
    };
    let server = Server::bind("memory://auth-throttle")
        .await
        .expect("binds")
        .serve(ProfileServer::new(Arc::new(Profiles::default())))
        .auth(provider)
        .login_throttle(throttle)
        .start()
        .await
        .expect("starts");
    let client = Client::connect("memory://auth-throttle").await.expect("connects");
    for attempt in 1..=4 {
        let wrong = client.login(Credentials::new("alice", "guess")).await;
        let err = wrong.expect_err("a wrong password").into_contract();
        assert_eq!(err, Some(AuthError::InvalidCredentials), "attempt {attempt}");
    }
    // Past the free attempts: even the right password waits, and says how long.
    let early = client.login(Credentials::new("alice", "alice-password")).await;
    let Some(AuthError::TooManyAttempts { retry_after_ms }) =
        early.expect_err("too soon").into_contract()
    else {
        panic!("expected TOO_MANY_ATTEMPTS");
    };
    assert!((1..=200).contains(&retry_after_ms), "{retry_after_ms}");
    // The account is throttled for every connection, not only this one.
    let other = Client::connect("memory://auth-throttle").await.expect("connects");
    let elsewhere = other.login(Credentials::new("alice", "alice-password")).await;
    assert!(matches!(
        elsewhere.expect_err("too soon").into_contract(),
        Some(AuthError::TooManyAttempts { .. })
    ));
    // After the wait the right password works again.
    let mut logged_in = None;
    for _ in 0..20 {
        match client.login(Credentials::new("alice", "alice-password")).await {
            Ok(session) => {
                logged_in = Some(session);
                break;
            }
            Err(e) => match e.into_contract() {
                Some(AuthError::TooManyAttempts { retry_after_ms }) => {
                    tokio::time::sleep(Duration::from_millis(retry_after_ms)).await;
                }
                other => panic!("expected a wait, got {other:?}"),
            },
        }
    }
    assert_eq!(logged_in.expect("logged in after the wait").actor.id, "u-alice");
    server.stop().await;
}

#[tokio::test]
async fn a_server_without_auth_discards_the_actor_a_client_claims() {
    let running = Server::bind("memory://auth-no-provider")
        .await
        .expect("binds")
        .serve(ProfileServer::new(Arc::new(Profiles::default())))
        .start()
        .await
        .expect("starts");
    let client = ProfileClient::connect("memory://auth-no-provider").await.expect("connects");
    let claim = MessageContext {
        auth: Some(Box::new(Auth {
            token: None,
            actor: Some(actor("root", "admin")),
            forwarded: false,
        })),
        ..MessageContext::new()
    };
    let who = client.who_am_i(WhoAmI {}).context(claim).await.expect("served");
    assert_eq!(who, "nobody", "nothing verified the claimed actor: the handler sees none");
    running.stop().await;
}
