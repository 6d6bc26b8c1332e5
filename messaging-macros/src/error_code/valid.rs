//! The rules an `#[error_code]` enum must follow, one function per rule. Every rule records
//! its error, spanned on the user's token, and lets the others run, so one compile shows
//! every mistake.

use proc_macro2::{Ident, TokenStream};
use syn::{Attribute, LitStr};

use super::ast::{ErrorAttr, Input, Spec, Variant};
use super::template::{self, Template};
use crate::attr::{self, Seen};
use crate::errors::Errors;
use crate::naming;

/// Checks the whole enum; returns one [`Spec`] per variant when every variant is valid.
pub(super) fn check(input: &Input, errors: &mut Errors) -> Option<Vec<Spec>> {
    no_lifetimes(&input.item.generics, errors);
    has_variants(input, errors);
    let specs: Vec<Option<Spec>> = input.variants.iter().map(|v| variant_spec(v, errors)).collect();
    unique_codes(&input.variants, &specs, errors);
    unique_constructors(&input.variants, errors);
    specs.into_iter().collect()
}

/// Checks one variant and reads what its expansion needs.
fn variant_spec(variant: &Variant, errors: &mut Errors) -> Option<Spec> {
    unique_param_keys(variant, errors);
    let attr = has_error_attr(variant, errors)?;
    let code = match &attr.code {
        Some(lit) => valid_code(lit, errors),
        None => default_code(variant, errors),
    };
    let status = attr.status.as_ref().and_then(|expr| status_literal(expr, errors));
    let message = attr.message.as_ref()?;
    let template = template_parses(message, errors)?;
    self_contained_specs(&template, message, errors);
    let args = placeholders_name_fields(variant, &template, message, errors)?;
    let severity = match &attr.severity {
        Some(lit) => Some(known_severity(lit, errors)?),
        None => None,
    };
    Some(Spec { code: code?, status: status?, message: message.clone(), template, args, severity })
}

/// The severities of the TypeScript library, and the `Severity` variant of each.
const SEVERITIES: [(&str, &str); 5] = [
    ("debug", "Debug"),
    ("info", "Info"),
    ("warning", "Warning"),
    ("error", "Error"),
    ("critical", "Critical"),
];

/// Rule: a severity is one of `debug`, `info`, `warning`, `error`, `critical`.
fn known_severity(lit: &LitStr, errors: &mut Errors) -> Option<Ident> {
    let value = lit.value();
    let found = SEVERITIES.iter().find(|(name, _)| *name == value);
    if found.is_none() {
        errors.at(
            lit,
            format!(
                "unknown severity \"{value}\": expected \"debug\", \"info\", \"warning\", \"error\" \
                 (the default) or \"critical\""
            ),
        );
    }
    found.map(|(_, variant)| Ident::new(variant, lit.span()))
}

/// Rule: `#[error_code]` takes no arguments; everything is said per variant.
pub(super) fn no_arguments(args: &TokenStream, errors: &mut Errors) {
    if !args.is_empty() {
        errors.at(
            args,
            "`#[error_code]` takes no arguments: give each variant its own \
             `#[error(code = \"...\", status = N, message = \"...\")]`",
        );
    }
}

/// Rule: `#[error_code]` goes on an enum, whose variants are the errors.
pub(super) fn enum_only(item: syn::Item, errors: &mut Errors) -> Option<syn::ItemEnum> {
    let item = match item {
        syn::Item::Enum(e) => return Some(e),
        other => other,
    };
    let (kind, token): (&str, &dyn quote::ToTokens) = match &item {
        syn::Item::Struct(s) => ("a struct", &s.struct_token),
        syn::Item::Union(u) => ("a union", &u.union_token),
        syn::Item::Fn(f) => ("a function", &f.sig.fn_token),
        syn::Item::Trait(t) => ("a trait", &t.trait_token),
        syn::Item::Type(t) => ("a type alias", &t.type_token),
        syn::Item::Impl(i) => ("an impl block", &i.impl_token),
        syn::Item::Mod(m) => ("a module", &m.mod_token),
        other => ("this item", other),
    };
    errors.at(
        token,
        format!(
            "`#[error_code]` expects an enum, found {kind}: each variant of the enum is one \
             error, with `#[error(status = N, message = \"...\")]`"
        ),
    );
    None
}

/// Rule: the enum has no lifetime parameters: an error crosses the wire, so it owns its data.
fn no_lifetimes(generics: &syn::Generics, errors: &mut Errors) {
    for lifetime in generics.lifetimes() {
        errors.at(
            &lifetime.lifetime,
            "`#[error_code]` enums cannot have lifetime parameters: an error travels over the \
             wire and must own its data (use `String` rather than `&str`)",
        );
    }
}

/// Rule: the enum has at least one variant.
fn has_variants(input: &Input, errors: &mut Errors) {
    if input.variants.is_empty() {
        errors.at(
            &input.item.ident,
            "expected at least one variant: an `#[error_code]` enum lists the errors it can \
             return, like `#[error(status = 404, message = \"not found\")] NotFound`",
        );
    }
}

/// Rule: every variant has an `#[error(...)]` attribute (a malformed one is reported as such).
fn has_error_attr<'v>(variant: &'v Variant, errors: &mut Errors) -> Option<&'v ErrorAttr> {
    if !variant.written {
        errors.at(
            &variant.ident,
            format!(
                "variant `{}` has no `#[error(...)]` attribute: add one above it, like \
                 `#[error(status = 500, message = \"...\")]`",
                variant.ident
            ),
        );
    }
    variant.attr.as_ref()
}

/// Rule: a variant has at most one `#[error(...)]` attribute.
pub(super) fn single_error_attr(extra: &Attribute, variant: &Ident, errors: &mut Errors) {
    errors.at(
        extra,
        format!(
            "duplicate `#[error(...)]` on variant `{variant}`: give all of its arguments in one \
             attribute"
        ),
    );
}

/// Rule: the attribute is written `#[error(...)]`, with a parenthesised argument list.
pub(super) fn error_attr_is_list<'a>(
    raw: &'a Attribute,
    errors: &mut Errors,
) -> Option<&'a syn::MetaList> {
    match &raw.meta {
        syn::Meta::List(list) => Some(list),
        other => {
            errors.at(other, "expected `#[error(status = N, message = \"...\")]`");
            None
        }
    }
}

/// Rule: `#[error(...)]` accepts only `code`, `status`, `message` and `severity`.
pub(super) fn known_argument(key: &Ident, errors: &mut Errors) {
    let expected = "`code = \"...\"`, `status = N`, `message = \"...\"` or `severity = \"...\"`";
    attr::unknown(key, "error", expected, errors);
}

/// Rule: every argument of `#[error(...)]` is named; a bare string is not a message.
pub(super) fn no_positional_argument(lit: &LitStr, errors: &mut Errors) {
    errors.at(lit, "unexpected bare string in `#[error(...)]`: write `message = \"...\"`");
}

/// Rule: `status` and `message` are required (`code` defaults to the variant's name).
/// (A bare string was already reported as such, so it does not count as a missing message.)
pub(super) fn has_status_and_message(
    attr: &ErrorAttr,
    seen: &Seen,
    bare_message: bool,
    errors: &mut Errors,
) {
    if !seen.contains("status") {
        errors.at(
            &attr.tag,
            "missing `status` in `#[error(...)]`: expected an HTTP status, like `status = 404`",
        );
    }
    if !seen.contains("message") && !bare_message {
        errors.at(
            &attr.tag,
            "missing `message` in `#[error(...)]`: expected a message template, like \
             `message = \"Order {order_id} not found\"`",
        );
    }
}

/// Rule: a status is an integer literal.
fn status_literal(expr: &syn::Expr, errors: &mut Errors) -> Option<u16> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) => {
            status_in_range(int, errors)
        }
        other => {
            errors.at(other, "expected an integer literal for `status`, like `status = 404`");
            None
        }
    }
}

/// Rule: a status is an HTTP status code, in `100..=599`.
fn status_in_range(int: &syn::LitInt, errors: &mut Errors) -> Option<u16> {
    let status = int.base10_parse::<u64>().ok().filter(|s| (100..=599).contains(s));
    match status.and_then(|s| u16::try_from(s).ok()) {
        Some(status) => Some(status),
        None => {
            errors.at(
                int,
                format!(
                    "status `{}` is out of range: expected an HTTP status in `100..=599`",
                    int.base10_digits()
                ),
            );
            None
        }
    }
}

/// Rule: a code is an uppercase ASCII letter followed by uppercase letters, digits or `_`.
fn valid_code(lit: &LitStr, errors: &mut Errors) -> Option<String> {
    let code = lit.value();
    if code.is_empty() {
        errors.at(lit, "error code is empty: expected a code like \"ORDER_NOT_FOUND\"");
        return None;
    }
    if !is_code(&code) {
        errors.at(
            lit,
            format!(
                "invalid error code \"{code}\": expected an uppercase ASCII letter followed by \
                 uppercase letters, digits or `_`, like \"ORDER_NOT_FOUND\""
            ),
        );
        return None;
    }
    Some(code)
}

/// Rule: without `code`, the variant's name in SCREAMING_SNAKE_CASE must be a valid code.
fn default_code(variant: &Variant, errors: &mut Errors) -> Option<String> {
    let code = naming::screaming_snake(&variant.ident.to_string());
    if is_code(&code) {
        return Some(code);
    }
    errors.at(
        &variant.ident,
        format!(
            "the default error code \"{code}\" of variant `{}` is not valid: expected uppercase \
             ASCII letters, digits or `_`; give one with `code = \"...\"`",
            variant.ident
        ),
    );
    None
}

fn is_code(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Rule: a template's braces balance: `{field}` placeholders, `{{` and `}}` for braces.
fn template_parses(message: &LitStr, errors: &mut Errors) -> Option<Template> {
    match template::parse(&message.value()) {
        Ok(template) => Some(template),
        Err(e) => {
            errors.at(message, e);
            None
        }
    }
}

/// Rule: a format spec stands alone; it cannot take a width or precision from an argument.
fn self_contained_specs(template: &Template, message: &LitStr, errors: &mut Errors) {
    for p in template.placeholders() {
        if let Some(spec) = p.spec.as_deref().filter(|s| s.contains(['$', '*'])) {
            errors.at(
                message,
                format!(
                    "format spec `{{{}:{spec}}}` takes a width or precision from another \
                     argument: expected a fixed one, like `{{{}:>8}}`",
                    p.name, p.name
                ),
            );
        }
    }
}

/// Rule: each placeholder names a field of its variant, by Rust name, lowerCamelCase name
/// or tuple index.
fn placeholders_name_fields(
    variant: &Variant,
    template: &Template,
    message: &LitStr,
    errors: &mut Errors,
) -> Option<Vec<usize>> {
    let mut args = Vec::new();
    let mut reported: Vec<&str> = Vec::new();
    for p in template.placeholders() {
        match variant.field_named(&p.name) {
            Some(index) => args.push(index),
            None if reported.contains(&p.name.as_str()) => {}
            None => {
                reported.push(&p.name);
                errors.at(message, no_such_field(variant, &p.name));
            }
        }
    }
    reported.is_empty().then_some(args)
}

fn no_such_field(variant: &Variant, name: &str) -> String {
    let head = format!("placeholder `{{{name}}}` names no field of `{}`", variant.ident);
    if variant.fields.is_empty() {
        return format!("{head}: the variant has no fields");
    }
    let spellings: Vec<String> =
        variant.fields.iter().flat_map(|f| f.spellings()).map(|s| format!("`{s}`")).collect();
    format!("{head}: expected one of {}", spellings.join(", "))
}

/// Rule: no two fields of a variant share a key in the wire error's details.
fn unique_param_keys(variant: &Variant, errors: &mut Errors) {
    for (i, field) in variant.fields.iter().enumerate() {
        if let Some(first) = variant.fields[..i].iter().find(|f| f.key == field.key) {
            errors.at(
                &field.member,
                format!(
                    "fields `{}` and `{}` of `{}` both travel as `{}` in the error's details: \
                     rename one of them",
                    first.name, field.name, variant.ident, field.key
                ),
            );
        }
    }
}

/// Rule: no two variants share an error code.
fn unique_codes(variants: &[Variant], specs: &[Option<Spec>], errors: &mut Errors) {
    let mut earlier: Vec<(&str, &Ident)> = Vec::new();
    for (variant, spec) in variants.iter().zip(specs) {
        let Some(spec) = spec else { continue };
        if let Some((_, first)) = earlier.iter().find(|(code, _)| *code == spec.code) {
            let message = format!(
                "duplicate error code `{}`: already used by variant `{first}`; each variant \
                 needs its own code",
                spec.code
            );
            match variant.attr.as_ref().and_then(|a| a.code.as_ref()) {
                Some(lit) => errors.at(lit, message),
                None => errors.at(&variant.ident, message),
            }
        } else {
            earlier.push((&spec.code, &variant.ident));
        }
    }
}

/// Rule: each variant's constructor (its name in snake_case) is a usable, distinct name.
fn unique_constructors(variants: &[Variant], errors: &mut Errors) {
    let mut earlier: Vec<(String, &Ident)> = Vec::new();
    for variant in variants {
        let Some(constructor) = variant.constructor() else {
            errors.at(
                &variant.ident,
                format!(
                    "variant `{}` would get a constructor named `{}`, which is a reserved word: \
                     rename the variant",
                    variant.ident,
                    naming::snake(&variant.ident.to_string())
                ),
            );
            continue;
        };
        let name = constructor.to_string();
        if let Some((_, first)) = earlier.iter().find(|(n, _)| *n == name) {
            errors.at(
                &variant.ident,
                format!(
                    "variants `{first}` and `{}` would both get the constructor `{name}`: rename \
                     one of them",
                    variant.ident
                ),
            );
        } else {
            earlier.push((name, &variant.ident));
        }
    }
}
