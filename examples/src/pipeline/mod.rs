//! The guide's custom middleware pipeline, as a program: authentication, logging, metrics,
//! rate limiting and validation in the real request path of a user service over
//! `memory://`.
//!
//! Every request passes, in this order:
//!
//! 1. the runtime's authentication gate ([`Server::auth`] with the examples' argon2-backed
//!    [`MemoryAuthProvider`], [`Server::access`] with their role table): it answers
//!    `$login`, verifies the token each request carries and writes the verified actor into
//!    the context; a request with no verified caller is answered `UNAUTHENTICATED` (401), one
//!    whose caller lacks the contract's permission `FORBIDDEN` (403). It runs in front of
//!    every layer, so the layers know who is calling (and never see who was turned away
//!    here: the runtime's own `request` span records those);
//! 2. [`layers::logging`]: `tracing` events with each request's outcome and duration;
//! 3. [`Metrics::layer`]: counts requests, errors by code and latency (the guide puts it
//!    last; here it sits outside the limits so what they turn away is counted too);
//! 4. tower's `timeout`, `load_shed` and `concurrency_limit`: the server-wide guard;
//! 5. [`RateLimiter::layer`]: a token bucket per verified user (`RATE_LIMIT_EXCEEDED`, 429);
//! 6. the runtime's validation of the request against the contract's rules, right before
//!    the handler (`VALIDATION_ERROR`, 400, every failing field in `details`);
//! 7. the handler.
//!
//! [`run`] starts it all, sends one request of each kind and returns a [`Report`].
//!
//! [`MemoryAuthProvider`]: messaging_runtime::MemoryAuthProvider

pub mod layers;
mod metrics;
mod rate_limit;
mod report;
mod users;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use contracts::user::{
    CreateUser, GetUserById, UserServiceClient, UserServiceEvents, UserServiceServer,
};
use messaging_runtime::auth::{Credentials, HashCost, Session};
use messaging_runtime::middleware::BoxError;
use messaging_runtime::payload::Payload;
use messaging_runtime::{AuthProvider, Client, Server};
use serde_json::json;
use tower::ServiceBuilder;

use crate::auth::{demo_policy, demo_provider_with, ALICE_PASSWORD, BOB_PASSWORD};

pub use metrics::{Latency, Metrics, MetricsSnapshot};
pub use rate_limit::{RateLimiter, RATE_LIMIT_EXCEEDED};
pub use report::{Report, Step, OK};
pub use users::Users;

/// What a `from_fn` middleware of the pipeline answers with.
pub type Answer = Pin<Box<dyn Future<Output = Result<Payload, BoxError>> + Send>>;

/// What can stop the demo before its first request: binding, connecting, hashing.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many requests a caller may send per [`RATE_LIMIT_WINDOW`].
pub const RATE_LIMIT: u32 = 5;

/// The window of the per-caller rate limit: long enough that the demo never sees a refill.
pub const RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// The pipeline, in the order a request meets it.
pub const ORDER: &str = "authentication gate ($login, token -> verified actor, permissions) \
    -> logging -> metrics -> timeout/load shedding/concurrency limit -> rate limit per user \
    -> validation -> handler";

/// [`run_with`] with the examples' users (`alice`, an admin, and `bob`, a viewer) hashed at
/// a low cost, without watching the steps: what the tests run.
pub async fn run(name: &str) -> Result<Report, Error> {
    run_with(name, demo_provider_with(HashCost::LOW)?, |_| {}).await
}

/// The user service behind the pipeline, in registration order: logging, metrics, a tower
/// guard (timeout, load shedding, concurrency limit) and the per-user rate limit, with `auth`
/// and the demo's access policy in front.
async fn start(
    name: &str,
    auth: impl AuthProvider,
    metrics: &Metrics,
) -> Result<messaging_runtime::RunningServer, Error> {
    let server = Server::bind(&format!("memory://{name}")).await?;
    let users = Users::new(UserServiceEvents::new(server.broadcaster()));
    let server = server
        .serve(UserServiceServer::new(users))
        .auth(auth)
        .access(demo_policy())
        .layer(layers::logging())
        .layer(metrics.layer())
        .layer(
            ServiceBuilder::new()
                .timeout(layers::REQUEST_TIMEOUT)
                .load_shed()
                .concurrency_limit(layers::MAX_IN_FLIGHT),
        )
        .layer(RateLimiter::new(RATE_LIMIT, RATE_LIMIT_WINDOW).layer())
        .start()
        .await?;
    Ok(server)
}

/// Starts the user service behind the pipeline at `memory://{name}`, authenticating with
/// `auth` (which must know `alice` and `bob` with the examples' passwords), then: `alice`
/// and `bob` log in; `alice` creates and fetches a user (passes); a `createUser` that breaks
/// the contract's rules goes once through a client that checks before sending (refused
/// there, nothing sent) and once through `alice`'s, which does not (the server's
/// validation answers); a client without a token fetches a user (unauthenticated); `bob`, a
/// viewer, creates one (forbidden); `alice` sends a burst past her rate limit. Returns each
/// answer with what the metrics layer counted; `on_step` sees each answer as it arrives.
pub async fn run_with(
    name: &str,
    auth: impl AuthProvider,
    mut on_step: impl FnMut(&Step),
) -> Result<Report, Error> {
    let metrics = Metrics::default();
    let server = start(name, auth, &metrics).await?;
    let address = server.address().to_owned();

    let mut steps = Vec::new();
    let mut record = |step: Step| {
        on_step(&step);
        steps.push(step);
    };

    // alice's client skips the client-side checks, so the server's validation step is what
    // answers bad input (as it is for a client in another language).
    let alice = Client::builder().source("alice").validate(false).connect(&address).await?;
    let login = alice.login(Credentials::new("alice", ALICE_PASSWORD)).await;
    record(Step::new("login", "$login", "alice logs in", login.map(redacted)));
    let bob = Client::builder().source("bob").connect(&address).await?;
    let login = bob.login(Credentials::new("bob", BOB_PASSWORD)).await;
    record(Step::new("login", "$login", "bob logs in", login.map(redacted)));
    let alice = UserServiceClient::from_client(alice);
    let bob = UserServiceClient::from_client(bob);
    let anonymous = UserServiceClient::connect(&address).await?;
    // A client with the default client-side checks (it never logs in: it sends nothing).
    let checking = UserServiceClient::connect(&address).await?;

    let created = alice.create_user(john()).await;
    let user_id = created.as_ref().map(|user| user.id.clone()).unwrap_or_default();
    record(Step::new("passes", "createUser", "alice creates john_doe", created));
    let fetched = alice.get_user_by_id(GetUserById { id: user_id.clone() }).await;
    record(Step::new("passes", "getUserById", format!("alice fetches {user_id}"), fetched));

    let what = "alice creates \"jo\" <not-an-email> with a 5-character password";
    let refused = checking.create_user(invalid()).await;
    let what_client = format!("{what}, through a client that checks before sending");
    record(Step::new("validation-client", "createUser", what_client, refused));
    let invalid = alice.create_user(invalid()).await;
    let what_server = format!("{what}, through alice's client, which does not");
    record(Step::new("validation", "createUser", what_server, invalid));

    let no_token = anonymous.get_user_by_id(GetUserById { id: user_id.clone() }).await;
    let what = format!("a client that never logged in fetches {user_id}");
    record(Step::new("unauthenticated", "getUserById", what, no_token));

    let forbidden = bob.create_user(CreateUser { username: "bobby".into(), ..john() }).await;
    let what = "bob (viewer) creates a user";
    record(Step::new("forbidden", "createUser", what, forbidden));

    // A burst until alice's bucket runs dry: what is left of RATE_LIMIT passes, then one
    // is turned away.
    for n in 1..=RATE_LIMIT + 1 {
        let answer = alice.get_user_by_id(GetUserById { id: user_id.clone() }).await;
        let what = format!("alice fetches {user_id} again (burst request {n})");
        let step = Step::new("burst", "getUserById", what, answer);
        let limited = step.code() == RATE_LIMIT_EXCEEDED;
        record(step);
        if limited {
            break;
        }
    }

    server.stop().await;
    Ok(Report { steps, metrics: metrics.snapshot() })
}

/// The guide's valid `createUser`.
fn john() -> CreateUser {
    CreateUser {
        username: "john_doe".into(),
        email: "john@example.com".into(),
        password: "password123".into(),
    }
}

/// A `createUser` that breaks all three of the contract's rules.
fn invalid() -> CreateUser {
    CreateUser { username: "jo".into(), email: "not-an-email".into(), password: "short".into() }
}

/// A session as the report shows it: who and until when, never the token.
fn redacted(session: Session) -> serde_json::Value {
    json!({ "actor": session.actor, "expiresAt": session.expires_at, "token": "<redacted>" })
}
