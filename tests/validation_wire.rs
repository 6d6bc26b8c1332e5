//! Validation in the request path, end to end: the server answers a request that breaks the
//! contract's rules with `VALIDATION_ERROR` before the handler runs; the client checks before
//! sending (by default, with no round trip) and can be told not to; events a client emits are
//! checked too. Over `memory://` and, byte for byte, over `ws://`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use contracts::user::{
    CreateUser, GetUserById, User, UserCreated, UserError, UserService, UserServiceClient,
    UserServiceServer,
};
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::error::codes;
use messaging_runtime::middleware::{from_fn, Next};
use messaging_runtime::prelude::*;
use messaging_runtime::server::ServerRequest;
use messaging_runtime::{RunningServer, ValidationFailure};
use messaging_tests::wait::until;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Bounds every wait in this file.
const WAIT: Duration = Duration::from_secs(5);

/// Counts what reaches the server and what reaches the handler.
#[derive(Default)]
struct Counts {
    /// Requests that arrived at the server (seen by its first middleware).
    arrived: AtomicUsize,
    /// `createUser` handler runs.
    handled: AtomicUsize,
    /// `userCreated` events a client emitted that reached the server's handler.
    events: AtomicUsize,
}

#[derive(Clone)]
struct Users(Arc<Counts>);

impl UserService for Users {
    async fn create_user(&self, req: CreateUser, _cx: Context) -> Result<User, UserError> {
        self.0.handled.fetch_add(1, Ordering::SeqCst);
        Ok(User { id: "u-1".into(), username: req.username, email: req.email, created_at: 1 })
    }

    async fn get_user_by_id(&self, req: GetUserById, _cx: Context) -> Result<User, UserError> {
        Err(UserError::user_not_found(req.id))
    }
}

async fn serve(address: &str, counts: &Arc<Counts>) -> RunningServer {
    let arrivals = Arc::clone(counts);
    let counting = from_fn(move |request: ServerRequest, next: Next<ServerRequest>| {
        arrivals.arrived.fetch_add(1, Ordering::SeqCst);
        next.run(request)
    });
    let events = Arc::clone(counts);
    Server::bind(address)
        .await
        .expect("binds")
        .serve(UserServiceServer::new(Users(Arc::clone(counts))))
        .layer(counting)
        .on_event::<UserCreated, _, _>(move |_event, _cx| {
            events.events.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .start()
        .await
        .expect("starts")
}

fn invalid() -> CreateUser {
    CreateUser { username: "al".into(), email: "not-an-address".into(), password: "hunter2".into() }
}

fn valid() -> CreateUser {
    CreateUser {
        username: "ada".into(),
        email: "ada@example.com".into(),
        password: "correct horse".into(),
    }
}

fn rules(failure: &ValidationFailure) -> Vec<(&str, &str)> {
    failure.fields().iter().map(|f| (f.field.as_str(), f.rule.as_str())).collect()
}

const EVERY_RULE: [(&str, &str); 3] =
    [("email", "email"), ("password", "length"), ("username", "length")];

#[tokio::test]
async fn the_server_rejects_an_invalid_request_before_the_handler() {
    let counts = Arc::new(Counts::default());
    let server = serve("memory://validation-server", &counts).await;
    // A client that does not check, so the request reaches the server.
    let client = Client::builder()
        .timeout(WAIT)
        .validate(false)
        .connect(server.address())
        .await
        .expect("connects");
    let users = UserServiceClient::from_client(client);

    let err = users.create_user(invalid()).await.expect_err("breaks the rules");
    let CallError::Validation(failure) = err else { panic!("expected a validation error: {err}") };
    assert_eq!(rules(&failure), EVERY_RULE);
    assert_eq!(counts.arrived.load(Ordering::SeqCst), 1, "the request went to the server");
    assert_eq!(counts.handled.load(Ordering::SeqCst), 0, "the handler never ran");

    let user = users.create_user(valid()).await.expect("a valid request is served");
    assert_eq!(user.username, "ada");
    assert_eq!(counts.handled.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_client_checks_before_sending_by_default() {
    let counts = Arc::new(Counts::default());
    let server = serve("memory://validation-client", &counts).await;
    let users = UserServiceClient::connect(server.address()).await.expect("connects");

    let err = users.create_user(invalid()).await.expect_err("breaks the rules");
    let CallError::Validation(failure) = err else { panic!("expected a validation error: {err}") };
    assert_eq!(rules(&failure), EVERY_RULE);
    assert_eq!(
        failure.to_string(),
        "validation failed: email (email), password (length), username (length)"
    );
    assert_eq!(counts.arrived.load(Ordering::SeqCst), 0, "nothing was sent: no round trip");
    assert_eq!(counts.handled.load(Ordering::SeqCst), 0);

    // One rule at a time, each refused on the client.
    for (bad, field) in [
        (CreateUser { username: "a".repeat(51), ..valid() }, "username"),
        (CreateUser { email: "ada.example.com".into(), ..valid() }, "email"),
        (CreateUser { password: "1234567".into(), ..valid() }, "password"),
    ] {
        let err = users.create_user(bad).await.expect_err("breaks one rule");
        let CallError::Validation(failure) = err else { panic!("expected a validation error") };
        assert_eq!(failure.fields().len(), 1);
        assert_eq!(failure.fields()[0].field, field);
    }
    assert_eq!(counts.arrived.load(Ordering::SeqCst), 0, "still nothing sent");

    users.create_user(valid()).await.expect("a valid request is sent and served");
    assert_eq!(counts.arrived.load(Ordering::SeqCst), 1);
    assert_eq!(counts.handled.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_client_check_fails_fast_even_with_no_server_to_answer() {
    let counts = Arc::new(Counts::default());
    let server = serve("memory://validation-gone", &counts).await;
    let users = UserServiceClient::connect(server.address()).await.expect("connects");
    server.stop().await;
    // Nothing could answer, yet the bad request fails at once with the validation error.
    let err = tokio::time::timeout(WAIT, users.create_user(invalid()))
        .await
        .expect("fails fast")
        .expect_err("breaks the rules");
    assert!(matches!(err, CallError::Validation(_)), "{err}");
}

#[tokio::test]
async fn events_a_client_emits_are_checked_by_the_server() {
    let counts = Arc::new(Counts::default());
    let server = serve("memory://validation-events", &counts).await;
    let users = UserServiceClient::connect(server.address()).await.expect("connects");
    let event = |email: &str| UserCreated {
        id: "u-1".into(),
        username: "ada".into(),
        email: email.into(),
        created_at: 1,
    };
    users.emit(event("not-an-address")).expect("emitted");
    users.emit(event("ada@example.com")).expect("emitted");
    // Events arrive in order: once the valid one is handled, the invalid one was dropped.
    until("the valid event arrives", || counts.events.load(Ordering::SeqCst) > 0).await;
    assert_eq!(counts.events.load(Ordering::SeqCst), 1, "only the valid event was handled");
    server.stop().await;
}

#[tokio::test]
async fn over_ws_the_answer_lists_every_failing_field() {
    let counts = Arc::new(Counts::default());
    let server = serve("ws://127.0.0.1:0/users", &counts).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(server.address()).await.expect("raw client connects");
    let request = json!({"type": "request", "requestId": "v-1", "requestType": "createUser",
        "payload": {"username": "al", "email": "nope", "password": "hunter2"}, "context": {}});
    ws.send(Message::Text(request.to_string().into())).await.expect("frame sent");
    let answer = loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an answer in time")
            .expect("the connection is open")
            .expect("the frame reads");
        if let Message::Text(text) = message {
            break serde_json::from_str::<Value>(text.as_str()).expect("JSON");
        }
    };
    assert_eq!(answer["requestId"], "v-1");
    assert_eq!(answer["success"], false);
    let error = &answer["error"];
    assert_eq!(error["code"], codes::VALIDATION_ERROR);
    assert_eq!(error["status"], 400);
    assert_eq!(
        error["message"],
        "validation failed: email (email), password (length), username (length)"
    );
    assert_eq!(
        error["details"],
        json!({"fields": [
            {"field": "email", "rule": "email", "message": "must be a valid email address",
             "params": {}},
            {"field": "password", "rule": "length", "message": "length must be at least 8",
             "params": {"min": 8}},
            {"field": "username", "rule": "length", "message": "length must be between 3 and 50",
             "params": {"min": 3, "max": 50}},
        ]})
    );
    assert!(!answer.to_string().contains("hunter2"), "the password is not echoed");
    assert_eq!(counts.handled.load(Ordering::SeqCst), 0, "the handler never ran");
    server.stop().await;
}
