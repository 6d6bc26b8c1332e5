//! The rules a contract must follow that can be checked on its tokens. Rules that need
//! types (a request type really is a `#[request]`, the `Ok` type matches its response,
//! wire names are unique) are checked by the type checker, see `checks.rs`.

use quote::ToTokens;

use super::ast::{type_ident, Contract, Method};
use super::reserved::{reserved_methods, Reserved};
use crate::errors::Errors;
use crate::naming;

/// Runs every rule, recording each violation.
pub(crate) fn check(contract: &Contract, errors: &mut Errors) {
    error_type_is_given(contract, errors);
    name_is_not_empty(contract, errors);
    version_is_semver(contract, errors);
    trait_has_no_generics(contract, errors);
    events_are_named_types_listed_once(contract, errors);
    for method in &contract.methods {
        method_is_async(&method.item, errors);
        method_has_no_body(&method.item, errors);
        method_has_no_generics(&method.item, errors);
        permission_is_declared_once(method, errors);
        if let Some(permission) = method.permission() {
            permission_is_well_formed(permission, errors);
        }
    }
    permission_is_on_a_method(contract, errors);
    let reserved = reserved_methods();
    method_names_do_not_clash(contract, &reserved, errors);
    event_names_do_not_clash(contract, &reserved, errors);
}

/// Rule: a contract with requests names its error type with `error = Type` (one with events
/// only may leave it out).
fn error_type_is_given(contract: &Contract, errors: &mut Errors) {
    if contract.args.error.is_none() && !contract.methods.is_empty() {
        errors.at(
            &contract.item.ident,
            "missing `error = Type` in `#[contract(...)]`: a contract with requests names its \
             `#[error_code]` enum (only a contract with events alone may leave it out)",
        );
    }
}

/// Rule: a contract name, when given, is not empty.
fn name_is_not_empty(contract: &Contract, errors: &mut Errors) {
    if let Some(name) = &contract.args.name {
        if name.value().trim().is_empty() {
            errors.at(name, "contract name is empty: expected a name such as \"order-service\"");
        }
    }
}

/// Rule: a version, when given, is `major.minor.patch`, each a number.
fn version_is_semver(contract: &Contract, errors: &mut Errors) {
    let Some(version) = &contract.args.version else { return };
    let value = version.value();
    let parts: Vec<&str> = value.split('.').collect();
    let valid = parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        errors.at(
            version,
            format!("invalid version \"{value}\": expected `major.minor.patch`, like \"1.0.0\""),
        );
    }
}

/// Rule: a contract trait has no generic parameters and no where clause (a contract is one
/// concrete set of wire types).
fn trait_has_no_generics(contract: &Contract, errors: &mut Errors) {
    let generics = &contract.item.generics;
    if !generics.params.is_empty() {
        errors.at(
            &generics.params,
            "a contract trait cannot be generic: its wire types must be concrete",
        );
    }
    if let Some(where_clause) = &generics.where_clause {
        errors.at(where_clause, "a contract trait cannot have a where clause");
    }
}

/// Rule: each listed event is a named type, listed once.
fn events_are_named_types_listed_once(contract: &Contract, errors: &mut Errors) {
    let mut seen: Vec<String> = Vec::new();
    for event in &contract.args.events {
        if type_ident(event).is_none() {
            errors.at(event, "expected the name of an `#[event]` type, like `OrderCreated`");
            continue;
        }
        let text = event.to_token_stream().to_string();
        if seen.contains(&text) {
            errors.at(event, format!("event `{text}` is listed twice in `events(...)`"));
        }
        seen.push(text);
    }
}

/// Rule: every contract method is `async`.
fn method_is_async(item: &syn::TraitItemFn, errors: &mut Errors) {
    if item.sig.asyncness.is_none() {
        errors.at(
            item.sig.fn_token,
            format!(
                "contract method `{}` must be `async`: write `async fn {}(..)`",
                item.sig.ident, item.sig.ident
            ),
        );
    }
}

/// Rule: contract methods are declarations; implementations live in the `impl`.
fn method_has_no_body(item: &syn::TraitItemFn, errors: &mut Errors) {
    if let Some(body) = &item.default {
        errors.at(body, format!("contract method `{}` cannot have a default body", item.sig.ident));
    }
}

/// Rule: contract methods are not generic (each maps to one concrete request type).
fn method_has_no_generics(item: &syn::TraitItemFn, errors: &mut Errors) {
    if !item.sig.generics.params.is_empty() {
        errors.at(
            &item.sig.generics,
            format!("contract method `{}` cannot be generic", item.sig.ident),
        );
    }
}

/// Rule: a method name may not be one the generated client defines (`connect`, `emit`,
/// `events`, ..., or an event's `order_created` / `on_order_created`), since each contract
/// method becomes a client method of its name.
fn method_names_do_not_clash(contract: &Contract, reserved: &[Reserved], errors: &mut Errors) {
    let trait_name = &contract.item.ident;
    let on_client = |r: &&Reserved| r.item.starts_with("Client::");
    for method in &contract.methods {
        let name = method.ident().to_string();
        if let Some(Reserved { item, .. }) =
            reserved.iter().filter(on_client).find(|r| r.name == name)
        {
            errors.at(
                method.ident(),
                format!("method name `{name}` clashes with the generated `{trait_name}{item}`; rename the method"),
            );
        }
        for event in contract.args.events.iter().filter_map(type_ident) {
            let subscribe = naming::event_method(event);
            let callback = naming::event_callback_method(event);
            if subscribe == name || callback == name {
                errors.at(
                    method.ident(),
                    format!(
                        "method name `{name}` clashes with the generated `{trait_name}Client::{name}` \
                         for event `{event}`; rename the method"
                    ),
                );
            }
        }
    }
}

/// Rule: an event's generated method names (`order_created`, `on_order_created`) may not be
/// ones the generated client or publisher already define.
fn event_names_do_not_clash(contract: &Contract, reserved: &[Reserved], errors: &mut Errors) {
    for event in &contract.args.events {
        let Some(ident) = type_ident(event) else { continue };
        let generated = naming::event_method(ident).to_string();
        if let Some(Reserved { item, .. }) = reserved.iter().find(|r| r.name == generated) {
            errors.at(
                event,
                format!(
                    "event `{ident}` would generate method `{generated}`, which clashes with the generated \
                     `{}{item}`; rename the event type (its wire name can stay with `#[event(\"...\")]`)",
                    contract.item.ident
                ),
            );
        }
    }
}

/// Rule: a method declares at most one required permission.
fn permission_is_declared_once(method: &Method, errors: &mut Errors) {
    for extra in method.permissions.iter().skip(1) {
        errors.at(
            extra,
            format!(
                "duplicate `#[permission]` on contract method `{}`: a request requires one \
                 permission (grant broader ones with a wildcard, like \"orders:*\")",
                method.ident()
            ),
        );
    }
}

/// Rule: `#[permission]` goes on a contract method, not on the trait.
fn permission_is_on_a_method(contract: &Contract, errors: &mut Errors) {
    for attr in &contract.trait_permissions {
        errors.at(
            attr,
            "`#[permission]` goes on a contract method, not on the trait: put it on each \
             `async fn` whose request requires it",
        );
    }
}

/// Rule: a permission is one or more `:`-separated segments, each of `a-z`, `0-9`, `_` and
/// `-`, or exactly `*` (the runtime's `messaging_runtime::auth::check_permission`; keep the
/// two in step).
fn permission_is_well_formed(permission: &syn::LitStr, errors: &mut Errors) {
    let value = permission.value();
    if let Err(reason) = check_permission(&value) {
        errors.at(
            permission,
            format!(
                "invalid permission \"{value}\": {reason}; expected segments of `a-z`, `0-9`, `_` \
                 or `-` (or a whole `*`) separated by `:`, like \"orders:write\", \"orders:*\" or \"*\""
            ),
        );
    }
}

// The runtime's rule of what a permission may be, from the crate both share.
use messaging_rules::check_permission;
