//! Validation at the type level: the user contract's rules (the guide's schemas), one by one;
//! every failing field in the failure and in its wire form; nested and list paths; rules
//! found whatever the attribute order; types without rules always pass.

use contracts::order::{self, CreateOrder, OrderLine, MAX_ORDER_LINES};
use contracts::user::{CreateUser, GetUserById, UserCreated};
use messaging_runtime::error::codes;
use messaging_runtime::prelude::*;
use messaging_runtime::{check_event, check_request, FieldFailure, ValidationFailure};
use serde_json::json;

fn create_user(username: &str, email: &str, password: &str) -> CreateUser {
    CreateUser { username: username.into(), email: email.into(), password: password.into() }
}

fn valid() -> CreateUser {
    create_user("ada", "ada@example.com", "correct horse")
}

/// The failing fields of a message, with the rules each broke, in path order.
fn failing<R: Request>(request: &R) -> Vec<(String, String)> {
    match request.validate_message() {
        Ok(()) => Vec::new(),
        Err(failure) => {
            failure.fields().iter().map(|f| (f.field.clone(), f.rule.clone())).collect()
        }
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(f, r)| ((*f).to_owned(), (*r).to_owned())).collect()
}

#[test]
fn a_valid_create_user_passes() {
    assert_eq!(valid().validate_message(), Ok(()));
    assert_eq!(check_request(&valid()), Ok(()));
    // validator's own trait is in the prelude too, and agrees.
    assert!(valid().validate().is_ok());
}

#[test]
fn username_is_3_to_50_characters() {
    for ok in ["abc", &"a".repeat(50), "жук", "🦀🦀🦀"] {
        assert_eq!(failing(&create_user(ok, "ada@example.com", "12345678")), [], "{ok:?}");
    }
    for bad in ["", "ab", "жу", &"a".repeat(51)] {
        assert_eq!(
            failing(&create_user(bad, "ada@example.com", "12345678")),
            pairs(&[("username", "length")]),
            "{bad:?}"
        );
    }
    let failure = create_user("ab", "ada@example.com", "12345678")
        .validate_message()
        .expect_err("breaks a rule");
    let username = &failure.fields()[0];
    assert_eq!(username.message, "length must be between 3 and 50");
    assert_eq!(username.params.get("min"), Some(&json!(3)));
    assert_eq!(username.params.get("max"), Some(&json!(50)));
}

#[test]
fn email_is_a_valid_address() {
    for ok in ["ada@example.com", "a.b+c@sub.example.org"] {
        assert_eq!(failing(&create_user("ada", ok, "12345678")), [], "{ok:?}");
    }
    for bad in ["", "ada", "ada@", "@example.com", "ada@@example.com", "ada example@x.org"] {
        assert_eq!(
            failing(&create_user("ada", bad, "12345678")),
            pairs(&[("email", "email")]),
            "{bad:?}"
        );
    }
    let failure =
        create_user("ada", "nope", "12345678").validate_message().expect_err("breaks a rule");
    assert_eq!(failure.fields()[0].message, "must be a valid email address");
}

#[test]
fn password_is_at_least_8_characters() {
    assert_eq!(failing(&create_user("ada", "ada@example.com", "12345678")), []);
    assert_eq!(failing(&create_user("ada", "ada@example.com", &"p".repeat(200))), []);
    for bad in ["", "1234567"] {
        assert_eq!(
            failing(&create_user("ada", "ada@example.com", bad)),
            pairs(&[("password", "length")]),
            "{bad:?}"
        );
    }
    let failure = create_user("ada", "ada@example.com", "short")
        .validate_message()
        .expect_err("breaks a rule");
    assert_eq!(failure.fields()[0].message, "length must be at least 8");
    assert_eq!(failure.rules("password"), ["length"]);
}

#[test]
fn every_failing_field_is_listed_in_the_failure_and_on_the_wire() {
    let bad = create_user("al", "not-an-address", "hunter2");
    let failure = bad.validate_message().expect_err("breaks a rule");
    assert_eq!(
        failing(&bad),
        pairs(&[("email", "email"), ("password", "length"), ("username", "length")])
    );
    assert_eq!(
        failure.to_string(),
        "validation failed: email (email), password (length), username (length)"
    );

    let wire = check_request(&bad).expect_err("breaks a rule");
    assert_eq!(wire, failure.to_wire());
    assert_eq!(wire.code, codes::VALIDATION_ERROR);
    assert_eq!(wire.code, "VALIDATION_ERROR");
    assert_eq!(wire.status, Some(400));
    assert_eq!(wire.message, failure.to_string());
    assert_eq!(
        wire.details,
        Some(json!({
            "fields": [
                {"field": "email", "rule": "email", "message": "must be a valid email address", "params": {}},
                {"field": "password", "rule": "length", "message": "length must be at least 8",
                 "params": {"min": 8}},
                {"field": "username", "rule": "length", "message": "length must be between 3 and 50",
                 "params": {"min": 3, "max": 50}},
            ]
        }))
    );
    // The rejected values never travel back: not the password, not the others.
    let text = serde_json::to_string(&wire).unwrap_or_default();
    for value in ["hunter2", "not-an-address", "\"al\""] {
        assert!(!text.contains(value), "{value} leaked into {text}");
    }
    // And the wire form reads back into the same failure (what a client sees).
    assert_eq!(ValidationFailure::from_wire(&wire), Some(failure));
}

#[test]
fn the_user_created_event_needs_a_valid_address() {
    let event = UserCreated {
        id: "u1".into(),
        username: "ada".into(),
        email: "ada@example.com".into(),
        created_at: 1,
    };
    assert_eq!(event.validate_message(), Ok(()));
    assert_eq!(check_event(&event), Ok(()));
    let bad = UserCreated { email: "ada.example.com".into(), ..event };
    let failure = bad.validate_message().expect_err("breaks a rule");
    assert_eq!(failure.rules("email"), ["email"]);
    let wire = check_event(&bad).expect_err("breaks a rule");
    assert_eq!((wire.code.as_str(), wire.status), ("VALIDATION_ERROR", Some(400)));
}

#[test]
fn a_request_without_rules_always_passes() {
    assert_eq!(GetUserById { id: String::new() }.validate_message(), Ok(()));
    assert_eq!(check_request(&GetUserById { id: String::new() }), Ok(()));
}

/// One line of an order (not a message; rules of its own, checked through its parent).
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
// Not under `#[request]`/`#[event]`, so the derive is pointed at the re-exported crate by
// hand (or the crate depends on `validator` itself).
#[validate(crate = "messaging_runtime::validator")]
pub struct Line {
    /// At least one character.
    #[validate(length(min = 1, message = "must not be empty"))]
    pub sku: String,
    /// 1 to 100.
    #[validate(range(min = 1, max = 100))]
    pub quantity: u32,
}

/// Where to ship.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[validate(crate = "messaging_runtime::validator")]
pub struct Address {
    /// Exactly 5 characters.
    #[validate(length(equal = 5))]
    pub zip: String,
}

/// A request with nested and list rules.
#[request("placeOrder", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct PlaceOrder {
    /// At least one line, each valid.
    #[validate(length(min = 1), nested)]
    pub items: Vec<Line>,
    /// A valid address.
    #[validate(nested)]
    pub address: Address,
}

fn line(sku: &str, quantity: u32) -> Line {
    Line { sku: sku.into(), quantity }
}

#[test]
fn nested_and_list_failures_have_paths() {
    let ok = PlaceOrder {
        items: vec![line("a", 1), line("b", 100)],
        address: Address { zip: "12345".into() },
    };
    assert_eq!(ok.validate_message(), Ok(()));

    let bad = PlaceOrder {
        items: vec![line("a", 1), line("", 0), line("c", 101)],
        address: Address { zip: "1".into() },
    };
    assert_eq!(
        failing(&bad),
        pairs(&[
            ("address.zip", "length"),
            ("items[1].quantity", "range"),
            ("items[1].sku", "length"),
            ("items[2].quantity", "range"),
        ])
    );
    let failure = bad.validate_message().expect_err("breaks a rule");
    let messages: Vec<_> = failure.fields().iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "length must be exactly 5",
            "must be at least 1 and at most 100",
            "must not be empty",
            "must be at least 1 and at most 100"
        ]
    );
    assert_eq!(
        failure.to_string(),
        "validation failed: address.zip (length), items[1].quantity (range), items[1].sku (length), \
         items[2].quantity (range)"
    );

    let empty = PlaceOrder { items: Vec::new(), address: Address { zip: "12345".into() } };
    assert_eq!(failing(&empty), pairs(&[("items", "length")]));
}

/// The derive above the attribute: `#[request]` cannot see it, and the rules still run.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[validate(crate = "messaging_runtime::validator")]
#[request("renameUser", response = bool)]
pub struct RenameUser {
    /// 3 or more characters.
    #[validate(length(min = 3))]
    pub username: String,
}

/// An event whose derive sits above the attribute.
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[validate(crate = "messaging_runtime::validator")]
#[event]
pub struct Renamed {
    /// A valid address.
    #[validate(email)]
    pub email: String,
}

#[test]
fn rules_are_found_whatever_the_attribute_order() {
    assert_eq!(failing(&RenameUser { username: "al".into() }), pairs(&[("username", "length")]));
    assert_eq!(RenameUser { username: "ada".into() }.validate_message(), Ok(()));
    assert!(check_event(&Renamed { email: "x".into() }).is_err());
    assert!(check_event(&Renamed { email: "x@example.com".into() }).is_ok());
}

/// An event enum: `validator` derives only on structs, so it has no rules.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Toggled {
    /// On.
    On,
    /// Off.
    Off,
}

/// A struct-level rule and a custom rule with its own code and message.
#[request("setRange", response = bool)]
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[validate(schema(function = "ordered"))]
pub struct SetRange {
    /// The lower bound.
    pub low: i64,
    /// The upper bound.
    #[validate(custom(function = "even"))]
    pub high: i64,
}

fn ordered(range: &SetRange) -> Result<(), messaging_runtime::validator::ValidationError> {
    if range.low <= range.high {
        return Ok(());
    }
    Err(messaging_runtime::validator::ValidationError::new("ordered")
        .with_message("low must not exceed high".into()))
}

fn even(value: i64) -> Result<(), messaging_runtime::validator::ValidationError> {
    if value % 2 == 0 {
        Ok(())
    } else {
        Err(messaging_runtime::validator::ValidationError::new("even"))
    }
}

#[test]
fn enums_struct_level_and_custom_rules() {
    assert_eq!(check_event(&Toggled::On), Ok(()));
    let failure = SetRange { low: 5, high: 4 }.validate_message().expect_err("breaks a rule");
    assert_eq!(
        failure.fields(),
        [FieldFailure::new("__all__", "ordered", "low must not exceed high")]
    );
    // validator runs struct-level rules only once every field passes.
    let failure = SetRange { low: 5, high: 3 }.validate_message().expect_err("breaks a rule");
    assert_eq!(failure.fields(), [FieldFailure::new("high", "even", "failed the `even` rule")]);
    assert_eq!(SetRange { low: 2, high: 4 }.validate_message(), Ok(()));
}

/// An order of `lines` lines of one cable each.
fn order_of(lines: u64) -> CreateOrder {
    let line = OrderLine { product_id: "p-cable".into(), quantity: 1 };
    let lines = usize::try_from(lines).expect("a small count");
    CreateOrder {
        customer_id: "c-many".into(),
        items: vec![line; lines],
        shipping_address: order::Address {
            name: "Ada".into(),
            street: "1 Main St".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            postal_code: "62701".into(),
            country: "US".into(),
        },
    }
}

#[test]
fn an_order_has_1_to_max_order_lines_lines() {
    assert_eq!(MAX_ORDER_LINES, 100);
    for ok in [1, MAX_ORDER_LINES] {
        assert_eq!(order_of(ok).validate_message(), Ok(()), "{ok} lines");
    }
    for bad in [0, MAX_ORDER_LINES + 1] {
        assert_eq!(failing(&order_of(bad)), pairs(&[("items", "length")]), "{bad} lines");
    }
    let failure = order_of(MAX_ORDER_LINES + 1).validate_message().expect_err("too many lines");
    let items = &failure.fields()[0];
    assert_eq!(items.message, "length must be between 1 and 100");
    assert_eq!(items.params.get("max"), Some(&json!(100)));
    let wire = failure.to_wire();
    assert_eq!((wire.code.as_str(), wire.status), (codes::VALIDATION_ERROR, Some(400)));
}
