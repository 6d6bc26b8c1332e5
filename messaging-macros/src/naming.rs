//! The naming scheme, decided in one place: case conversions and generated item names.

use proc_macro2::Ident;
use quote::format_ident;

/// Splits an identifier into lowercase words at `_` and at lower→upper boundaries.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.trim_start_matches("r#").chars() {
        if c == '_' || c == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `OrderCreated` / `order_created` → `orderCreated`.
pub(crate) fn lower_camel(name: &str) -> String {
    let mut out = String::new();
    for (i, word) in words(name).iter().enumerate() {
        if i == 0 {
            out.push_str(word);
        } else {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// `OrderNotFound` → `ORDER_NOT_FOUND`.
pub(crate) fn screaming_snake(name: &str) -> String {
    words(name).join("_").to_uppercase()
}

/// `OrderNotFound` → `order_not_found`.
pub(crate) fn snake(name: &str) -> String {
    words(name).join("_")
}

/// `OrderService` → `order-service`.
pub(crate) fn kebab(name: &str) -> String {
    words(name).join("-")
}

/// The generated items of a contract named after its trait.
pub(crate) struct ContractNames {
    pub(crate) client: Ident,
    pub(crate) server: Ident,
    pub(crate) events: Ident,
    pub(crate) contract: Ident,
}

impl ContractNames {
    pub(crate) fn new(trait_name: &Ident) -> Self {
        Self {
            client: format_ident!("{}Client", trait_name),
            server: format_ident!("{}Server", trait_name),
            events: format_ident!("{}Events", trait_name),
            contract: format_ident!("{}Contract", trait_name),
        }
    }
}

/// Methods the generated client, server and publisher define themselves; a contract method
/// of the same name would clash with them.
pub(crate) const RESERVED_METHODS: &[(&str, &str)] = &[
    ("connect", "Client::connect"),
    ("from_client", "Client::from_client"),
    ("inner", "Client::inner"),
    ("emit", "Client::emit"),
    ("subscribe", "Client::subscribe"),
    ("on", "Client::on"),
    ("new", "Server::new"),
    ("from_arc", "Server::from_arc"),
    ("publish", "Events::publish"),
    ("publish_to", "Events::publish_to"),
    ("clone", "Client::clone"),
];

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
        assert_eq!(lower_camel("HTTPError"), "httperror");
    }
}
