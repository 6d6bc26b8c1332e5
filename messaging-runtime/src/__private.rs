//! Items the macros' generated code names by absolute path. Not a public API: it changes
//! without notice.

pub use crate::client::{Call, Client, EventStream, Subscription};
pub use crate::context::MessageContext;
pub use crate::contract::{
    Contract, ContractDescriptor, ErrorCode, ErrorDescriptor, Event, EventDescriptor, EventOf,
    Request, RequestDescriptor,
};
pub use crate::error::{PublishError, TransportError, WireError};
pub use crate::server::{Broadcaster, ClientId, Context, Router, Service};
pub use crate::validation::ValidationFailure;
pub use serde;
pub use serde_json;
pub use validator;

pub use core::fmt::{Display, Formatter, Result as FmtResult};
pub use core::future::Future;
pub use core::marker::PhantomData;
pub use core::option::Option;
pub use core::result::Result;
pub use std::boxed::Box;
pub use std::string::String;
pub use std::sync::Arc;
pub use std::vec::Vec;

/// Compiles only when `T` is an `#[error_code]` enum (spanned at the user's type).
pub const fn assert_error_code<T: ErrorCode>() {}

/// Compiles only when the request `R` answers with `T`.
pub const fn assert_response<R: Request<Response = T>, T>() {}

/// Whether `name` equals any of `earlier` (for the duplicate wire name check at compile time).
pub const fn name_taken(name: &str, earlier: &[&str]) -> bool {
    let mut i = 0;
    while i < earlier.len() {
        if str_eq(name, earlier[i]) {
            return true;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A value as JSON for an error's params; a value that cannot be represented becomes `null`.
pub fn param_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Decodes one param of a wire error's details, `None` when absent or of the wrong shape.
pub fn param_from<T: serde::de::DeserializeOwned>(
    details: Option<&serde_json::Value>,
    key: &str,
) -> Option<T> {
    let value = details?.as_object()?.get(key)?;
    T::deserialize(value).ok()
}

/// Wraps a message so that method resolution can tell whether its type implements
/// `validator::Validate` (autoref specialisation): `#[request]` and `#[event]` generate
///
/// ```text
/// use ::messaging_runtime::__private::{RulesOfValidate as _, NoRules as _};
/// (&::messaging_runtime::__private::Probe(self)).__messaging_rules()
/// ```
///
/// On a receiver `&Probe<T>`, [`RulesOfValidate`] (implemented for `Probe<T>` with
/// `T: Validate`, taken by `&self`) matches without an extra borrow and wins; otherwise method
/// resolution autorefs and finds [`NoRules`] (implemented for every `&Probe<T>`). The choice
/// is made on the concrete type where the impl is generated, so the attribute's position
/// relative to `#[derive(Validate)]` does not matter.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// The message's type has rules: run them.
pub trait RulesOfValidate {
    /// Runs `validator::Validate::validate`.
    fn __messaging_rules(&self) -> Result<(), ValidationFailure>;
}

impl<T: validator::Validate + ?Sized> RulesOfValidate for Probe<'_, T> {
    #[inline]
    fn __messaging_rules(&self) -> Result<(), ValidationFailure> {
        validator::Validate::validate(self.0).map_err(ValidationFailure::from)
    }
}

/// The message's type has no rules: nothing to check.
pub trait NoRules {
    /// Always `Ok(())`.
    fn __messaging_rules(&self) -> Result<(), ValidationFailure>;
}

impl<T: ?Sized> NoRules for &Probe<'_, T> {
    #[inline]
    fn __messaging_rules(&self) -> Result<(), ValidationFailure> {
        Result::Ok(())
    }
}
