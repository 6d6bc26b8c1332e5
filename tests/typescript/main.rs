//! The generated TypeScript, run for real: every contract's file passes
//! `tsc --strict --noEmit`; JSON the Rust types produce (property-based: thousands of
//! proptest values a run) parses with the generated zod schemas; values that break a
//! `validator` rule or the Rust types' shape are refused by zod as by Rust.
//!
//! Needs Node and `tests/node`'s dependencies (`.ci/install`).

#[path = "../support/process.rs"]
mod process;
#[path = "../support/typescript.rs"]
mod typescript;
mod values;

use std::fmt::Debug;

use contracts::dashboard::{DashboardError, GetDashboardStats, GetRecentOrders};
use contracts::order::{CreateOrder, GetOrderById, OrderError, OrderStatus, UpdateOrderStatus};
use contracts::product::{GetProductById, ProductError};
use contracts::user::{CreateUser, GetUserById, UserCreated, UserError};
use messaging_runtime::prelude::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};
use values::{email, text};

/// Values drawn per message type and direction.
const PER_TYPE: usize = 48;

/// The cases for `zod_check.mjs`, drawn with one proptest runner.
struct Cases {
    list: Vec<Value>,
    runner: TestRunner,
}

impl Cases {
    fn new() -> Self {
        Self { list: Vec::new(), runner: TestRunner::default() }
    }

    fn draw<T: Debug>(&mut self, strategy: &impl Strategy<Value = T>) -> T {
        strategy.new_tree(&mut self.runner).expect("the strategy draws a value").current()
    }

    fn push(&mut self, contract: &str, kind: &str, name: &str, value: Value, valid: bool) {
        self.list.push(json!({ "contract": contract, "kind": kind, "name": name, "value": value, "valid": valid }));
    }

    /// `PER_TYPE` values of `strategy`, as Rust serialises them: zod must accept each.
    fn valid<T: Serialize + Debug>(
        &mut self,
        at: (&str, &str, &str),
        strategy: impl Strategy<Value = T>,
    ) {
        for _ in 0..PER_TYPE {
            let value = serde_json::to_value(self.draw(&strategy)).expect("serialises");
            self.push(at.0, at.1, at.2, value, true);
        }
    }

    /// `PER_TYPE` error variants: their details must parse with the code's details schema.
    fn errors<E: ErrorCode + Debug>(&mut self, contract: &str, strategy: impl Strategy<Value = E>) {
        for _ in 0..PER_TYPE {
            let wire = self.draw(&strategy).to_wire();
            let details = wire.details.unwrap_or(Value::Null);
            self.push(contract, "error", &wire.code, details, true);
        }
    }

    /// `PER_TYPE` JSON values that Rust refuses (asserted here): zod must refuse each too.
    fn invalid<T: Debug>(
        &mut self,
        at: (&str, &str, &str),
        strategy: impl Strategy<Value = Value>,
        rust: impl Fn(&Value) -> Result<T, String>,
    ) {
        for _ in 0..PER_TYPE {
            let value = self.draw(&strategy);
            if let Ok(accepted) = rust(&value) {
                panic!("the case is meant to be refused by Rust, which accepted {value} as {accepted:?}");
            }
            self.push(at.0, at.1, at.2, value, false);
        }
    }
}

/// Decodes a request as the server does: the type, then its `validator` rules.
fn decode<R: Request + Debug>(value: &Value) -> Result<R, String> {
    let request: R = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    request.validate_message().map_err(|e| e.to_string())?;
    Ok(request)
}

/// An event as a client decodes and checks it.
fn decode_event<E: Event + Debug>(value: &Value) -> Result<E, String> {
    let event: E = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    event.validate_message().map_err(|e| e.to_string())?;
    Ok(event)
}

fn order_cases(cases: &mut Cases) {
    const C: &str = "order-service";
    cases.valid((C, "request", "createOrder"), values::create_order());
    cases.valid(
        (C, "request", "getOrderById"),
        text().prop_map(|order_id| GetOrderById { order_id }),
    );
    cases.valid((C, "request", "updateOrderStatus"), values::update_order_status());
    cases.valid((C, "request", "cancelOrder"), values::cancel_order());
    for request in ["createOrder", "getOrderById", "updateOrderStatus", "cancelOrder"] {
        cases.valid((C, "response", request), values::order());
    }
    cases.valid((C, "event", "orderCreated"), values::order_created());
    cases.valid((C, "event", "orderStatusChanged"), values::order_status_changed());
    cases.valid((C, "event", "orderShipped"), values::order_shipped());
    let status = prop::sample::select(OrderStatus::ALL.to_vec());
    cases.errors(
        C,
        prop_oneof![
            text().prop_map(OrderError::order_not_found),
            (status.clone(), status)
                .prop_map(|(a, b)| OrderError::invalid_order_status_transition(a, b)),
            (text(), any::<u32>()).prop_map(|(p, q)| OrderError::product_not_available(p, q)),
            text().prop_map(OrderError::order_already_cancelled),
            text().prop_map(OrderError::product_service_unavailable),
        ],
    );
}

fn other_cases(cases: &mut Cases) {
    const P: &str = "product-service";
    cases.valid(
        (P, "request", "getProductById"),
        text().prop_map(|product_id| GetProductById { product_id }),
    );
    cases.valid((P, "request", "reserveProduct"), values::reserve_product());
    cases.valid((P, "request", "releaseProduct"), values::release_product());
    for request in ["getProductById", "reserveProduct", "releaseProduct"] {
        cases.valid((P, "response", request), values::product());
    }
    cases.valid((P, "event", "productStockChanged"), values::stock_changed());
    cases.errors(
        P,
        prop_oneof![
            text().prop_map(ProductError::product_not_found),
            (text(), any::<u32>(), any::<u32>())
                .prop_map(|(p, r, a)| ProductError::insufficient_stock(p, r, a)),
        ],
    );
    const U: &str = "user-service";
    cases.valid((U, "request", "createUser"), values::create_user());
    cases.valid((U, "request", "getUserById"), text().prop_map(|id| GetUserById { id }));
    cases.valid((U, "response", "createUser"), values::user());
    cases.valid((U, "response", "getUserById"), values::user());
    cases.valid((U, "event", "userCreated"), values::user_created());
    cases.errors(
        U,
        prop_oneof![
            text().prop_map(UserError::user_not_found),
            text().prop_map(UserError::username_taken)
        ],
    );
    const D: &str = "dashboard-service";
    cases.valid(
        (D, "request", "getRecentOrders"),
        prop::option::of(any::<u32>()).prop_map(|limit| GetRecentOrders { limit }),
    );
    cases.valid(
        (D, "request", "getOrderById"),
        text().prop_map(|order_id| contracts::dashboard::GetOrderById { order_id }),
    );
    cases.valid((D, "request", "getDashboardStats"), Just(GetDashboardStats {}));
    cases.valid(
        (D, "response", "getRecentOrders"),
        prop::collection::vec(values::order_view(), 0..3),
    );
    cases.valid((D, "response", "getOrderById"), values::order_view());
    cases.valid((D, "response", "getDashboardStats"), values::stats());
    cases.valid((D, "event", "orderCreated"), values::order_created());
    cases.valid(
        (D, "event", "statsUpdated"),
        values::stats().prop_map(|stats| contracts::dashboard::StatsUpdated { stats }),
    );
    cases.errors(
        D,
        prop_oneof![
            text().prop_map(DashboardError::order_not_found),
            (any::<u32>(), any::<u32>()).prop_map(|(l, m)| DashboardError::invalid_limit(l, m)),
        ],
    );
}

/// Values that break a `validator` rule of the user contract.
fn rule_breaking_cases(cases: &mut Cases) {
    let user = |username: String, email: String, password: String| json!({ "username": username, "email": email, "password": password });
    let at = ("user-service", "request", "createUser");
    let short = ("\\PC{0,2}", email(), "\\PC{8,20}").prop_map(move |(u, e, p)| user(u, e, p));
    cases.invalid(at, short, decode::<CreateUser>);
    let long = ("\\PC{51,80}", email(), "\\PC{8,20}").prop_map(move |(u, e, p)| user(u, e, p));
    cases.invalid(at, long, decode::<CreateUser>);
    let no_at =
        ("\\PC{3,20}", "[a-z0-9.]{1,20}", "\\PC{8,20}").prop_map(move |(u, e, p)| user(u, e, p));
    cases.invalid(at, no_at, decode::<CreateUser>);
    let weak = ("\\PC{3,20}", email(), "\\PC{0,7}").prop_map(move |(u, e, p)| user(u, e, p));
    cases.invalid(at, weak, decode::<CreateUser>);
    let event = (text(), text(), "[a-z0-9.]{1,20}", any::<u64>())
        .prop_map(|(id, username, email, at)| json!({ "id": id, "username": username, "email": email, "createdAt": at }));
    cases.invalid(("user-service", "event", "userCreated"), event, decode_event::<UserCreated>);
}

/// Values whose shape the Rust types refuse: out-of-range integers, a missing field, an
/// unknown enum variant.
fn shape_breaking_cases(cases: &mut Cases) {
    let line = |quantity: Value| json!({ "customerId": "c", "items": [{ "productId": "p", "quantity": quantity }], "shippingAddress": { "name": "n", "street": "s", "city": "c", "state": "s", "postalCode": "p", "country": "c" } });
    let at = ("order-service", "request", "createOrder");
    cases.invalid(at, (i64::MIN..0).prop_map(move |q| line(json!(q))), decode::<CreateOrder>);
    cases.invalid(
        at,
        (4_294_967_296_i64..i64::MAX).prop_map(move |q| line(json!(q))),
        decode::<CreateOrder>,
    );
    cases.invalid(
        at,
        values::create_order().prop_map(|o| {
            let mut v = serde_json::to_value(o).expect("serialises");
            v.as_object_mut().expect("an object").remove("customerId");
            v
        }),
        decode::<CreateOrder>,
    );
    let unknown = "[A-Z][a-z]{2,8}".prop_map(|status| json!({ "orderId": "o", "status": status }));
    cases.invalid(
        ("order-service", "request", "updateOrderStatus"),
        unknown,
        decode::<UpdateOrderStatus>,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_typescript_compiles_with_tsc_strict_and_zod_agrees_with_rust() {
    // `compile` fails the test unless `tsc --strict --noEmit` passes on all four files.
    let js = typescript::compile("zod", &contracts::ALL).await;
    let mut cases = Cases::new();
    order_cases(&mut cases);
    other_cases(&mut cases);
    rule_breaking_cases(&mut cases);
    shape_breaking_cases(&mut cases);
    let total = cases.list.len();
    let refused = cases.list.iter().filter(|c| c["valid"] == false).count();
    let file = typescript::node_dir().join("generated").join("zod").join("cases.json");
    std::fs::write(&file, serde_json::to_string(&cases.list).expect("json"))
        .expect("write the cases");
    let lines =
        typescript::node("zod_check.mjs", &["zod_check.mjs", &js, "generated/zod/cases.json"])
            .await;
    let summary = lines.last().cloned().unwrap_or_default();
    assert_eq!(
        summary,
        format!("ok - {total} cases ({} accepted, {refused} rejected)", total - refused)
    );
    assert!(total > 2_000, "{total} cases");
}
