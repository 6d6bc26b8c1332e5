//! A whole contract expanded where nothing is in scope but what is imported: the generated
//! code must name everything by absolute path.
#![no_implicit_prelude]

extern crate messaging_runtime;
extern crate serde;
extern crate std;

use messaging_runtime::{contract, error_code, event, request, Context};
use serde::{Deserialize, Serialize};
use std::string::String;

/// A thing changed.
#[event]
#[derive(::std::fmt::Debug, ::std::clone::Clone, Serialize, Deserialize)]
pub struct ThingChanged {
    /// Which thing.
    pub id: String,
}

/// Asks for a thing.
#[request("getThing", response = String)]
#[derive(::std::fmt::Debug, ::std::clone::Clone, Serialize, Deserialize)]
pub struct GetThing {
    /// Which thing.
    pub id: String,
}

/// Asks whether a thing exists.
#[request(response = bool)]
#[derive(::std::fmt::Debug, ::std::clone::Clone, Serialize, Deserialize)]
pub struct HasThing {
    /// Which thing.
    pub id: String,
}

/// What can go wrong.
#[error_code]
#[derive(::std::fmt::Debug)]
pub enum ThingError {
    /// No such thing.
    #[error(status = 404, message = "thing {id} not found")]
    NotFound {
        /// Which thing.
        id: String,
    },
    /// A unit variant.
    #[error(status = 503, message = "try later")]
    Busy,
    /// A tuple variant.
    #[error(status = 500, message = "broken: {0}")]
    Broken(String),
}

/// Things.
#[contract(name = "things", version = "1.0.0", error = ThingError, events(ThingChanged))]
pub trait Things {
    /// Gets a thing.
    async fn get_thing(&self, req: GetThing, cx: Context) -> ::std::result::Result<String, ThingError>;
    /// Says whether a thing exists, without looking at the context.
    async fn has_thing(&self, req: HasThing) -> ::std::result::Result<bool, ThingError>;
}

fn main() {}
