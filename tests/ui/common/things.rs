//! Types shared by the `#[contract]` compile-fail cases, so each case shows only its mistake.
#![allow(dead_code)]

use messaging_runtime::prelude::*;

#[request("getThing", response = Thing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Thing {
    pub id: String,
}

#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThingChanged {
    pub id: String,
}

#[error_code]
#[derive(Debug)]
pub enum ThingError {
    #[error(status = 404, message = "thing {id} not found")]
    NotFound { id: String },
}
