//! What the `ws://` client makes of a server's successful responses: it reads the data of a
//! response once, into the caller's type, when the data is the frame's last field (as this
//! library's servers write it), and still finds it, by reading the whole frame, when a peer
//! of another implementation writes its fields in another order or adds fields after it. Data
//! that is not the caller's type fails the call at once, saying why.

use std::time::Duration;

use contracts::order::{GetOrderById, OrderServiceClient};
use futures_util::{SinkExt, StreamExt};
use messaging_runtime::CallError;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

/// An order as JSON, with `id`.
fn order(id: &str) -> Value {
    json!({
        "id": id, "customerId": "c-1", "status": "pending", "totalAmount": 2.5,
        "items": [{"productId": "p-1", "name": "pen", "price": 2.5, "quantity": 1}],
        "shippingAddress": {"name": "Ann", "street": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "12345", "country": "US"},
        "createdAt": 1, "updatedAt": 2
    })
}

/// A stand-in server that answers each request with the text `answer` makes of its id.
async fn stand_in(answer: fn(&str) -> String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = format!("ws://{}/", listener.local_addr().expect("an address"));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        let mut ws = tokio_tungstenite::accept_async(stream).await.expect("handshake");
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else { continue };
            let request: Value = serde_json::from_str(&text).expect("a JSON request");
            let id = request["requestId"].as_str().expect("a string id").to_owned();
            if ws.send(Message::Text(answer(&id).into())).await.is_err() {
                return;
            }
        }
    });
    (address, server)
}

/// One `getOrderById` call to a stand-in that answers with `answer`.
async fn call(
    answer: fn(&str) -> String,
) -> Result<contracts::order::Order, CallError<contracts::order::OrderError>> {
    let (address, server) = stand_in(answer).await;
    let plain = messaging_runtime::Client::connect(&address).await.expect("connects");
    let client = OrderServiceClient::from_client(plain);
    let outcome =
        tokio::time::timeout(WAIT, client.get_order_by_id(GetOrderById { order_id: "o-1".into() }))
            .await
            .expect("answered in time, not left to time out");
    drop(client);
    server.abort();
    outcome
}

#[tokio::test]
async fn data_written_last_is_read_into_the_callers_type() {
    let ours = |id: &str| {
        format!(
            r#"{{"type":"response","requestId":"{id}","success":true,"data":{}}}"#,
            order("o-1")
        )
    };
    assert_eq!(call(ours).await.expect("an order").id, "o-1");
}

#[tokio::test]
async fn fields_after_the_data_or_in_another_order_are_read_too() {
    let more = |id: &str| {
        let data = order("o-1");
        format!(
            r#"{{"type":"response","requestId":"{id}","success":true,"data":{data},"servedBy":"replica-2"}}"#
        )
    };
    assert_eq!(call(more).await.expect("an order").id, "o-1", "a field after the data");
    let reordered = |id: &str| {
        json!({"data": order("o-2"), "success": true, "requestId": id, "type": "response"})
            .to_string()
    };
    assert_eq!(call(reordered).await.expect("an order").id, "o-2", "the data first");
}

#[tokio::test]
async fn data_that_is_not_the_callers_type_fails_the_call_at_once() {
    let wrong = |id: &str| {
        format!(r#"{{"type":"response","requestId":"{id}","success":true,"data":{{"id":7}}}}"#)
    };
    let Err(CallError::InvalidPayload(why)) = call(wrong).await else {
        panic!("a response that is not an order fails as an invalid payload");
    };
    assert!(why.contains("getOrderById") && why.contains("invalid type"), "{why}");
    let twice = |id: &str| {
        let data = order("o-1");
        format!(
            r#"{{"type":"response","requestId":"{id}","success":true,"data":{data},"data":{data}}}"#
        )
    };
    assert!(matches!(call(twice).await, Err(CallError::InvalidPayload(_))), "two `data` fields");
}
