//! The contracts' AsyncAPI 3.0 documents: each is accepted by the official parser
//! (`@asyncapi/parser`, run with Node), and says what the contract says: every request a
//! `receive` operation whose reply lists its response and every error of the contract,
//! every event a `send` operation, the `ws` binding (and no NATS one: there is no NATS
//! transport yet).

#[path = "support/process.rs"]
mod process;
#[path = "support/typescript.rs"]
mod typescript;

use contracts::order::OrderServiceContract;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contract_document_passes_the_official_asyncapi_parser() {
    typescript::require_node_modules(&["@asyncapi/parser"]);
    let dir = typescript::node_dir().join("generated").join("asyncapi");
    std::fs::create_dir_all(&dir).expect("create the directory");
    let mut files = Vec::new();
    for descriptor in contracts::ALL {
        let snapshot = messaging_runtime::contract::snapshot::Snapshot::of_descriptor(descriptor)
            .expect("schemas");
        let document = messaging_runtime::contract::asyncapi::asyncapi_of(&snapshot);
        let file = format!("generated/asyncapi/{}.json", descriptor.name);
        let text = serde_json::to_string_pretty(&document).expect("json");
        std::fs::write(typescript::node_dir().join(&file), text).expect("write the document");
        files.push(file);
    }
    let mut args = vec!["asyncapi.mjs"];
    args.extend(files.iter().map(String::as_str));
    let lines = typescript::node("asyncapi.mjs", &args).await;
    for (descriptor, file) in contracts::ALL.iter().zip(&files) {
        let operations = descriptor.requests.len() + descriptor.events.len();
        let messages =
            2 * descriptor.requests.len() + descriptor.events.len() + descriptor.errors.len();
        let expected = format!("ok - {file}: {operations} operations, {messages} messages");
        assert!(lines.contains(&expected), "no `{expected}` in {lines:#?}");
    }
    assert!(!lines.iter().any(|l| l.starts_with("error")), "{lines:#?}");
}

#[test]
fn requests_reply_with_their_response_or_the_contract_errors() {
    let document = OrderServiceContract::asyncapi().expect("schemas");
    assert_eq!(document["asyncapi"], "3.0.0");
    let create = &document["operations"]["createOrder"];
    assert_eq!(create["action"], "receive");
    let replies: Vec<&str> = create["reply"]["messages"]
        .as_array()
        .expect("reply messages")
        .iter()
        .filter_map(|m| m["$ref"].as_str())
        .collect();
    assert_eq!(
        replies,
        [
            "#/channels/wire/messages/createOrder.response",
            "#/channels/wire/messages/error.ORDER_NOT_FOUND",
            "#/channels/wire/messages/error.INVALID_ORDER_STATUS_TRANSITION",
            "#/channels/wire/messages/error.PRODUCT_NOT_AVAILABLE",
            "#/channels/wire/messages/error.ORDER_ALREADY_CANCELLED",
            "#/channels/wire/messages/error.PRODUCT_SERVICE_UNAVAILABLE",
        ]
    );
    let error = &document["channels"]["wire"]["messages"]["error.ORDER_NOT_FOUND"];
    let wire = &error["payload"]["properties"]["error"]["properties"];
    assert_eq!(
        (&wire["code"]["const"], &wire["status"]["const"]),
        (&Value::from("ORDER_NOT_FOUND"), &Value::from(404))
    );
    assert_eq!(error["summary"], "Message template: Order with ID {orderId} not found");
    assert_eq!(document["operations"]["orderCreated"]["action"], "send");
    let servers: Vec<&String> = document["servers"].as_object().expect("servers").keys().collect();
    assert_eq!(servers, ["ws"]);
    assert_eq!(document["channels"]["wire"]["bindings"]["ws"]["method"], "GET");
    // Named types live in components; no reference is left pointing at `$defs`.
    assert!(document["components"]["schemas"]["Order"].is_object());
    assert!(!document.to_string().contains("#/$defs/"));
}
