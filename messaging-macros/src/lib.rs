//! Attribute macros for contract-first typed messaging. Use them through
//! `messaging_runtime` (`use messaging_runtime::prelude::*;`), which re-exports them and
//! everything the generated code needs.
//!
//! Every macro parses its input into a small model, checks the model (collecting every
//! mistake, each spanned on the user's tokens), then expands. On error the original item
//! is still emitted, so one mistake does not cascade into many.

mod attr;
mod contract;
mod error_code;
mod errors;
mod message;
mod naming;
mod unexpressed;

use proc_macro::TokenStream;

/// Makes a struct or enum an event: `#[event]` or `#[event("wireName")]`.
///
/// The wire name defaults to the lowerCamelCase of the type name.
#[proc_macro_attribute]
pub fn event(args: TokenStream, input: TokenStream) -> TokenStream {
    message::expand_event(args.into(), input.into()).into()
}

/// Makes a struct a request: `#[request("wireName", response = T)]`.
///
/// The wire name defaults to the lowerCamelCase of the type name; `response` is required.
#[proc_macro_attribute]
pub fn request(args: TokenStream, input: TokenStream) -> TokenStream {
    message::expand_request(args.into(), input.into()).into()
}

/// Makes an enum a contract error: each variant carries
/// `#[error(status = N, message = "... {field} ...", code = "...")]`.
///
/// Generates `Display` (renders the template), `std::error::Error`, one constructor per
/// variant, `ErrorCode` (code, status, params, lossless wire conversion).
#[proc_macro_attribute]
pub fn error_code(args: TokenStream, input: TokenStream) -> TokenStream {
    error_code::expand(args.into(), input.into()).into()
}

/// Declares the permission a contract method's request requires:
/// `#[permission("orders:write")]` on an `async fn` of a `#[contract]` trait.
///
/// `#[contract]` reads it (checking the string at compile time: `:`-separated segments of
/// `a-z`, `0-9`, `_` or `-`, or a whole `*`) into the request's descriptor, and the server
/// checks it before dispatch when it has an access policy. Anywhere else it is an error.
#[proc_macro_attribute]
pub fn permission(_args: TokenStream, input: TokenStream) -> TokenStream {
    contract::misplaced_permission(input.into()).into()
}

/// Makes a trait a contract:
/// `#[contract(name = "...", version = "x.y.z", error = E, events(A, B))]`.
///
/// Generates the trait with `Send` futures, `{Trait}Client`, `{Trait}Server<S>`,
/// `{Trait}Events`, `{Trait}Contract`, and `EventOf<{Trait}Contract>` for each listed event.
/// A method may carry `#[permission("resource:action")]`, the permission its request requires.
#[proc_macro_attribute]
pub fn contract(args: TokenStream, input: TokenStream) -> TokenStream {
    contract::expand(args.into(), input.into()).into()
}
