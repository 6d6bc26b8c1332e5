//! A `validator` rule a JSON Schema cannot express, on a message type that derives
//! `JsonSchema`: `#[request]` warns at the rule (denied here, so the warning shows as an
//! error), while the rules the schema carries (`length`) and a rule described with
//! `#[schemars(..)]` stay silent.
#![deny(deprecated)]

use messaging_runtime::prelude::*;

fn even(value: i64) -> Result<(), messaging_runtime::validator::ValidationError> {
    if value % 2 == 0 {
        Ok(())
    } else {
        Err(messaging_runtime::validator::ValidationError::new("even"))
    }
}

#[request("setLimit", response = bool)]
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct SetLimit {
    #[validate(length(min = 1))]
    pub name: String,
    #[validate(custom(function = "even"))]
    pub limit: i64,
    #[validate(custom(function = "even"))]
    #[schemars(description = "an even number")]
    pub described: i64,
}

fn main() {}
