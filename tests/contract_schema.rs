//! The JSON Schemas of the contracts (draft 2020-12, from `schemars`): every message has
//! one, `validator` rules and serde attributes are carried over, and a contract whose types
//! derive no `JsonSchema` gets an error naming them instead of a schema that accepts
//! anything.

use contracts::order::OrderServiceContract;
use contracts::user::UserServiceContract;
use messaging_runtime::contract::schema::JSON_SCHEMA_DIALECT;
use messaging_runtime::contract::snapshot::Snapshot;
use serde_json::{json, Value};

fn def<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema.pointer(&format!("/$defs/{name}")).unwrap_or_else(|| panic!("no definition {name}"))
}

#[test]
fn validator_rules_are_carried_into_the_schema() {
    let schema = UserServiceContract::json_schema().expect("user-service has schemas");
    let create = def(&schema, "CreateUser");
    let username = &create["properties"]["username"];
    assert_eq!((&username["minLength"], &username["maxLength"]), (&json!(3), &json!(50)));
    assert_eq!(create["properties"]["email"]["format"], "email");
    assert_eq!(create["properties"]["password"]["minLength"], 8);
    assert_eq!(def(&schema, "UserCreated")["properties"]["email"]["format"], "email");
}

#[test]
fn serde_attributes_shape_the_schema() {
    let schema = OrderServiceContract::json_schema().expect("order-service has schemas");
    let order = def(&schema, "Order");
    // `rename_all = "camelCase"`, and an `Option` with `skip_serializing_if` is optional.
    let required = order["required"].as_array().expect("required");
    assert!(required.contains(&json!("customerId")));
    assert!(!required.contains(&json!("cancellationReason")));
    assert_eq!(order["properties"]["cancellationReason"]["type"], json!(["string", "null"]));
    // `rename_all = "lowercase"` on a unit enum (one `const` per documented variant).
    let variants: Vec<&Value> = def(&schema, "OrderStatus")["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|v| &v["const"])
        .collect();
    assert_eq!(variants, ["pending", "processing", "shipped", "delivered", "cancelled"]);
    // `#[serde(flatten)]`: the dashboard's order view has the order's fields at its top level.
    let dashboard = contracts::dashboard::DashboardServiceContract::json_schema().expect("schemas");
    assert!(def(&dashboard, "OrderView")["properties"]["customerId"].is_object());
}

#[test]
fn every_message_of_every_contract_has_a_schema() {
    for descriptor in contracts::ALL {
        let snapshot = Snapshot::of_descriptor(descriptor).expect("every type derives JsonSchema");
        let schema = messaging_runtime::contract::schema::json_schema_of(&snapshot);
        assert_eq!(schema["$schema"], JSON_SCHEMA_DIALECT);
        for request in descriptor.requests {
            let entry = &schema["requests"][request.name];
            assert!(
                entry["request"].is_object() && entry["response"].is_object(),
                "{}",
                request.name
            );
        }
        for event in descriptor.events {
            assert!(schema["events"][event.name].is_object(), "{}", event.name);
        }
        for error in descriptor.errors {
            let wire = &schema["errors"][error.code];
            assert_eq!(wire["properties"]["code"]["const"], error.code);
            assert_eq!(wire["properties"]["status"]["const"], error.status);
            let details = wire["properties"]["details"]["properties"].as_object().expect("details");
            let keys: Vec<&str> = details.keys().map(String::as_str).collect();
            let mut expected = error.params.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{}", error.code);
        }
        // Every `$ref` points at a definition of the document.
        let text = schema.to_string();
        for reference in text.split("\"#/$defs/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(
                schema["$defs"].get(name).is_some(),
                "{}: dangling $ref {name}",
                descriptor.name
            );
        }
    }
}

/// A contract whose types derive no `JsonSchema` (it still compiles and serves).
mod plain {
    use messaging_runtime::prelude::*;

    /// A reply without a schema.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(crate) struct Pong {
        /// The time.
        pub(crate) at: u64,
    }

    /// A request without a schema.
    #[request("ping", response = Pong)]
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(crate) struct Ping {}

    /// An error whose field has a schema (`String`).
    #[error_code]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum PlainError {
        /// Nope.
        #[error(status = 400, message = "no: {why}")]
        No {
            /// Why.
            why: String,
        },
    }

    /// Pings.
    #[contract(name = "plain", version = "1.0.0", error = PlainError)]
    pub(crate) trait Plain {
        /// Pings.
        async fn ping(&self, req: Ping, cx: Context) -> Result<Pong, PlainError>;
    }
}

#[test]
fn a_contract_without_schemas_names_the_types_that_lack_one() {
    let error = plain::PlainContract::json_schema().expect_err("no JsonSchema derives");
    assert_eq!(error.missing, ["`Ping` (request `ping`)", "`Pong` (response of `ping`)"]);
    assert_eq!(
        error.to_string(),
        "contract `plain` has types without a JSON Schema: `Ping` (request `ping`), `Pong` \
         (response of `ping`); add `#[derive(JsonSchema)]` to each of them (and to the types \
         they contain)"
    );
    assert!(plain::PlainContract::asyncapi().is_err());
    assert!(plain::PlainContract::typescript().is_err());
}
