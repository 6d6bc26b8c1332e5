//! The `ws://` wire protocol, byte for byte, from a raw WebSocket client: the frame shapes
//! of the TypeScript library, and what bad input gets back: `BAD_MESSAGE` under the frame's
//! request id when it has a valid one, else under `null`; never a silent drop. The server
//! never goes down and one bad frame never closes the connection (except an oversized one,
//! which closes only that connection with 1009).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::order::{GetOrderById, OrderServiceClient};
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::ErrorCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use examples::{start_order_service, start_product_service, Services};

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

async fn services() -> Services {
    let products =
        start_product_service("ws://127.0.0.1:0/products").await.expect("products start");
    let orders = start_order_service("ws://127.0.0.1:0/orders", products.address())
        .await
        .expect("orders start");
    Services { products, orders }
}

async fn raw(address: &str) -> Raw {
    tokio_tungstenite::connect_async(address).await.expect("raw client connects").0
}

async fn send(ws: &mut Raw, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("frame sent");
}

/// The next text frame as it came, within [`WAIT`].
async fn next_text(ws: &mut Raw) -> String {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame reads");
        if let Message::Text(text) = message {
            return text.as_str().to_owned();
        }
    }
}

/// The next text frame as JSON, within [`WAIT`].
async fn next_json(ws: &mut Raw) -> Value {
    serde_json::from_str(&next_text(ws).await).expect("the server sends JSON")
}

/// The next frame is `BAD_MESSAGE` (400) under `id` (raw JSON, compared byte for byte);
/// returns its message.
async fn expect_bad_message(ws: &mut Raw, id: &str) -> String {
    let text = next_text(ws).await;
    let head = format!(
        r#"{{"type":"response","requestId":{id},"success":false,"error":{{"code":"BAD_MESSAGE","message":"bad message: "#
    );
    assert!(text.starts_with(&head) && text.ends_with(r#","status":400}}"#), "{text}");
    // Not through `Value`, which cannot hold an id like `1e400`.
    #[derive(serde::Deserialize)]
    struct Answer {
        error: Error,
    }
    #[derive(serde::Deserialize)]
    struct Error {
        message: String,
    }
    let answer: Answer = serde_json::from_str(&text).expect("the server sends JSON");
    answer.error.message
}

/// A valid request still gets its answer: the connection survived what came before.
async fn assert_still_served(ws: &mut Raw, id: &str) {
    let request = json!({"type": "request", "requestId": id, "requestType": "getOrderById",
                         "payload": {"orderId": "missing"}, "context": {}});
    send(ws, &request.to_string()).await;
    let answer = next_json(ws).await;
    assert_eq!(answer["requestId"], id);
    assert_eq!(answer["error"]["code"], "ORDER_NOT_FOUND", "{answer}");
}

#[tokio::test]
async fn requests_get_responses_and_events_in_the_typescript_shapes() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    let create = json!({"type": "request", "requestId": "req-1", "requestType": "createOrder",
        "payload": {"customerId": "c-1", "items": [{"productId": "p-mouse", "quantity": 1}],
                    "shippingAddress": {"name": "A", "street": "S", "city": "C", "state": "ST",
                                        "postalCode": "P", "country": "CO"}},
        "context": {"source": "raw-test", "metadata": {"requestId": "r-9"}}});
    send(&mut ws, &create.to_string()).await;
    let (mut response, mut event) = (None, None);
    for _ in 0..2 {
        let frame = next_json(&mut ws).await;
        match frame["type"].as_str() {
            Some("response") => response = Some(frame),
            Some("event") => event = Some(frame),
            other => panic!("unexpected frame type {other:?}: {frame}"),
        }
    }
    let response = response.expect("a response frame");
    assert_eq!(
        (response["requestId"].as_str(), response["success"].as_bool()),
        (Some("req-1"), Some(true))
    );
    assert_eq!(response["data"]["status"], "pending");
    let event = event.expect("an event frame");
    assert_eq!(event["event"], "orderCreated");
    assert_eq!(event["payload"]["orderId"], response["data"]["id"]);
    services.stop().await;
}

#[tokio::test]
async fn contract_errors_carry_code_message_status_and_details() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, r#"{"type":"request","requestId":"e1","requestType":"getOrderById","payload":{"orderId":"o-7"}}"#).await;
    let answer = next_json(&mut ws).await;
    assert_eq!(answer["success"], false);
    let error = &answer["error"];
    assert_eq!(error["code"], "ORDER_NOT_FOUND");
    assert_eq!(error["message"], "Order with ID o-7 not found");
    assert_eq!(error["status"], 404);
    assert_eq!(error["details"], json!({"orderId": "o-7"}));
    services.stop().await;
}

#[tokio::test]
async fn frames_that_are_not_json_or_not_a_shape_are_answered_and_the_connection_stays() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, "this is not json").await; // no request id to answer under: `null`
    send(&mut ws, "[1, 2, 3]").await;
    send(&mut ws, r#"{"type":"request","requestId":"m1"}"#).await;
    assert!(expect_bad_message(&mut ws, "null").await.contains("not a JSON object"));
    assert!(expect_bad_message(&mut ws, "null").await.contains("not a JSON object"));
    let answer = next_json(&mut ws).await;
    assert_eq!(
        (answer["requestId"].as_str(), answer["error"]["code"].as_str()),
        (Some("m1"), Some("BAD_MESSAGE"))
    );
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.contains("requestType")),
        "{answer}"
    );
    send(&mut ws, r#"{"type":"teleport","requestId":42}"#).await;
    let answer = next_json(&mut ws).await;
    assert_eq!(answer["requestId"], 42, "a numeric request id is echoed as sent");
    assert_eq!(answer["error"]["code"], "BAD_MESSAGE");
    send(&mut ws, r#"{"type":"response","requestId":"m2","success":true,"data":1}"#).await;
    assert_eq!(next_json(&mut ws).await["error"]["code"], "BAD_MESSAGE");
    send(&mut ws, r#"{"type":"request","requestId":"m3","requestType":7,"payload":{}}"#).await;
    assert_eq!(next_json(&mut ws).await["error"]["code"], "BAD_MESSAGE");
    send(
        &mut ws,
        r#"{"type":"request","requestId":"m4","requestType":"getOrderById","context":"nope"}"#,
    )
    .await;
    assert_eq!(next_json(&mut ws).await["error"]["code"], "BAD_MESSAGE");
    assert_still_served(&mut ws, "after-bad-frames").await;
    services.stop().await;
}

#[tokio::test]
async fn binary_frames_are_refused_without_closing() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    ws.send(Message::Binary(vec![0xff, 0x00, 0x13].into())).await.expect("sent");
    assert!(expect_bad_message(&mut ws, "null").await.contains("binary"));
    let framed =
        br#"{"type":"request","requestId":"b1","requestType":"getOrderById","payload":{}}"#;
    ws.send(Message::Binary(framed.to_vec().into())).await.expect("sent");
    let answer = next_json(&mut ws).await;
    assert_eq!(
        (answer["requestId"].as_str(), answer["error"]["code"].as_str()),
        (Some("b1"), Some("BAD_MESSAGE"))
    );
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("binary")), "{answer}");
    assert_still_served(&mut ws, "after-binary").await;
    services.stop().await;
}

#[tokio::test]
async fn payloads_that_do_not_decode_answer_invalid_payload_with_the_path() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, r#"{"type":"request","requestId":"p1","requestType":"getOrderById","payload":{"orderId":5}}"#).await;
    let error = next_json(&mut ws).await["error"].clone();
    assert_eq!(
        (error["code"].as_str(), error["status"].as_i64()),
        (Some("INVALID_PAYLOAD"), Some(400))
    );
    assert_eq!(error["details"]["path"], "orderId");
    assert!(
        error["details"]["reason"].as_str().is_some_and(|r| r.contains("invalid type")),
        "{error}"
    );
    let nested = json!({"type": "request", "requestId": "p2", "requestType": "createOrder",
        "payload": {"customerId": "c", "items": [{"productId": "p-mouse", "quantity": "two"}],
                    "shippingAddress": {}}});
    send(&mut ws, &nested.to_string()).await;
    let error = next_json(&mut ws).await["error"].clone();
    assert_eq!(error["details"]["path"], "items[0].quantity", "{error}");
    send(
        &mut ws,
        r#"{"type":"request","requestId":"p3","requestType":"launchRocket","payload":{}}"#,
    )
    .await;
    let error = next_json(&mut ws).await["error"].clone();
    assert_eq!(
        (error["code"].as_str(), error["status"].as_i64()),
        (Some("UNKNOWN_REQUEST_TYPE"), Some(404))
    );
    assert_still_served(&mut ws, "after-bad-payloads").await;
    services.stop().await;
}

#[tokio::test]
async fn an_oversized_message_closes_only_that_connection_with_1009() {
    let services = services().await;
    let mut victim = raw(services.orders.address()).await;
    let mut bystander = raw(services.orders.address()).await;
    let huge =
        format!(r#"{{"type":"request","requestId":"big","payload":"{}"}}"#, "x".repeat(2 << 20));
    // The server may close before the whole message is written; that is the point.
    let _ = victim.send(Message::Text(huge.into())).await;
    let close = tokio::time::timeout(WAIT, async {
        while let Some(message) = victim.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    })
    .await
    .expect("the server closes in time")
    .expect("with a close frame");
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.as_str().contains("too big"), "{close:?}");
    assert_still_served(&mut bystander, "bystander").await;
    services.stop().await;
}

#[tokio::test]
async fn odd_shapes_are_refused_under_their_request_id_or_null() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    // A `success` of the wrong type still leaves the request id readable.
    send(&mut ws, r#"{"type":"response","requestId":"s2","success":1}"#).await;
    let answer = next_json(&mut ws).await;
    assert_eq!(
        (answer["requestId"].as_str(), answer["error"]["code"].as_str()),
        (Some("s2"), Some("BAD_MESSAGE"))
    );
    // A binary frame of any shape is refused under its id.
    let binary = br#"{"type":"response","requestId":"s3","success":true,"data":1}"#;
    ws.send(Message::Binary(binary.to_vec().into())).await.expect("sent");
    let answer = next_json(&mut ws).await;
    assert_eq!(
        (answer["requestId"].as_str(), answer["error"]["code"].as_str()),
        (Some("s3"), Some("BAD_MESSAGE"))
    );
    // A JSON array is not a frame, even one serde could read as a request: no id to read.
    send(&mut ws, r#"["request","s5","getOrderById",null,{"orderId":"x"},null,null,null,null]"#)
        .await;
    assert!(expect_bad_message(&mut ws, "null").await.contains("not a JSON object"));
    assert_still_served(&mut ws, "after-odd-shapes").await;
    services.stop().await;
}

#[tokio::test]
async fn frames_with_no_readable_request_id_get_bad_message_under_null() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, "{not json").await;
    let message = expect_bad_message(&mut ws, "null").await;
    assert!(message.contains("not valid JSON"), "{message}");
    send(&mut ws, "42").await;
    expect_bad_message(&mut ws, "null").await;
    send(&mut ws, r#"{"type":"request","requestType":"getOrderById","payload":{}}"#).await;
    let message = expect_bad_message(&mut ws, "null").await;
    assert!(message.contains("no `requestId`"), "{message}");
    ws.send(Message::Binary(vec![0xff, 0x00, 0x13].into())).await.expect("sent");
    let message = expect_bad_message(&mut ws, "null").await;
    assert!(message.contains("binary"), "{message}");
    assert_still_served(&mut ws, "after-no-id").await;
    services.stop().await;
}

#[tokio::test]
async fn request_ids_that_are_not_a_non_empty_string_or_a_number_get_bad_message_under_null() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    for id in ["null", r#"{"a":1}"#, r#""""#, "true", "[1]"] {
        let frame = format!(
            r#"{{"type":"request","requestId":{id},"requestType":"getOrderById","payload":{{"orderId":"x"}}}}"#
        );
        send(&mut ws, &frame).await;
        let message = expect_bad_message(&mut ws, "null").await;
        let want = format!("`requestId` must be a non-empty string or a number, found `{id}`");
        assert!(message.ends_with(&want), "{id}: {message}");
    }
    // The same rule for a cancel frame's id, and for an event that carries one.
    send(&mut ws, r#"{"type":"cancel","requestId":null}"#).await;
    expect_bad_message(&mut ws, "null").await;
    for id in ["null", "false"] {
        let event = format!(r#"{{"type":"event","event":"orderCreated","requestId":{id}}}"#);
        send(&mut ws, &event).await;
        expect_bad_message(&mut ws, "null").await;
    }
    // A long id is quoted cut short.
    let long = format!(r#"{{"type":"request","requestId":[{}1]}}"#, "1,".repeat(100));
    send(&mut ws, &long).await;
    let message = expect_bad_message(&mut ws, "null").await;
    assert!(message.len() < 160 && message.ends_with("…`"), "{message}");
    assert_still_served(&mut ws, "after-invalid-ids").await;
    services.stop().await;
}

#[tokio::test]
async fn numeric_request_ids_are_echoed_verbatim() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    for id in ["1e400", "-0", "18446744073709551616"] {
        let frame = format!(
            r#"{{"type":"request","requestId":{id},"requestType":"getOrderById","payload":{{"orderId":"x"}}}}"#
        );
        send(&mut ws, &frame).await;
        let text = next_text(&mut ws).await;
        let head = format!(r#"{{"type":"response","requestId":{id},"success":false,"#);
        assert!(text.starts_with(&head) && text.contains("ORDER_NOT_FOUND"), "{text}");
    }
    send(&mut ws, r#"{"type":"teleport","requestId":1e400}"#).await;
    expect_bad_message(&mut ws, "1e400").await;
    assert_still_served(&mut ws, "after-numeric-ids").await;
    services.stop().await;
}

#[tokio::test]
async fn duplicate_envelope_fields_get_bad_message() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    // Which of two ids would be meant? Neither: `null`.
    send(&mut ws, r#"{"type":"request","requestId":"d1","requestId":"d2","requestType":"getOrderById","payload":{"orderId":"x"}}"#).await;
    let message = expect_bad_message(&mut ws, "null").await;
    assert!(message.ends_with("duplicate field `requestId`"), "{message}");
    // One valid id: the answer goes under it, even when the duplicate is spelt with escapes.
    send(
        &mut ws,
        r#"{"type":"request","typ\u0065":"event","requestId":"d3","requestType":"getOrderById"}"#,
    )
    .await;
    let message = expect_bad_message(&mut ws, r#""d3""#).await;
    assert!(message.ends_with("duplicate field `type`"), "{message}");
    send(&mut ws, r#"{"type":"event","event":"a","event":"b","payload":{}}"#).await;
    assert!(expect_bad_message(&mut ws, "null").await.ends_with("duplicate field `event`"));
    // Unknown fields may repeat; they are ignored.
    send(&mut ws, r#"{"type":"request","requestId":"d4","x":1,"x":2,"requestType":"getOrderById","payload":{"orderId":"x"}}"#).await;
    assert_eq!(next_json(&mut ws).await["error"]["code"], "ORDER_NOT_FOUND");
    assert_still_served(&mut ws, "after-duplicates").await;
    services.stop().await;
}

#[tokio::test]
async fn binary_event_frames_get_bad_message_under_their_id() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    let event = br#"{"type":"event","requestId":"be1","event":"orderCreated","payload":{}}"#;
    ws.send(Message::Binary(event.to_vec().into())).await.expect("sent");
    let message = expect_bad_message(&mut ws, r#""be1""#).await;
    assert!(message.contains("binary"), "{message}");
    let event = br#"{"type":"event","event":"orderCreated","payload":{}}"#;
    ws.send(Message::Binary(event.to_vec().into())).await.expect("sent");
    expect_bad_message(&mut ws, "null").await;
    assert_still_served(&mut ws, "after-binary-events").await;
    services.stop().await;
}

#[tokio::test]
async fn valid_events_and_cancels_get_no_answer() {
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, r#"{"type":"event","event":"somethingHappened","payload":{},"requestId":"ev"}"#)
        .await;
    send(&mut ws, r#"{"type":"cancel","requestId":"never-sent"}"#).await;
    send(&mut ws, r#"{"type":"cancel","requestId":7}"#).await;
    // The next frame is the probe's answer: nothing came before it.
    assert_still_served(&mut ws, "after-events-and-cancels").await;
    services.stop().await;
}

/// Records the fields of every `WARN` event.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

/// Writes an event's fields as `name=value` pairs.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut text = String::new();
            event.record(&mut Fields(&mut text));
            self.0.lock().expect("warnings").push(text);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_rust_client_logs_an_answer_under_null_and_carries_on() {
    let warnings = Warnings::default();
    let subscriber = tracing_subscriber::registry().with(warnings.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = format!("ws://{}/", listener.local_addr().expect("an address"));
    // A stand-in server: answers the first request under `null` first, then under its id.
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        let mut ws = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        let request: Value = loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => break serde_json::from_str(&text).expect("JSON"),
                Some(Ok(_)) => {}
                other => panic!("no request came: {other:?}"),
            }
        };
        let unaddressed = r#"{"type":"response","requestId":null,"success":false,"error":{"code":"BAD_MESSAGE","message":"bad message: a test","status":400}}"#;
        ws.send(Message::Text(unaddressed.into())).await.expect("sent");
        let answer = json!({"type": "response", "requestId": request["requestId"], "success": false,
            "error": {"code": "ORDER_NOT_FOUND", "message": "Order with ID x not found",
                      "status": 404, "details": {"orderId": "x"}}});
        ws.send(Message::Text(answer.to_string().into())).await.expect("sent");
        while let Some(Ok(_)) = ws.next().await {}
    });
    // Without the version handshake: the stand-in answers only the first request.
    let plain = messaging_runtime::Client::connect(&address).await.expect("connects");
    let client = OrderServiceClient::from_client(plain);
    let call = client.get_order_by_id(GetOrderById { order_id: "x".into() });
    let err =
        tokio::time::timeout(WAIT, call).await.expect("answered in time").expect_err("an error");
    assert_eq!(err.contract().map(ErrorCode::code), Some("ORDER_NOT_FOUND"), "{err:?}");
    let logged = warnings.0.lock().expect("warnings").clone();
    assert!(logged.iter().any(|w| w.contains("bad message: a test")), "{logged:?}");
    drop(client);
    let _ = tokio::time::timeout(WAIT, server).await;
}
