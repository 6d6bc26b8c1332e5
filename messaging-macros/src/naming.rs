//! The naming scheme, decided in one place: case conversions and generated item names.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The one path generated code names the runtime by: absolute, so it resolves whatever the
/// user's crate imports or shadows.
pub(crate) fn runtime() -> TokenStream {
    quote!(::messaging_runtime::__private)
}

/// Where `validator`'s derive is pointed (`#[validate(crate = ..)]`), so a contract crate
/// needs no `validator` dependency of its own.
pub(crate) const VALIDATOR_PATH: &str = "::messaging_runtime::validator";

/// Where `schemars`' derive is pointed (`#[schemars(crate = ..)]`), likewise.
pub(crate) const SCHEMARS_PATH: &str = "::messaging_runtime::schemars";

// One case-conversion rule for every generated name, heck's: words split at `_`, `-` and
// case boundaries, an acronym kept as one word (`NotAMember` → `not_a_member`,
// `IOFailed` → `io_failed`, `HTTPPing` → `httpPing`).

fn bare(name: &str) -> &str {
    name.trim_start_matches("r#")
}

/// `OrderCreated` / `order_created` → `orderCreated`.
pub(crate) fn lower_camel(name: &str) -> String {
    bare(name).to_lower_camel_case()
}

/// `OrderNotFound` → `ORDER_NOT_FOUND`.
pub(crate) fn screaming_snake(name: &str) -> String {
    bare(name).to_shouty_snake_case()
}

/// `OrderNotFound` → `order_not_found`.
pub(crate) fn snake(name: &str) -> String {
    bare(name).to_snake_case()
}

/// `OrderService` → `order-service`.
pub(crate) fn kebab(name: &str) -> String {
    bare(name).to_kebab_case()
}

/// The generated items of a contract named after its trait.
pub(crate) struct ContractNames {
    pub(crate) client: Ident,
    pub(crate) server: Ident,
    pub(crate) events: Ident,
    pub(crate) event_enum: Ident,
    pub(crate) contract: Ident,
}

impl ContractNames {
    pub(crate) fn new(trait_name: &Ident) -> Self {
        Self {
            client: format_ident!("{}Client", trait_name),
            server: format_ident!("{}Server", trait_name),
            events: format_ident!("{}Events", trait_name),
            event_enum: format_ident!("{}Event", trait_name),
            contract: format_ident!("{}Contract", trait_name),
        }
    }
}

/// The client's subscription method for an event type: `OrderCreated` → `order_created`.
pub(crate) fn event_method(event_type: &Ident) -> Ident {
    format_ident!("{}", snake(&event_type.to_string()), span = event_type.span())
}

/// The client's callback subscription method: `OrderCreated` → `on_order_created`.
pub(crate) fn event_callback_method(event_type: &Ident) -> Ident {
    format_ident!("on_{}", snake(&event_type.to_string()), span = event_type.span())
}

/// The constructor of an error variant: `OrderNotFound` → `order_not_found`.
pub(crate) fn error_constructor(variant: &Ident) -> Ident {
    format_ident!("{}", snake(&variant.to_string()), span = variant.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_cases() {
        assert_eq!(lower_camel("OrderCreated"), "orderCreated");
        assert_eq!(lower_camel("get_order_by_id"), "getOrderById");
        assert_eq!(screaming_snake("OrderNotFound"), "ORDER_NOT_FOUND");
        assert_eq!(snake("OrderShipped"), "order_shipped");
        assert_eq!(kebab("OrderService"), "order-service");
        assert_eq!(lower_camel("HTTPPing"), "httpPing");
        assert_eq!(lower_camel("GetURL"), "getUrl");
        assert_eq!(screaming_snake("NotAMember"), "NOT_A_MEMBER");
        assert_eq!(snake("NotAMember"), "not_a_member");
        assert_eq!(screaming_snake("IOFailed"), "IO_FAILED");
        assert_eq!(snake("r#type"), "type");
        assert_eq!(lower_camel("A"), "a");
    }
}
