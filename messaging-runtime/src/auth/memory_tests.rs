//! Tests of [`MemoryAuthProvider`](super::MemoryAuthProvider), on a clock moved by hand.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

fn actor(id: &str, roles: &[&str]) -> Actor {
    Actor {
        id: id.into(),
        kind: "user".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        permissions: Vec::new(),
    }
}

/// A provider on a clock the test moves by hand, starting at t = 1000 ms.
fn provider(ttl: Duration) -> (MemoryAuthProvider, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(1_000));
    let clock = Arc::clone(&now);
    let auth = MemoryAuthProvider::new()
        .with_hash_cost(HashCost::LOW)
        .with_ttl(ttl)
        .with_clock(move || clock.load(Ordering::SeqCst));
    auth.add_user("alice", "s3cret-pass", actor("alice", &["admin"])).expect("hashes");
    (auth, now)
}

#[tokio::test]
async fn login_opens_a_session_that_verifies_to_the_actor() {
    let (auth, _) = provider(Duration::from_secs(60));
    let session = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("logs in");
    assert_eq!(session.actor, actor("alice", &["admin"]));
    assert_eq!(session.expires_at, 61_000);
    assert_eq!(session.token.len(), 64);
    assert!(session.token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(auth.verify(&session.token).await, Ok(actor("alice", &["admin"])));
    let again = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("again");
    assert_ne!(again.token, session.token, "every login gets a fresh token");
    assert_eq!(auth.session_count(), 2);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_error() {
    let (auth, _) = provider(Duration::from_secs(60));
    let bad = auth.login(Credentials::new("alice", "wrong")).await;
    assert_eq!(bad, Err(AuthError::InvalidCredentials));
    let unknown = auth.login(Credentials::new("mallory", "s3cret-pass")).await;
    assert_eq!(unknown, Err(AuthError::InvalidCredentials));
    assert_eq!(auth.session_count(), 0);
}

#[tokio::test]
async fn verify_rejects_unknown_tokens_and_expired_sessions() {
    let (auth, now) = provider(Duration::from_secs(60));
    assert_eq!(auth.verify("not-a-token").await, Err(AuthError::UnknownToken));
    let session = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("ok");
    now.store(60_999, Ordering::SeqCst);
    assert!(auth.verify(&session.token).await.is_ok(), "alive until the TTL has passed");
    now.store(61_000, Ordering::SeqCst);
    assert_eq!(auth.verify(&session.token).await, Err(AuthError::ExpiredToken));
    assert_eq!(auth.verify(&session.token).await, Err(AuthError::UnknownToken), "forgotten");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (auth, _) = provider(Duration::from_secs(60));
    let session = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("ok");
    assert_eq!(auth.logout(&session.token).await, Ok(()));
    assert_eq!(auth.verify(&session.token).await, Err(AuthError::UnknownToken));
    assert_eq!(auth.logout(&session.token).await, Err(AuthError::UnknownToken));
}

#[tokio::test]
async fn login_purges_expired_sessions() {
    let (auth, now) = provider(Duration::from_secs(1));
    let _old = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("ok");
    now.store(5_000, Ordering::SeqCst);
    assert_eq!(auth.session_count(), 0);
    let _new = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("ok");
    assert_eq!(lock(&auth.sessions).len(), 1, "the expired session was dropped");
}

#[tokio::test]
async fn stores_argon2_hashes_never_the_password() {
    let (auth, _) = provider(Duration::from_secs(60));
    let hash = read(&auth.users).get("alice").map(|u| u.hash.clone()).expect("user");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("s3cret-pass"));
    let phc = hash_password("another-pass", HashCost::LOW).expect("hashes");
    auth.add_hashed_user("bob", &phc, actor("bob", &["viewer"])).expect("accepts PHC");
    assert!(auth.login(Credentials::new("bob", "another-pass")).await.is_ok());
    assert!(auth.add_hashed_user("eve", "plaintext", actor("eve", &[])).is_err());
}

#[tokio::test]
async fn replacing_or_removing_a_user_ends_their_sessions() {
    let (auth, _) = provider(Duration::from_secs(60));
    let session = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("ok");
    auth.add_user("alice", "new-pass-123", actor("alice", &["admin"])).expect("hashes");
    assert_eq!(auth.verify(&session.token).await, Err(AuthError::UnknownToken));
    assert!(auth.login(Credentials::new("alice", "s3cret-pass")).await.is_err());
    let session = auth.login(Credentials::new("alice", "new-pass-123")).await.expect("ok");
    assert!(auth.remove_user("alice"));
    assert_eq!(auth.verify(&session.token).await, Err(AuthError::UnknownToken));
}

#[tokio::test]
async fn a_login_past_the_per_user_cap_ends_that_users_oldest_session() {
    let (auth, now) = provider(Duration::from_secs(3600));
    let auth = auth.with_session_limits(2, 100);
    let login = || auth.login(Credentials::new("alice", "s3cret-pass"));
    let first = login().await.expect("first");
    now.fetch_add(10, Ordering::SeqCst);
    let second = login().await.expect("second");
    now.fetch_add(10, Ordering::SeqCst);
    let third = login().await.expect("third");
    assert_eq!(auth.session_count(), 2, "capped at 2 for one user");
    assert_eq!(auth.verify(&first.token).await, Err(AuthError::UnknownToken), "the oldest ended");
    assert!(auth.verify(&second.token).await.is_ok());
    assert!(auth.verify(&third.token).await.is_ok());
}

#[tokio::test]
async fn the_total_cap_ends_the_oldest_session_of_anyone() {
    let (auth, now) = provider(Duration::from_secs(3600));
    let auth = auth.with_session_limits(10, 2);
    auth.add_user("bob", "b0b-password", actor("bob", &[])).expect("hashes");
    let alice = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("alice");
    now.fetch_add(10, Ordering::SeqCst);
    let bob = auth.login(Credentials::new("bob", "b0b-password")).await.expect("bob");
    now.fetch_add(10, Ordering::SeqCst);
    let again = auth.login(Credentials::new("bob", "b0b-password")).await.expect("bob again");
    assert_eq!(auth.session_count(), 2);
    assert_eq!(auth.verify(&alice.token).await, Err(AuthError::UnknownToken));
    assert!(auth.verify(&bob.token).await.is_ok() && auth.verify(&again.token).await.is_ok());
}

#[tokio::test]
async fn an_idle_session_expires_and_use_keeps_one_alive() {
    let (auth, now) = provider(Duration::from_secs(3600));
    let auth = auth.with_idle_timeout(Duration::from_secs(60));
    let used = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("logs in");
    let idle = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("logs in");
    now.fetch_add(40_000, Ordering::SeqCst);
    assert!(auth.verify(&used.token).await.is_ok(), "used after 40 s");
    now.fetch_add(40_000, Ordering::SeqCst);
    assert!(auth.verify(&used.token).await.is_ok(), "used again 40 s later: still alive");
    assert_eq!(auth.verify(&idle.token).await, Err(AuthError::ExpiredToken), "80 s unused");
}

#[tokio::test]
async fn logout_all_ends_every_session_of_one_user() {
    let (auth, _) = provider(Duration::from_secs(3600));
    auth.add_user("bob", "b0b-password", actor("bob", &[])).expect("hashes");
    let a1 = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("alice");
    let a2 = auth.login(Credentials::new("alice", "s3cret-pass")).await.expect("alice");
    let bob = auth.login(Credentials::new("bob", "b0b-password")).await.expect("bob");
    assert_eq!(auth.logout_all("alice"), 2);
    assert_eq!(auth.verify(&a1.token).await, Err(AuthError::UnknownToken));
    assert_eq!(auth.verify(&a2.token).await, Err(AuthError::UnknownToken));
    assert!(auth.verify(&bob.token).await.is_ok(), "other users keep theirs");
}
