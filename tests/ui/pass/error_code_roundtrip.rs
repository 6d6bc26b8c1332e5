//! `#[error_code]`: rendering, codes, statuses, params, catalog and a lossless wire round trip.

use messaging_runtime::prelude::*;
use serde_json::json;

/// The states of an order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderStatus {
    /// Placed, not paid.
    Pending,
    /// On its way.
    Shipped,
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Shipped => "shipped",
        })
    }
}

/// What the order service can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum OrderError {
    /// No order has this id.
    #[error(status = 404, message = "Order with ID {orderId} not found")]
    OrderNotFound { order_id: String },
    /// The status cannot change that way.
    #[error(
        code = "INVALID_ORDER_STATUS_TRANSITION",
        status = 400,
        message = "Cannot transition order from {current_status} to {requestedStatus}"
    )]
    InvalidTransition { current_status: OrderStatus, requested_status: OrderStatus },
    /// Something broke.
    #[error(status = 500, message = "boom {0} ({1:>4}) {{literal}}")]
    Tuple(String, u32),
    /// Try again later.
    #[error(status = 503, message = "unavailable", severity = "warning")]
    Unit,
    /// A price with a precision.
    #[error(status = 402, message = "owes {amount:.2} (optional: {note:?})")]
    Owes { amount: f64, note: Option<String> },
    /// Placeholders that cannot be `format_args!` arguments as written.
    #[error(status = 409, message = "second {1}")]
    Odd(u8, String),
    /// A field named by a keyword.
    #[error(status = 409, message = "kind {type} / {r#type}")]
    Keyword { r#type: String },
}

/// No `Debug` derive: the macro implements it.
#[error_code]
enum Quiet {
    #[error(code = "Q1", status = 418, message = "quiet {what}")]
    Named { what: u8 },
    #[error(status = 419, message = "tuple")]
    Tupled(bool),
    #[error(status = 420, message = "unit")]
    Unit,
}

fn round_trip<E: ErrorCode + PartialEq + std::fmt::Debug>(error: &E) {
    let wire = error.to_wire();
    let json = serde_json::to_string(&wire).expect("serialises");
    let back: WireError = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(E::from_wire(&back).as_ref(), Some(error), "round trip of {json}");
}

fn main() {
    let not_found = OrderError::order_not_found("7");
    assert_eq!(not_found, OrderError::OrderNotFound { order_id: "7".into() });
    assert_eq!(not_found.to_string(), "Order with ID 7 not found");
    assert_eq!(not_found.code(), "ORDER_NOT_FOUND");
    assert_eq!(not_found.status(), 404);
    assert_eq!(serde_json::Value::Object(not_found.params()), json!({ "orderId": "7" }));
    let wire = not_found.to_wire();
    assert_eq!(wire.code, "ORDER_NOT_FOUND");
    assert_eq!(wire.message, "Order with ID 7 not found");
    assert_eq!(wire.status, Some(404));
    assert_eq!(wire.details, Some(json!({ "orderId": "7" })));
    assert_eq!(wire.severity, Some(messaging_runtime::Severity::Error));
    assert_eq!(WireError::from(not_found.clone()), wire);

    let transition = OrderError::invalid_transition(OrderStatus::Pending, OrderStatus::Shipped);
    assert_eq!(transition.to_string(), "Cannot transition order from pending to shipped");
    assert_eq!(transition.code(), "INVALID_ORDER_STATUS_TRANSITION");
    assert_eq!(transition.status(), 400);
    assert_eq!(
        serde_json::Value::Object(transition.params()),
        json!({ "currentStatus": "pending", "requestedStatus": "shipped" })
    );

    let tuple = OrderError::tuple("bad", 42u32);
    assert_eq!(tuple.to_string(), "boom bad (  42) {literal}");
    assert_eq!((tuple.code(), tuple.status()), ("TUPLE", 500));
    assert_eq!(serde_json::Value::Object(tuple.params()), json!({ "0": "bad", "1": 42 }));

    let unit = OrderError::unit();
    assert_eq!(
        (unit.to_string().as_str(), unit.code(), unit.status()),
        ("unavailable", "UNIT", 503)
    );
    assert!(unit.params().is_empty());
    // Severity: `error` unless the variant says otherwise, on the typed error and the wire.
    assert_eq!(unit.severity(), messaging_runtime::Severity::Warning);
    assert_eq!(not_found.severity(), messaging_runtime::Severity::Error);
    let unit_json = serde_json::to_value(unit.to_wire()).expect("serialises");
    assert_eq!(unit_json["severity"], "warning");
    assert_eq!(serde_json::to_value(&wire).expect("serialises")["severity"], "error");
    assert_eq!(WireError::new("RUNTIME", 500, "x").severity, None, "runtime errors carry none");

    let owes = OrderError::owes(12.345, Some("late".to_owned()));
    assert_eq!(owes.to_string(), "owes 12.35 (optional: Some(\"late\"))");

    let keyword = OrderError::keyword("k");
    assert_eq!(keyword.to_string(), "kind k / k");
    let odd = OrderError::odd(1u8, "two");
    assert_eq!(odd.to_string(), "second two");
    assert_eq!(serde_json::Value::Object(keyword.params()), json!({ "type": "k" }));

    for error in [
        &not_found,
        &transition,
        &tuple,
        &unit,
        &owes,
        &OrderError::owes(1.0, None),
        &keyword,
        &odd,
    ] {
        round_trip(error);
    }

    // A wire error with an unknown code, or details that do not decode, is not ours.
    assert_eq!(OrderError::from_wire(&WireError::new("NOPE", 404, "no")), None);
    let missing = WireError::new("ORDER_NOT_FOUND", 404, "x").with_details(json!({}));
    assert_eq!(OrderError::from_wire(&missing), None);
    let wrong = WireError::new("ORDER_NOT_FOUND", 404, "x").with_details(json!({ "orderId": 7 }));
    assert_eq!(OrderError::from_wire(&wrong), None);
    let unit_without_details = WireError::new("UNIT", 503, "unavailable");
    assert_eq!(OrderError::from_wire(&unit_without_details), Some(OrderError::Unit));

    assert_eq!(OrderError::CATALOG.len(), 7);
    let catalog: Vec<_> = OrderError::CATALOG[..5]
        .iter()
        .map(|d| (d.code, d.status, d.template, d.variant, d.params))
        .collect();
    assert_eq!(
        catalog,
        [
            (
                "ORDER_NOT_FOUND",
                404,
                "Order with ID {orderId} not found",
                "OrderNotFound",
                &["orderId"][..]
            ),
            (
                "INVALID_ORDER_STATUS_TRANSITION",
                400,
                "Cannot transition order from {current_status} to {requestedStatus}",
                "InvalidTransition",
                &["currentStatus", "requestedStatus"][..],
            ),
            ("TUPLE", 500, "boom {0} ({1:>4}) {{literal}}", "Tuple", &["0", "1"][..]),
            ("UNIT", 503, "unavailable", "Unit", &[][..]),
            ("OWES", 402, "owes {amount:.2} (optional: {note:?})", "Owes", &["amount", "note"][..]),
        ]
    );

    let error: &dyn std::error::Error = &not_found;
    assert!(error.source().is_none());

    let quiet = [Quiet::named(3u8), Quiet::tupled(true), Quiet::unit()];
    assert_eq!(format!("{:?}", quiet[0]), "Named { what: 3 }");
    assert_eq!(format!("{:?}", quiet[1]), "Tupled(true)");
    assert_eq!(format!("{:?}", quiet[2]), "Unit");
    assert_eq!(quiet[0].to_string(), "quiet 3");
    assert_eq!(quiet.iter().map(ErrorCode::code).collect::<Vec<_>>(), ["Q1", "TUPLED", "UNIT"]);
    for q in &quiet {
        let back = Quiet::from_wire(&q.to_wire()).map(|b| format!("{b:?}"));
        assert_eq!(back, Some(format!("{q:?}")));
    }
}
