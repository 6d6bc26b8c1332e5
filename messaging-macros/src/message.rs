//! `#[event]` and `#[request]`: parse the arguments and the item, check, then implement
//! `Event` or `Request`, including the hook that runs the type's `validator` rules.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::{self, Arg, Seen, WireName};
use crate::errors::{with_original, Errors};
use crate::naming;

/// The item a message attribute sits on.
struct Target {
    ident: syn::Ident,
    generics: syn::Generics,
}

use crate::naming::{SCHEMARS_PATH, VALIDATOR_PATH};

/// Overrides `validate_message` to run `validator::Validate::validate` when the type
/// implements `Validate` and to do nothing otherwise. The choice is made by autoref
/// specialisation on the concrete type (see `__private::Probe`), so it does not depend on
/// whether `#[derive(Validate)]` sits above or below the attribute. Call-site spans: this is
/// the macro's own code, not the user's, as far as lints are concerned.
fn validate_message() -> TokenStream {
    let p = naming::runtime();
    quote! {
        #[inline]
        fn validate_message(&self) -> #p::Result<(), #p::ValidationFailure> {
            #[allow(unused_imports, reason = "one of the two traits is the one that applies")]
            use #p::{NoRules as _, RulesOfValidate as _};
            (&#p::Probe(self)).__messaging_rules()
        }
    }
}

/// Whether a derive path names `name` of crate `krate`: bare (the prelude's), or under
/// `krate::` or `prelude::` (e.g. `Validate`, `validator::Validate`,
/// `messaging_runtime::prelude::Validate`).
fn names_derive(path: &syn::Path, krate: &str, name: &str) -> bool {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [last] => last == name,
        [.., parent, last] => last == name && (parent == krate || parent == "prelude"),
        [] => false,
    }
}

/// `validator`'s `Validate`.
fn is_validate_derive(path: &syn::Path) -> bool {
    names_derive(path, "validator", "Validate")
}

/// `schemars`' `JsonSchema`.
fn is_json_schema_derive(path: &syn::Path) -> bool {
    names_derive(path, "schemars", "JsonSchema")
}

/// Whether the attributes below ours derive a trait `is_it` recognises.
fn derives(attrs: &[syn::Attribute], is_it: fn(&syn::Path) -> bool) -> bool {
    attrs.iter().filter(|a| a.path().is_ident("derive")).any(|a| {
        a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        )
        .is_ok_and(|paths| paths.iter().any(is_it))
    })
}

/// Whether the attributes below ours derive `validator`'s `Validate`.
fn derives_validate(attrs: &[syn::Attribute]) -> bool {
    derives(attrs, is_validate_derive)
}

/// Whether a container-level `#[validate(..)]` already says `crate = ...`.
fn names_validator_crate(attrs: &[syn::Attribute]) -> bool {
    names_crate(attrs, "validate")
}

/// Whether a container-level `#[tool(..)]` already says `crate = ...`.
fn names_crate(attrs: &[syn::Attribute], tool: &str) -> bool {
    attrs.iter().filter(|a| a.path().is_ident(tool)).any(|a| {
        let Ok(list) = a.meta.require_list() else { return false };
        let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
        tokens.windows(2).any(|pair| {
            matches!(&pair[0], proc_macro2::TokenTree::Ident(i) if i == "crate")
                && matches!(&pair[1], proc_macro2::TokenTree::Punct(p) if p.as_char() == '=')
        })
    })
}

/// The item as it is emitted: unchanged, except that a struct deriving `Validate` below the
/// attribute gets `#[validate(crate = "::messaging_runtime::validator")]` (unless it names a
/// crate itself), since `validator`'s derive otherwise generates `::validator::` paths that
/// only resolve when the user's crate depends on `validator` directly.
///
/// Likewise a struct or enum deriving `JsonSchema` gets
/// `#[schemars(crate = "::messaging_runtime::schemars")]`, and each `validator` rule its
/// schema cannot express gets a warning (see `unexpressed`).
fn emitted_item(input: TokenStream, item: Option<syn::Item>) -> TokenStream {
    let schema_crate: syn::Attribute = syn::parse_quote!(#[schemars(crate = #SCHEMARS_PATH)]);
    match item {
        Some(syn::Item::Struct(mut s)) => {
            let mut changed = false;
            if derives_validate(&s.attrs) && !names_validator_crate(&s.attrs) {
                s.attrs.push(syn::parse_quote!(#[validate(crate = #VALIDATOR_PATH)]));
                changed = true;
            }
            let mut warnings = TokenStream::new();
            if derives(&s.attrs, is_json_schema_derive) {
                warnings = crate::unexpressed::warnings(&s);
                if !names_crate(&s.attrs, "schemars") {
                    s.attrs.push(schema_crate);
                    changed = true;
                }
            }
            if changed {
                quote!(#s #warnings)
            } else {
                quote!(#input #warnings)
            }
        }
        Some(syn::Item::Enum(mut e))
            if derives(&e.attrs, is_json_schema_derive) && !names_crate(&e.attrs, "schemars") =>
        {
            e.attrs.push(schema_crate);
            quote!(#e)
        }
        _ => input,
    }
}

/// Rule: `#[event]` goes on a struct or an enum; `#[request]` on a struct only.
fn target(
    item: &syn::Item,
    macro_name: &str,
    allow_enum: bool,
    errors: &mut Errors,
) -> Option<Target> {
    let expected = if allow_enum { "a struct or an enum" } else { "a struct" };
    match item {
        syn::Item::Struct(s) => {
            Some(Target { ident: s.ident.clone(), generics: s.generics.clone() })
        }
        syn::Item::Enum(e) if allow_enum => {
            Some(Target { ident: e.ident.clone(), generics: e.generics.clone() })
        }
        syn::Item::Enum(e) => {
            errors.at(
                e.enum_token,
                format!("`#[{macro_name}]` cannot be used on an enum: expected {expected}"),
            );
            None
        }
        syn::Item::Union(u) => {
            errors.at(
                u.union_token,
                format!("`#[{macro_name}]` cannot be used on a union: expected {expected}"),
            );
            None
        }
        syn::Item::Fn(f) => {
            errors.at(
                f.sig.fn_token,
                format!("`#[{macro_name}]` cannot be used on a function: expected {expected}"),
            );
            None
        }
        other => {
            errors.at(other, format!("`#[{macro_name}]` expects {expected}"));
            None
        }
    }
}

fn default_name(ident: &syn::Ident) -> WireName {
    WireName { value: naming::lower_camel(&ident.to_string()) }
}

/// Expands `#[event]` / `#[event("wireName")]`.
pub(crate) fn expand_event(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut name = None;
    for arg in errors.ok(attr::parse_args(args)).unwrap_or_default() {
        match arg {
            Arg::Positional(lit) if name.is_none() => {
                name = Some(attr::check_wire_name(&lit, &mut errors))
            }
            Arg::Positional(lit) => {
                errors.at(lit, "duplicate wire name: `#[event]` takes at most one")
            }
            Arg::Value(key, _) | Arg::List(key, _) => {
                attr::unknown(
                    &key,
                    "event",
                    "only a wire name, like `#[event(\"orderCreated\")]`",
                    &mut errors,
                );
            }
        }
    }
    let item = errors.ok(syn::parse2::<syn::Item>(input.clone()));
    let target = item.as_ref().and_then(|i| target(i, "event", true, &mut errors));
    if let Err(e) = errors.finish() {
        // The item as it would be emitted, so the derives below see the same crate paths
        // and add no errors of their own to this one.
        return with_original(&e, emitted_item(input, item));
    }
    let Some(target) = target else { return input };
    let wire = name.flatten().unwrap_or_else(|| default_name(&target.ident));
    let (ident, value) = (&target.ident, &wire.value);
    let (impl_generics, ty_generics, where_clause) = target.generics.split_for_impl();
    let rules = validate_message();
    let runtime = naming::runtime();
    let body = quote_spanned! {ident.span()=>
        #[automatically_derived]
        impl #impl_generics #runtime::Event for #ident #ty_generics #where_clause {
            const NAME: &'static str = #value;
            #rules
        }
    };
    let item = emitted_item(input, item);
    quote! { #item #body }
}

/// Expands `#[request("wireName", response = T)]`.
pub(crate) fn expand_request(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (mut name, mut response) = (None, None);
    let mut seen = Seen::new();
    for arg in errors.ok(attr::parse_args(args.clone())).unwrap_or_default() {
        match arg {
            Arg::Positional(lit) if name.is_none() => name = Some(attr::check_wire_name(&lit, &mut errors)),
            Arg::Positional(lit) => errors.at(lit, "duplicate wire name: `#[request]` takes at most one"),
            Arg::Value(key, value) if key == "response" => {
                if seen.first_time(&key, &mut errors) {
                    response = attr::type_of(&key, &value, &mut errors);
                }
            }
            Arg::Value(key, _) | Arg::List(key, _) => attr::unknown(
                &key,
                "request",
                "a wire name and `response = Type`, like `#[request(\"getOrder\", response = Order)]`",
                &mut errors,
            ),
        }
    }
    let item = errors.ok(syn::parse2::<syn::Item>(input.clone()));
    let target = item.as_ref().and_then(|i| target(i, "request", false, &mut errors));
    if response.is_none() && !seen_response(&seen) {
        let span = if args.is_empty() { proc_macro2::Span::call_site() } else { args.span() };
        errors.push(syn::Error::new(
            span,
            "missing `response = Type`: a request must name the type it answers with, like \
             `#[request(\"getOrder\", response = Order)]`",
        ));
    }
    if let Err(e) = errors.finish() {
        return with_original(&e, emitted_item(input, item));
    }
    let (Some(target), Some(response)) = (target, response) else { return input };
    let wire = name.flatten().unwrap_or_else(|| default_name(&target.ident));
    let (ident, value) = (&target.ident, &wire.value);
    let (impl_generics, ty_generics, where_clause) = target.generics.split_for_impl();
    let rules = validate_message();
    let runtime = naming::runtime();
    let body = quote_spanned! {ident.span()=>
        #[automatically_derived]
        impl #impl_generics #runtime::Request for #ident #ty_generics #where_clause {
            const NAME: &'static str = #value;
            type Response = #response;
            #rules
        }
    };
    let item = emitted_item(input, item);
    quote! { #item #body }
}

fn seen_response(seen: &Seen) -> bool {
    seen.contains("response")
}
