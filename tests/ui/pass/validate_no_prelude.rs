//! Rules declared with `validator`'s derive, expanded where nothing is in scope but what is
//! imported: the `validate_message` override `#[request]` and `#[event]` generate names
//! everything by absolute path, and the derive is pointed at the re-exported `validator`
//! (this crate has no `validator` dependency of its own). `validator`'s own derive output
//! names `Some`, `None` and `From::from` unqualified, so those three are imported for it;
//! `no_implicit_prelude.rs` shows the override needs nothing.
#![no_implicit_prelude]

extern crate messaging_runtime;
extern crate serde;
extern crate std;

use messaging_runtime::prelude::Validate;
use messaging_runtime::{event, request, Event, Request};
use serde::{Deserialize, Serialize};
use std::string::String;
// For `validator`'s derive, not for the messaging macros.
use std::convert::From;
use std::option::Option::{None, Some};

/// Asks for a thing.
#[request("getThing", response = String)]
#[derive(::std::fmt::Debug, ::std::clone::Clone, Serialize, Deserialize, Validate)]
pub struct GetThing {
    /// 3 to 50 characters.
    #[validate(length(min = 3, max = 50))]
    pub id: String,
}

/// A thing changed.
#[event]
#[derive(::std::fmt::Debug, ::std::clone::Clone, Serialize, Deserialize, Validate)]
pub struct ThingChanged {
    /// A valid address.
    #[validate(email)]
    pub owner: String,
}

fn main() {
    let short = GetThing { id: From::from("ab") };
    ::std::assert!(Request::validate_message(&short).is_err());
    let fine = ThingChanged { owner: From::from("a@example.com") };
    ::std::assert!(Event::validate_message(&fine).is_ok());
}
