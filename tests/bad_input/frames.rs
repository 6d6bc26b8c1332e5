//! Protocol frames: request payloads of each type, contexts, request ids, and request, event,
//! response, cancel and odd-typed frames. `wrong` weighs how often a field has a value of any
//! type, and how often unknown fields appear.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;

use crate::values::{
    any_value, field, json_string, json_value, number, object, object_of, text_of, STRINGS,
};

fn order_id() -> BoxedStrategy<String> {
    prop_oneof![
        select(&["order-1", "order-2", "order-3", "missing", ""][..]).prop_map(json_string),
        text_of("[a-z0-9-]{0,12}"),
    ]
    .boxed()
}

fn address(wrong: u32) -> BoxedStrategy<String> {
    let names = ["name", "street", "city", "state", "postalCode", "country"];
    object_of(names.iter().map(|n| field(n, text_of("[A-Za-z ]{0,10}"), wrong)).collect(), wrong)
}

fn create_order(wrong: u32) -> BoxedStrategy<String> {
    let product = prop_oneof![
        select(&["p-keyboard", "p-mouse", "p-monitor", "p-cable", "p-none"][..])
            .prop_map(json_string),
        text_of("[a-z-]{0,8}"),
    ];
    let quantity = prop_oneof![(0u32..5).prop_map(|n| n.to_string()), number()];
    let line = object_of(
        vec![
            field("productId", product.boxed(), wrong),
            field("quantity", quantity.boxed(), wrong),
        ],
        wrong,
    );
    let items = prop::collection::vec(line, 0..3).prop_map(|v| format!("[{}]", v.join(",")));
    object_of(
        vec![
            field("customerId", text_of("[a-z0-9-]{0,10}"), wrong),
            field("items", items.boxed(), wrong),
            field("shippingAddress", address(wrong), wrong),
        ],
        wrong,
    )
}

fn status() -> BoxedStrategy<String> {
    select(&["pending", "processing", "shipped", "delivered", "cancelled", "lost", ""][..])
        .prop_map(json_string)
        .boxed()
}

fn update_order_status(wrong: u32) -> BoxedStrategy<String> {
    let tracking = object_of(
        vec![
            field("trackingNumber", text_of("[A-Z0-9]{0,8}"), wrong),
            field("carrier", text_of("[A-Za-z]{0,8}"), wrong),
            field("estimatedDelivery", number(), wrong),
        ],
        wrong,
    );
    object_of(
        vec![
            field("orderId", order_id(), wrong),
            field("status", status(), wrong),
            field("trackingInfo", tracking, wrong),
        ],
        wrong,
    )
}

fn cancel_order(wrong: u32) -> BoxedStrategy<String> {
    object_of(
        vec![field("orderId", order_id(), wrong), field("reason", text_of("[a-z ]{0,10}"), wrong)],
        wrong,
    )
}

fn get_order(wrong: u32) -> BoxedStrategy<String> {
    object_of(vec![field("orderId", order_id(), wrong)], wrong)
}

/// A request type and a payload meant for it (or, now and then, for another).
pub(crate) fn request_body(wrong: u32) -> BoxedStrategy<(String, String)> {
    let named = |name: &'static str, payload: BoxedStrategy<String>| {
        payload.prop_map(move |p| (json_string(name), p)).boxed()
    };
    prop_oneof![
        4 => named("getOrderById", get_order(wrong)),
        2 => named("createOrder", create_order(wrong)),
        2 => named("updateOrderStatus", update_order_status(wrong)),
        2 => named("cancelOrder", cancel_order(wrong)),
        1 => (text_of("[a-zA-Z$]{1,12}"), json_value()),
    ]
    .boxed()
}

fn context(wrong: u32) -> BoxedStrategy<String> {
    let metadata = prop::collection::vec(("[a-zA-Z]{1,6}", json_value()), 0..3)
        .prop_map(|entries| object(&entries));
    let deadline =
        prop_oneof![select(&["60000", "30000", "0", "1"][..]).prop_map(str::to_owned), number(),];
    let millis = any::<u64>().prop_map(|n| n.to_string());
    object_of(
        vec![
            field("id", text_of("[a-z0-9-]{0,8}"), wrong),
            field("timestamp", millis.boxed(), wrong),
            field("source", text_of("[a-z-]{0,8}"), wrong),
            field("metadata", metadata.boxed(), wrong),
            field("traceId", text_of("[a-f0-9]{0,16}"), wrong),
            field("deadlineMs", deadline.boxed(), wrong),
        ],
        wrong,
    )
}

/// Where a frame's request ids come from.
pub(crate) type Ids = fn() -> BoxedStrategy<String>;

/// A fresh request id: a string or a number no other frame has.
pub(crate) fn request_id() -> BoxedStrategy<String> {
    select(&["@ID@", "@ID@", "@NUM@"][..]).prop_map(str::to_owned).boxed()
}

/// A `requestId` of any JSON type: fresh ids, numbers no native type holds (`1e400`, `-0`,
/// 400 digits), awkward strings, and ids that are not valid (`null`, booleans, `""`,
/// objects, arrays).
pub(crate) fn any_request_id() -> BoxedStrategy<String> {
    const INVALID: &[&str] =
        &["null", "true", "false", r#""""#, "{}", "[]", r#"{"id":"q1"}"#, r#"["q1",1]"#];
    prop_oneof![
        3 => request_id(),
        3 => number(),
        1 => select(STRINGS).prop_map(str::to_owned),
        3 => select(INVALID).prop_map(str::to_owned),
        1 => json_value(),
    ]
    .boxed()
}

/// A request frame with ids from `ids`; `wrong` weighs how often a field (at any level) has
/// a value of any type, and how often unknown fields appear. With `wrong == 0` and fresh ids
/// the frame is valid.
pub(crate) fn request_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    (request_body(wrong), prop::option::weighted(0.7, context(wrong)))
        .prop_flat_map(move |((name, payload), context)| {
            let mut fields = vec![
                field("type", Just(json_string("request")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("requestType", Just(name).boxed(), wrong),
                field("payload", Just(payload).boxed(), wrong),
            ];
            if let Some(context) = context {
                fields.push(field("context", Just(context).boxed(), wrong));
            }
            object_of(fields, wrong)
        })
        .boxed()
}

/// An event frame, now and then with a request id from `ids`.
fn event_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let name = prop_oneof![
        select(&["orderCreated", "counterChanged", "x"][..]).prop_map(json_string),
        text_of("[a-zA-Z]{0,10}"),
    ];
    object_of(
        vec![
            field("type", Just(json_string("event")).boxed(), wrong),
            field("event", name.boxed(), wrong),
            field("payload", json_value(), wrong),
            field("context", context(wrong), wrong),
            prop_oneof![3 => Just(None), 1 => ids().prop_map(|id| Some(("requestId".into(), id)))]
                .boxed(),
        ],
        wrong,
    )
}

/// A response frame (which a server does not take), succeeded or failed.
fn response_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let error = object_of(
        vec![
            field("code", text_of("[A-Z_]{1,10}"), wrong),
            field("message", text_of("[a-z ]{0,10}"), wrong),
            field("status", (100u16..600).prop_map(|n| n.to_string()).boxed(), wrong),
        ],
        wrong,
    );
    prop_oneof![
        object_of(
            vec![
                field("type", Just(json_string("response")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("success", Just("true".to_owned()).boxed(), wrong),
                field("data", json_value(), wrong),
            ],
            wrong,
        ),
        object_of(
            vec![
                field("type", Just(json_string("response")).boxed(), wrong),
                field("requestId", ids(), wrong),
                field("success", Just("false".to_owned()).boxed(), wrong),
                field("error", error, wrong),
            ],
            wrong,
        ),
    ]
    .boxed()
}

/// A frame of a type that does not exist.
fn odd_type_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    let kind =
        prop_oneof![select(STRINGS).prop_map(str::to_owned), text_of("[a-z]{0,8}"), any_value()];
    object_of(
        vec![
            field("type", kind.boxed(), 0),
            field("requestId", ids(), wrong),
            field("payload", json_value(), wrong),
        ],
        wrong,
    )
}

/// A cancel frame, `{"type":"cancel","requestId":…}`, with its id from `ids`.
fn cancel_frame(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    object_of(
        vec![
            field("type", Just(json_string("cancel")).boxed(), wrong),
            field("requestId", ids(), wrong),
        ],
        wrong,
    )
}

/// A frame of any type, with fresh request ids.
pub(crate) fn any_frame(wrong: u32) -> BoxedStrategy<String> {
    any_frame_with(wrong, request_id)
}

/// A frame of any type, with request ids from `ids`.
pub(crate) fn any_frame_with(wrong: u32, ids: Ids) -> BoxedStrategy<String> {
    prop_oneof![
        6 => request_frame(wrong, ids),
        2 => event_frame(wrong, ids),
        2 => response_frame(wrong, ids),
        1 => cancel_frame(wrong, ids),
        1 => odd_type_frame(wrong, ids),
    ]
    .boxed()
}
