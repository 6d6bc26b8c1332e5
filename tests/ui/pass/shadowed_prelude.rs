//! A contract in a module that shadows `Result`, `Option`, `Box`, `Vec`, `String` and
//! `Send`: the generated code must not pick up the user's items.
#![allow(dead_code)]

use messaging_runtime::prelude::*;

/// A user type named like a prelude item.
pub struct Option;
/// A user type named like a prelude item.
pub struct Box;
/// A user type named like a prelude item.
pub struct Vec;
/// A user trait named like an auto trait.
pub trait Send {}
/// A user alias named like the prelude's `Result`.
pub type Result<T> = std::result::Result<T, ThingError>;

/// Asks for a thing.
#[request("getThing", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    /// Which thing.
    pub id: String,
}

/// A thing changed.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThingChanged {
    /// Which thing.
    pub id: String,
}

/// What can go wrong.
#[error_code]
#[derive(Debug)]
pub enum ThingError {
    /// No such thing.
    #[error(status = 404, message = "thing {id} not found")]
    NotFound {
        /// Which thing.
        id: String,
    },
}

/// Things, returning the user's one-argument `Result` alias.
#[contract(name = "things", error = ThingError, events(ThingChanged))]
pub trait Things {
    /// Gets a thing.
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<String>;
}

struct Impl;

impl Things for Impl {
    async fn get_thing(&self, req: GetThing, _cx: Context) -> Result<String> {
        Err(ThingError::not_found(req.id))
    }
}

fn main() {
    let _server = ThingsServer::new(Impl);
}
