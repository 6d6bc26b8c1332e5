//! The model of an `#[error_code]` enum: the enum as written (minus our `#[error]`
//! attributes), its variants and fields, and each variant's `#[error(...)]` arguments, all
//! keeping the user's tokens so every error can point at them.

use proc_macro2::Ident;
use syn::{Attribute, LitStr};

use super::template::Template;
use super::valid;
use crate::attr::{self, Arg, Seen};
use crate::errors::Errors;
use crate::naming;

/// The enum under `#[error_code]`.
pub(super) struct Input {
    /// The enum as the user wrote it, with the `#[error(...)]` attributes removed.
    pub(super) item: syn::ItemEnum,
    /// Whether the user derives `Debug` (else we implement it).
    pub(super) derives_debug: bool,
    pub(super) variants: Vec<Variant>,
}

/// One variant.
pub(super) struct Variant {
    pub(super) ident: Ident,
    /// The variant's doc comments, repeated on its constructor.
    pub(super) docs: Vec<Attribute>,
    pub(super) fields: Vec<Field>,
    /// The first `#[error(...)]` attribute, if any (and if it parsed as a list).
    pub(super) attr: Option<ErrorAttr>,
    /// Whether any `#[error...]` attribute was written, even a malformed one.
    pub(super) written: bool,
}

/// One field of a variant.
pub(super) struct Field {
    /// `order_id` or `0`: how the field is named in patterns and struct expressions.
    pub(super) member: syn::Member,
    pub(super) ty: syn::Type,
    /// The Rust name without `r#` (`order_id`), or the index of a tuple field (`0`).
    pub(super) name: String,
    /// The key in the wire error's details: lowerCamelCase (`orderId`), or the index.
    pub(super) key: String,
    /// The constructor's parameter: the field's own name, or `arg0`, `arg1`, ...
    pub(super) arg: Ident,
}

/// The arguments of one `#[error(...)]` attribute, as written.
pub(super) struct ErrorAttr {
    /// The `error` of `#[error(...)]`, where errors about the whole attribute point.
    pub(super) tag: syn::Path,
    pub(super) code: Option<LitStr>,
    pub(super) status: Option<syn::Expr>,
    pub(super) message: Option<LitStr>,
    pub(super) severity: Option<LitStr>,
}

/// What the checks make of a variant's `#[error(...)]`: everything the expansion needs.
pub(super) struct Spec {
    pub(super) code: String,
    pub(super) status: u16,
    /// The message literal, for its value and its span.
    pub(super) message: LitStr,
    pub(super) template: Template,
    /// The field each placeholder of the template names, in placeholder order.
    pub(super) args: Vec<usize>,
    /// The `Severity` variant, when the attribute sets one (`Warning` for `"warning"`).
    pub(super) severity: Option<Ident>,
}

impl Input {
    /// Reads the enum: its variants, fields and `#[error(...)]` attributes, which it strips.
    pub(super) fn from_enum(mut item: syn::ItemEnum, errors: &mut Errors) -> Self {
        let derives_debug = item.attrs.iter().any(derives_debug);
        let variants = item.variants.iter_mut().map(|v| Variant::from_syn(v, errors)).collect();
        Self { item, derives_debug, variants }
    }
}

impl Variant {
    fn from_syn(variant: &mut syn::Variant, errors: &mut Errors) -> Self {
        let mut attr = None;
        let raws = take_error_attrs(&mut variant.attrs);
        let written = !raws.is_empty();
        for raw in raws {
            if attr.is_some() {
                valid::single_error_attr(&raw, &variant.ident, errors);
            } else {
                attr = ErrorAttr::parse(&raw, errors);
            }
        }
        let fields =
            variant.fields.iter().enumerate().map(|(i, f)| Field::from_syn(i, f)).collect();
        let docs = variant.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        Self { ident: variant.ident.clone(), docs, fields, attr, written }
    }

    /// The index of the field a placeholder names: by Rust name, lowerCamelCase name or
    /// tuple index.
    pub(super) fn field_named(&self, name: &str) -> Option<usize> {
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.fields.iter().position(|f| f.name == name || f.key == name)
    }

    /// The constructor: the variant's name in snake_case, raw when it is a keyword
    /// (`Type` → `r#type`); `None` when it cannot be a method name at all (`self`, `crate`).
    pub(super) fn constructor(&self) -> Option<Ident> {
        let ident = naming::error_constructor(&self.ident);
        let name = ident.to_string();
        if syn::parse_str::<Ident>(&name).is_ok() {
            Some(ident)
        } else if matches!(name.as_str(), "self" | "super" | "crate" | "_" | "") {
            None
        } else {
            Some(Ident::new_raw(&name, self.ident.span()))
        }
    }
}

impl Field {
    fn from_syn(index: usize, field: &syn::Field) -> Self {
        match &field.ident {
            Some(ident) => {
                let name = ident.to_string().trim_start_matches("r#").to_owned();
                Self {
                    member: syn::Member::Named(ident.clone()),
                    ty: field.ty.clone(),
                    key: naming::lower_camel(&name),
                    name,
                    arg: ident.clone(),
                }
            }
            None => Self {
                member: syn::Member::Unnamed(syn::Index::from(index)),
                ty: field.ty.clone(),
                name: index.to_string(),
                key: index.to_string(),
                arg: quote::format_ident!("arg{}", index),
            },
        }
    }

    /// How the placeholders of a template may name this field.
    pub(super) fn spellings(&self) -> Vec<&str> {
        if self.key == self.name {
            vec![&self.name]
        } else {
            vec![&self.name, &self.key]
        }
    }
}

impl ErrorAttr {
    /// Reads `#[error(code = "...", status = N, message = "...", severity = "...")]`, reporting unknown,
    /// repeated and malformed arguments.
    fn parse(raw: &Attribute, errors: &mut Errors) -> Option<Self> {
        let list = valid::error_attr_is_list(raw, errors)?;
        let mut out = Self {
            tag: list.path.clone(),
            code: None,
            status: None,
            message: None,
            severity: None,
        };
        let mut seen = Seen::new();
        let mut bare_message = false;
        for arg in errors.ok(attr::parse_args(list.tokens.clone())).unwrap_or_default() {
            match arg {
                Arg::Value(key, value)
                    if matches!(
                        key.to_string().as_str(),
                        "code" | "status" | "message" | "severity"
                    ) =>
                {
                    if !seen.first_time(&key, errors) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        "code" => out.code = attr::lit_str(&key, &value, errors),
                        "message" => out.message = attr::lit_str(&key, &value, errors),
                        "severity" => out.severity = attr::lit_str(&key, &value, errors),
                        _ => out.status = Some(value),
                    }
                }
                Arg::Value(key, _) | Arg::List(key, _) => valid::known_argument(&key, errors),
                Arg::Positional(lit) => {
                    bare_message = true;
                    valid::no_positional_argument(&lit, errors);
                }
            }
        }
        valid::has_status_and_message(&out, &seen, bare_message, errors);
        Some(out)
    }
}

/// Removes and returns the `#[error...]` attributes of a variant.
fn take_error_attrs(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (ours, others) =
        std::mem::take(attrs).into_iter().partition(|a| a.path().is_ident("error"));
    *attrs = others;
    ours
}

/// Whether the attribute is a `#[derive(...)]` that lists `Debug` (by any path).
fn derives_debug(attr: &Attribute) -> bool {
    if !attr.path().is_ident("derive") {
        return false;
    }
    let paths = attr.parse_args_with(
        syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
    );
    paths.is_ok_and(|paths| {
        paths.iter().any(|p| p.segments.last().is_some_and(|s| s.ident == "Debug"))
    })
}
