//! The `ws://` wire protocol, byte for byte, from a raw WebSocket client: the frame shapes
//! of the TypeScript library, and what bad input gets back. The server never goes down and
//! one bad frame never closes the connection (except an oversized one, which closes only
//! that connection with 1009).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

/// The next text frame as JSON, within [`WAIT`].
async fn next_json(ws: &mut Raw) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open")
            .expect("the frame reads");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("the server sends JSON");
        }
    }
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
async fn frames_that_are_not_json_or_not_a_shape_are_answered_or_dropped_and_the_connection_stays()
{
    let services = services().await;
    let mut ws = raw(services.orders.address()).await;
    send(&mut ws, "this is not json").await; // no request id to answer: logged and dropped
    send(&mut ws, "[1, 2, 3]").await;
    send(&mut ws, r#"{"type":"request","requestId":"m1"}"#).await;
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
async fn odd_shapes_are_refused_under_their_request_id_or_dropped() {
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
    // A JSON array is not a frame, even one serde could read as a request: dropped.
    send(&mut ws, r#"["request","s5","getOrderById",null,{"orderId":"x"},null,null,null,null]"#)
        .await;
    assert_still_served(&mut ws, "after-odd-shapes").await;
    services.stop().await;
}
