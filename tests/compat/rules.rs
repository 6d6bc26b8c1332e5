//! One test per rule of the compatibility check: each edits a copy of a contract's snapshot
//! the way a developer would change the Rust types, and expects the change under that rule,
//! at that path, with the rule's severity.

use messaging_runtime::contract::compat::{self, Rule};
use serde_json::{json, Value};

use crate::{changed, current};

/// Changes contract `name` with `edit` and expects a change under `rule` at `path`.
fn expect(name: &str, edit: impl FnOnce(&mut Value), rule: Rule, path: &str) {
    let old = current(name);
    let new = changed(&old, &old.version, edit);
    let changes = compat::diff(&old, &new);
    let found = changes.iter().find(|c| c.rule == rule && c.path == path);
    let Some(change) = found else {
        let all: Vec<String> =
            changes.iter().map(|c| format!("{:?} at {}", c.rule, c.path)).collect();
        panic!("no {rule:?} at `{path}` among {all:#?}");
    };
    assert_eq!(change.severity, rule.severity());
    assert!(change.to_string().contains(rule.text()));
}

fn def<'a>(v: &'a mut Value, name: &str) -> &'a mut Value {
    &mut v["definitions"][name]
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("an object").remove(key);
}

fn require(v: &mut Value, field: &str) {
    v["required"].as_array_mut().expect("required").push(json!(field));
}

fn unrequire(v: &mut Value, field: &str) {
    v["required"].as_array_mut().expect("required").retain(|f| f != field);
}

fn retain(v: &mut Value, list: &str, keep: impl Fn(&Value) -> bool) {
    v[list].as_array_mut().expect("a list").retain(keep);
}

fn push_copy(v: &mut Value, list: &str, key: &str, value: &str) {
    let mut copy = v[list][0].clone();
    copy[key] = json!(value);
    v[list].as_array_mut().expect("a list").push(copy);
}

#[test]
fn removing_a_request() {
    expect(
        "order-service",
        |v| retain(v, "requests", |r| r["name"] != "cancelOrder"),
        Rule::RequestRemoved,
        "request cancelOrder",
    );
}

#[test]
fn adding_a_request() {
    expect(
        "order-service",
        |v| push_copy(v, "requests", "name", "archiveOrder"),
        Rule::RequestAdded,
        "request archiveOrder",
    );
}

#[test]
fn requiring_another_permission() {
    expect(
        "order-service",
        |v| v["requests"][1]["permission"] = json!("orders:admin"),
        Rule::PermissionChanged,
        "request getOrderById",
    );
}

#[test]
fn dropping_a_permission() {
    expect(
        "order-service",
        |v| remove(&mut v["requests"][1], "permission"),
        Rule::PermissionRemoved,
        "request getOrderById",
    );
}

#[test]
fn removing_an_event() {
    expect(
        "order-service",
        |v| retain(v, "events", |e| e["name"] != "orderShipped"),
        Rule::EventRemoved,
        "event orderShipped",
    );
}

#[test]
fn adding_an_event() {
    expect(
        "order-service",
        |v| push_copy(v, "events", "name", "orderArchived"),
        Rule::EventAdded,
        "event orderArchived",
    );
}

#[test]
fn removing_an_error_code() {
    expect(
        "order-service",
        |v| retain(v, "errors", |e| e["code"] != "ORDER_NOT_FOUND"),
        Rule::ErrorRemoved,
        "error ORDER_NOT_FOUND",
    );
}

#[test]
fn adding_an_error_code() {
    expect(
        "order-service",
        |v| push_copy(v, "errors", "code", "ORDER_LOCKED"),
        Rule::ErrorAdded,
        "error ORDER_LOCKED",
    );
}

#[test]
fn changing_an_error_status() {
    expect(
        "order-service",
        |v| v["errors"][0]["status"] = json!(410),
        Rule::ErrorStatusChanged,
        "error ORDER_NOT_FOUND",
    );
}

#[test]
fn changing_an_error_template() {
    expect(
        "order-service",
        |v| v["errors"][0]["template"] = json!("No order {orderId}"),
        Rule::ErrorTemplateChanged,
        "error ORDER_NOT_FOUND",
    );
}

#[test]
fn changing_a_type() {
    let edit =
        |v: &mut Value| def(v, "Order")["properties"]["totalAmount"] = json!({ "type": "string" });
    expect("order-service", edit, Rule::TypeChanged, "response of createOrder.totalAmount");
}

#[test]
fn a_request_gaining_a_required_field() {
    let edit = |v: &mut Value| {
        def(v, "CreateOrder")["properties"]["coupon"] = json!({ "type": "string" });
        require(def(v, "CreateOrder"), "coupon");
    };
    expect("order-service", edit, Rule::RequiredFieldAdded, "request createOrder.coupon");
}

#[test]
fn a_request_gaining_an_optional_field() {
    let edit = |v: &mut Value| {
        def(v, "CreateOrder")["properties"]["coupon"] = json!({ "type": ["string", "null"] })
    };
    expect("order-service", edit, Rule::OptionalFieldAdded, "request createOrder.coupon");
}

#[test]
fn a_sent_field_becoming_required() {
    expect(
        "order-service",
        |v| require(def(v, "CancelOrder"), "reason"),
        Rule::SentFieldBecameRequired,
        "request cancelOrder.reason",
    );
}

#[test]
fn a_sent_field_becoming_optional() {
    let edit = |v: &mut Value| unrequire(def(v, "CreateOrder"), "customerId");
    expect("order-service", edit, Rule::SentFieldBecameOptional, "request createOrder.customerId");
}

#[test]
fn a_sent_field_going_away() {
    let edit = |v: &mut Value| remove(&mut def(v, "CancelOrder")["properties"], "reason");
    expect("order-service", edit, Rule::SentFieldRemoved, "request cancelOrder.reason");
}

#[test]
fn a_sent_field_going_away_where_unknown_fields_are_refused() {
    let edit = |v: &mut Value| {
        remove(&mut def(v, "CancelOrder")["properties"], "reason");
        def(v, "CancelOrder")["additionalProperties"] = json!(false);
    };
    expect("order-service", edit, Rule::SentFieldRejected, "request cancelOrder.reason");
}

#[test]
fn a_received_field_going_away() {
    let edit = |v: &mut Value| {
        remove(&mut def(v, "Order")["properties"], "customerId");
        unrequire(def(v, "Order"), "customerId");
    };
    expect("order-service", edit, Rule::ReceivedFieldRemoved, "response of createOrder.customerId");
}

#[test]
fn a_received_field_becoming_optional() {
    let edit = |v: &mut Value| unrequire(def(v, "Order"), "customerId");
    expect(
        "order-service",
        edit,
        Rule::ReceivedFieldBecameOptional,
        "response of createOrder.customerId",
    );
}

#[test]
fn a_received_field_becoming_always_present() {
    let edit = |v: &mut Value| require(def(v, "Order"), "cancellationReason");
    expect(
        "order-service",
        edit,
        Rule::ReceivedFieldBecameRequired,
        "response of createOrder.cancellationReason",
    );
}

#[test]
fn a_received_field_added() {
    let edit = |v: &mut Value| def(v, "Order")["properties"]["note"] = json!({ "type": "string" });
    expect("order-service", edit, Rule::ReceivedFieldAdded, "response of createOrder.note");
}

#[test]
fn a_sent_value_no_longer_accepting_null() {
    let edit =
        |v: &mut Value| def(v, "CancelOrder")["properties"]["reason"]["type"] = json!("string");
    expect("order-service", edit, Rule::SentNullRemoved, "request cancelOrder.reason");
}

#[test]
fn a_sent_value_accepting_null() {
    let edit = |v: &mut Value| {
        def(v, "GetOrderById")["properties"]["orderId"]["type"] = json!(["string", "null"])
    };
    expect("order-service", edit, Rule::SentNullAdded, "request getOrderById.orderId");
}

/// `OrderStatus` is both sent (`updateOrderStatus`) and received (every order).
fn add_status(v: &mut Value) {
    let returned = json!({ "const": "returned", "type": "string", "description": "Sent back." });
    def(v, "OrderStatus")["oneOf"].as_array_mut().expect("oneOf").push(returned);
}

fn drop_cancelled(v: &mut Value) {
    def(v, "OrderStatus")["oneOf"]
        .as_array_mut()
        .expect("oneOf")
        .retain(|s| s["const"] != "cancelled");
}

#[test]
fn a_received_enum_gaining_a_variant() {
    expect(
        "order-service",
        add_status,
        Rule::ReceivedVariantAdded,
        "response of createOrder.status",
    );
}

#[test]
fn a_received_enum_losing_a_variant() {
    expect(
        "order-service",
        drop_cancelled,
        Rule::ReceivedVariantRemoved,
        "response of createOrder.status",
    );
}

#[test]
fn a_sent_enum_gaining_a_variant() {
    expect("order-service", add_status, Rule::SentVariantAdded, "request updateOrderStatus.status");
}

#[test]
fn a_sent_enum_losing_a_variant() {
    expect(
        "order-service",
        drop_cancelled,
        Rule::SentVariantRemoved,
        "request updateOrderStatus.status",
    );
}

#[test]
fn a_sent_constraint_getting_stricter() {
    let edit =
        |v: &mut Value| def(v, "CreateUser")["properties"]["username"]["minLength"] = json!(5);
    expect("user-service", edit, Rule::SentConstraintTightened, "request createUser.username");
}

#[test]
fn a_sent_constraint_getting_looser() {
    let edit =
        |v: &mut Value| def(v, "CreateUser")["properties"]["username"]["maxLength"] = json!(100);
    expect("user-service", edit, Rule::SentConstraintLoosened, "request createUser.username");
}

#[test]
fn a_received_constraint_getting_looser() {
    let edit = |v: &mut Value| remove(&mut def(v, "UserCreated")["properties"]["email"], "format");
    expect("user-service", edit, Rule::ReceivedConstraintLoosened, "event userCreated.email");
}

#[test]
fn a_received_constraint_getting_stricter() {
    let edit = |v: &mut Value| def(v, "User")["properties"]["username"]["maxLength"] = json!(50);
    expect(
        "user-service",
        edit,
        Rule::ReceivedConstraintTightened,
        "response of createUser.username",
    );
}

#[test]
fn a_description_changing() {
    let edit = |v: &mut Value| def(v, "Order")["description"] = json!("An order, reworded.");
    expect("order-service", edit, Rule::DocumentationChanged, "response of createOrder");
}
