//! Parsing of attribute arguments shared by every macro: `key = value` pairs, a leading
//! string literal, and `list(A, B)` groups; unknown and repeated keys are errors.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

use crate::errors::Errors;

/// Keys whose value is a type rather than an expression.
const TYPE_KEYS: &[&str] = &["response", "error"];

/// One argument as written.
pub(crate) enum Arg {
    /// `"text"` in the leading position.
    Positional(LitStr),
    /// `key = value`.
    Value(Ident, syn::Expr),
    /// `key(A, B, ...)`.
    List(Ident, Punctuated<syn::Type, Token![,]>),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Self::Positional(input.parse()?));
        }
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            return Ok(Self::List(key, content.parse_terminated(syn::Type::parse, Token![,])?));
        }
        input
            .parse::<Token![=]>()
            .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
        // Type-valued keys are read as types, so generics like `Vec<Order>` parse; the
        // tokens travel on verbatim and `type_of` reads them back.
        if TYPE_KEYS.contains(&key.to_string().as_str()) {
            let ty: syn::Type = input.parse()?;
            return Ok(Self::Value(
                key,
                syn::Expr::Verbatim(quote::ToTokens::to_token_stream(&ty)),
            ));
        }
        Ok(Self::Value(key, input.parse()?))
    }
}

/// Parses `args` as comma-separated [`Arg`]s.
pub(crate) fn parse_args(args: TokenStream) -> syn::Result<Vec<Arg>> {
    let parsed = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(args)?;
    Ok(parsed.into_iter().collect())
}

/// Tracks which keys were seen, to report repeats.
pub(crate) struct Seen {
    keys: Vec<String>,
}

impl Seen {
    pub(crate) fn new() -> Self {
        Self { keys: Vec::new() }
    }

    /// Whether `key` was given.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// Rule: an argument may be given at most once.
    pub(crate) fn first_time(&mut self, key: &Ident, errors: &mut Errors) -> bool {
        let name = key.to_string();
        if self.keys.contains(&name) {
            errors.at(key, format!("duplicate argument `{name}`: each argument may be given once"));
            return false;
        }
        self.keys.push(name);
        true
    }
}

/// Reports an argument the macro does not know, listing what it accepts.
pub(crate) fn unknown(key: &Ident, macro_name: &str, accepted: &str, errors: &mut Errors) {
    errors.at(key, format!("unknown argument `{key}` for `#[{macro_name}]`: expected {accepted}"));
}

/// Reads a string literal value.
pub(crate) fn lit_str(key: &Ident, value: &syn::Expr, errors: &mut Errors) -> Option<LitStr> {
    match value {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            errors.at(
                other,
                format!("expected a string literal for `{key}`, like `{key} = \"...\"`"),
            );
            None
        }
    }
}

/// Reads a type written as a path expression (`error = OrderError`).
pub(crate) fn type_of(key: &Ident, value: &syn::Expr, errors: &mut Errors) -> Option<syn::Type> {
    match syn::parse2::<syn::Type>(quote::ToTokens::to_token_stream(value)) {
        Ok(ty) => Some(ty),
        Err(_) => {
            errors.at(value, format!("expected a type for `{key}`, like `{key} = MyType`"));
            None
        }
    }
}

/// A wire name as written, or derived from the Rust name.
pub(crate) struct WireName {
    pub(crate) value: String,
}

/// Rule: a wire name is an ASCII letter or `$` followed by ASCII letters, digits, `_`, `-`,
/// `.`, `:` or `/`.
pub(crate) fn check_wire_name(lit: &LitStr, errors: &mut Errors) -> Option<WireName> {
    let value = lit.value();
    let mut chars = value.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$');
    let rest_ok =
        chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'));
    if value.is_empty() {
        errors.at(lit, "wire name is empty: expected a name such as \"orderCreated\"");
        None
    } else if !starts_well || !rest_ok {
        errors.at(
            lit,
            format!(
                "invalid wire name \"{value}\": expected an ASCII letter or `$` followed by ASCII \
                 letters, digits, `_`, `-`, `.`, `:` or `/`"
            ),
        );
        None
    } else {
        Some(WireName { value })
    }
}
