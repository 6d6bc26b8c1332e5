//! Warnings for the `validator` rules a JSON Schema cannot express. `schemars` carries
//! `length`, `range`, `email`, `url`, `ip`, `regex`, `contains` and `required` into the
//! schema; the rules below run in Rust only, so the schema (and the zod generated from it)
//! accepts values the Rust check refuses. Stable Rust has no warning API for proc macros,
//! so the warning is the `deprecated` lint on a constant used at the rule's span, whose
//! note says what is lost. Describing the rule for the schema with a `#[schemars(..)]`
//! attribute on the same field (or the struct, for `schema(..)`) silences it.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote_spanned;

/// The field rules `schemars` does not read.
const FIELD_RULES: [&str; 5] =
    ["custom", "must_match", "does_not_contain", "credit_card", "non_control_character"];

/// One warning per rule the schema of `item` cannot express.
pub(crate) fn warnings(item: &syn::ItemStruct) -> TokenStream {
    let ty = item.ident.to_string();
    let mut out = TokenStream::new();
    if !has_schemars(&item.attrs) {
        for (rule, span) in rules(&item.attrs, &["schema"]) {
            out.extend(warning(&ty, None, &rule, span));
        }
    }
    for field in &item.fields {
        if has_schemars(&field.attrs) {
            continue;
        }
        let name = field.ident.as_ref().map(ToString::to_string);
        for (rule, span) in rules(&field.attrs, &FIELD_RULES) {
            out.extend(warning(&ty, name.as_deref(), &rule, span));
        }
    }
    out
}

fn has_schemars(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("schemars"))
}

/// The top-level items of `#[validate(..)]` attributes that are in `wanted`.
fn rules(attrs: &[syn::Attribute], wanted: &[&str]) -> Vec<(String, Span)> {
    let mut found = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("validate")) {
        let Ok(list) = attr.meta.require_list() else { continue };
        let mut at_item_start = true;
        for token in list.tokens.clone() {
            match &token {
                TokenTree::Ident(ident) if at_item_start => {
                    let name = ident.to_string();
                    if wanted.contains(&name.as_str()) {
                        found.push((name, ident.span()));
                    }
                    at_item_start = false;
                }
                TokenTree::Punct(p) if p.as_char() == ',' => at_item_start = true,
                _ => at_item_start = false,
            }
        }
    }
    found
}

fn warning(ty: &str, field: Option<&str>, rule: &str, span: Span) -> TokenStream {
    let place = match field {
        Some(field) => format!("field `{field}` of `{ty}`"),
        None => format!("`{ty}`"),
    };
    let note = format!(
        "the `validator` rule `{rule}` on {place} cannot be expressed in its JSON Schema: the \
         schema, the AsyncAPI document and the generated zod accept values this rule refuses \
         (Rust still checks it); describe the rule with a `#[schemars(..)]` attribute there \
         to silence this"
    );
    let note = syn::LitStr::new(&note, span);
    let constant = syn::Ident::new("validation_rule_not_in_json_schema", span);
    quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals, reason = "named to read well in the warning")]
            const #constant: () = ();
            #constant
        };
    }
}
