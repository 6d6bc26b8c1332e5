//! `#[error_code]`: makes an enum a contract error.
//!
//! ```text
//! #[error_code]
//! #[derive(Debug, Clone, PartialEq)]
//! pub enum OrderError {
//!     #[error(status = 404, message = "Order with ID {orderId} not found")] // code: ORDER_NOT_FOUND
//!     OrderNotFound { order_id: String },
//!     #[error(code = "OUT_OF_STOCK", status = 409, message = "only {0} left")]
//!     Stock(u32),
//! }
//! ```
//!
//! The enum is read into a model ([`ast`]), checked rule by rule with every mistake
//! collected ([`valid`]), then expanded ([`expand`]): `Display` from the message templates
//! ([`template`]), `std::error::Error`, `Debug` when not derived, one constructor per variant,
//! `ErrorCode` and `From<_> for WireError`.
//!
//! Generic enums are passed through: every impl reuses the enum's own generics and where
//! clause, so the enum must state the bounds the impls need itself (for a field of type `T`:
//! `T: Display` if the template uses it, `Debug`, `Serialize`, `DeserializeOwned`, `Send`,
//! `Sync`, `'static`). Lifetime parameters are rejected: an error must own its data.
//!
//! `Debug` is implemented unless a `#[derive(...)]` *below* `#[error_code]` lists it: a derive
//! written above the attribute is expanded first and never seen here, so `Debug` would be
//! implemented twice. Write `#[error_code]` first.

mod ast;
mod expand;
mod template;
mod valid;

use proc_macro2::TokenStream;

use crate::errors::{with_original, Errors};

/// Expands `#[error_code]` on `input`; `args` must be empty.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    valid::no_arguments(&args, &mut errors);
    let item = errors.ok(syn::parse2::<syn::Item>(input.clone()));
    let Some(item) = item.and_then(|item| valid::enum_only(item, &mut errors)) else {
        return match errors.finish() {
            Err(e) => with_original(&e, input),
            Ok(()) => input,
        };
    };
    let model = ast::Input::from_enum(item, &mut errors);
    let specs = valid::check(&model, &mut errors);
    match (errors.finish(), specs) {
        (Ok(()), Some(specs)) => expand::expand(&model, &specs),
        (Err(e), _) => with_original(&e, expand::fallback(&model)),
        (Ok(()), None) => expand::fallback(&model),
    }
}
