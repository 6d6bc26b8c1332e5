//! The model of a `#[contract]`: its arguments and its methods, keeping the user's tokens
//! so every later error can point at them.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{
    Attribute, FnArg, Ident, ItemTrait, LitStr, Pat, ReturnType, TraitItem, TraitItemFn, Type,
};

use crate::attr::{self, Arg, Seen};
use crate::errors::Errors;

/// `#[contract(name = "...", version = "x.y.z", error = E, events(A, B))]`.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) version: Option<LitStr>,
    pub(crate) error: Option<Type>,
    pub(crate) events: Vec<Type>,
}

/// One contract method: `async fn name(&self, req: R, cx: Context) -> Result<T, E>`.
pub(crate) struct Method {
    /// The method as written, minus its `#[permission]` attributes.
    pub(crate) item: TraitItemFn,
    /// The string of each `#[permission("...")]` on the method, in order (valid: at most one).
    pub(crate) permissions: Vec<LitStr>,
    pub(crate) request_pat: Box<Pat>,
    pub(crate) request: Type,
    pub(crate) context: Option<(Box<Pat>, Type)>,
    pub(crate) output: Type,
    pub(crate) ok: Type,
}

impl Method {
    pub(crate) fn ident(&self) -> &Ident {
        &self.item.sig.ident
    }

    /// The permission the request requires, if declared.
    pub(crate) fn permission(&self) -> Option<&LitStr> {
        self.permissions.first()
    }

    /// A doc paragraph naming the required permission, for the trait and client methods.
    pub(crate) fn permission_doc(&self) -> TokenStream {
        let Some(permission) = self.permission() else { return TokenStream::new() };
        let line = format!(" Requires the permission `{}`.", permission.value());
        quote!(#[doc = ""] #[doc = #line])
    }
}

/// The whole contract.
pub(crate) struct Contract {
    /// The trait as written, minus any `#[permission]` attributes (on it or its methods).
    pub(crate) item: ItemTrait,
    /// `#[permission]` attributes written on the trait itself (valid: none).
    pub(crate) trait_permissions: Vec<Attribute>,
    pub(crate) args: Args,
    pub(crate) methods: Vec<Method>,
}

const ACCEPTED: &str =
    "`name = \"...\"`, `version = \"x.y.z\"`, `error = Type` or `events(A, B, ...)`";

/// Parses the attribute arguments; repeated and unknown ones are recorded as errors.
pub(crate) fn parse_args(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let mut seen = Seen::new();
    for arg in errors.ok(attr::parse_args(tokens)).unwrap_or_default() {
        match arg {
            Arg::Value(key, value) if key == "name" || key == "version" || key == "error" => {
                if !seen.first_time(&key, errors) {
                    continue;
                }
                if key == "error" {
                    args.error = attr::type_of(&key, &value, errors);
                } else if key == "name" {
                    args.name = attr::lit_str(&key, &value, errors);
                } else {
                    args.version = attr::lit_str(&key, &value, errors);
                }
            }
            Arg::List(key, types) if key == "events" => {
                if seen.first_time(&key, errors) {
                    args.events = types.into_iter().collect();
                }
            }
            Arg::Value(key, _) | Arg::List(key, _) => {
                attr::unknown(&key, "contract", ACCEPTED, errors)
            }
            Arg::Positional(lit) => {
                errors.at(lit, format!("unexpected string: `#[contract]` takes {ACCEPTED}"));
            }
        }
    }
    args
}

/// Parses the trait and its methods. Returns `None` when the item is not a trait.
pub(crate) fn parse(args: Args, input: TokenStream, errors: &mut Errors) -> Option<Contract> {
    let mut item = match syn::parse2::<syn::Item>(input) {
        Ok(syn::Item::Trait(item)) => item,
        Ok(other) => {
            errors.at(
                item_keyword(&other),
                "`#[contract]` expects a trait, like `pub trait OrderService { ... }`",
            );
            return None;
        }
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let trait_permissions = take_permission_attrs(&mut item.attrs);
    let mut methods = Vec::new();
    for trait_item in &mut item.items {
        match trait_item {
            TraitItem::Fn(f) => methods.extend(parse_method(f, errors)),
            other => errors.at(other, "a contract trait may only contain `async fn` methods"),
        }
    }
    Some(Contract { item, trait_permissions, args, methods })
}

/// Whether `attr` is `#[permission(...)]` (or `#[messaging_runtime::permission(...)]`).
fn is_permission(attr: &Attribute) -> bool {
    let path = attr.path();
    path.is_ident("permission") || {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        segments == ["messaging_runtime", "permission"]
    }
}

/// Removes the `#[permission]` attributes from `attrs` and returns them.
fn take_permission_attrs(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (taken, kept) = core::mem::take(attrs).into_iter().partition(is_permission);
    *attrs = kept;
    taken
}

/// Reads `#[permission("resource:action")]`: exactly one string literal.
fn parse_permission(attr: &Attribute, errors: &mut Errors) -> Option<LitStr> {
    const EXPECTED: &str = "expected one permission string, like `#[permission(\"orders:write\")]`";
    let syn::Meta::List(list) = &attr.meta else {
        errors.at(attr, EXPECTED);
        return None;
    };
    let parsed = list.parse_args_with(|input: syn::parse::ParseStream<'_>| {
        let lit = input.parse::<LitStr>().map_err(|e| syn::Error::new(e.span(), EXPECTED))?;
        if !input.is_empty() {
            return Err(input.error(EXPECTED));
        }
        Ok(lit)
    });
    match parsed {
        Ok(lit) => Some(lit),
        Err(_) if list.tokens.is_empty() => {
            errors.at(attr, EXPECTED);
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// The input with every `#[permission]` attribute of a contract trait removed, so that on
/// error the original item can be emitted without them cascading into more errors.
pub(crate) fn without_permission_attrs(input: TokenStream) -> TokenStream {
    let Ok(syn::Item::Trait(mut item)) = syn::parse2::<syn::Item>(input.clone()) else {
        return input;
    };
    take_permission_attrs(&mut item.attrs);
    for trait_item in &mut item.items {
        if let TraitItem::Fn(f) = trait_item {
            take_permission_attrs(&mut f.attrs);
        }
    }
    quote!(#item)
}

/// The token naming what kind of item this is, so the error points at it.
fn item_keyword(item: &syn::Item) -> TokenStream {
    use quote::ToTokens;
    match item {
        syn::Item::Struct(s) => s.struct_token.to_token_stream(),
        syn::Item::Enum(e) => e.enum_token.to_token_stream(),
        syn::Item::Fn(f) => f.sig.fn_token.to_token_stream(),
        syn::Item::Impl(i) => i.impl_token.to_token_stream(),
        syn::Item::Mod(m) => m.mod_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

fn parse_method(f: &mut TraitItemFn, errors: &mut Errors) -> Option<Method> {
    let permissions = take_permission_attrs(&mut f.attrs)
        .iter()
        .filter_map(|attr| parse_permission(attr, errors))
        .collect();
    let f = &*f;
    let mut inputs = f.sig.inputs.iter();
    let receiver_ok = matches!(inputs.next(), Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none());
    if !receiver_ok {
        errors.at(
            &f.sig.inputs,
            format!("contract method `{}` must take `&self` first", f.sig.ident),
        );
    }
    let typed: Vec<&syn::PatType> = inputs
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let request = match typed.first() {
        Some(t) => t,
        None => {
            errors.at(
                &f.sig.ident,
                format!(
                    "contract method `{}` has no request argument: expected `(&self, request: R)` \
                     or `(&self, request: R, cx: Context)` where `R` is a `#[request]` type",
                    f.sig.ident
                ),
            );
            return None;
        }
    };
    for extra in typed.iter().skip(2) {
        errors.at(
            extra,
            format!(
                "unexpected argument: contract method `{}` takes a request and optionally a \
                 `Context`, nothing more",
                f.sig.ident
            ),
        );
    }
    let context = typed.get(1).map(|t| (t.pat.clone(), (*t.ty).clone()));
    let (output, ok) = parse_output(f, errors)?;
    Some(Method {
        item: f.clone(),
        permissions,
        request_pat: request.pat.clone(),
        request: (*request.ty).clone(),
        context,
        output,
        ok,
    })
}

/// Reads `-> Result<T, E>` (or a one-argument `Result<T>` alias) and returns the whole type
/// and `T`.
fn parse_output(f: &TraitItemFn, errors: &mut Errors) -> Option<(Type, Type)> {
    let ReturnType::Type(_, ty) = &f.sig.output else {
        errors.push(syn::Error::new(
            f.sig.paren_token.span.close(),
            format!(
                "contract method `{}` returns nothing: expected `-> Result<Response, ContractError>`",
                f.sig.ident
            ),
        ));
        return None;
    };
    let ok = match &**ty {
        Type::Path(p) => p.path.segments.last().and_then(|seg| match &seg.arguments {
            syn::PathArguments::AngleBracketed(a) if seg.ident == "Result" => {
                match a.args.first() {
                    Some(syn::GenericArgument::Type(t)) => Some(t.clone()),
                    _ => None,
                }
            }
            _ => None,
        }),
        _ => None,
    };
    if ok.is_none() {
        errors.at(
            ty,
            "expected `Result<Response, ContractError>` as the return type of a contract method",
        );
    }
    Some(((**ty).clone(), ok?))
}

/// The last identifier of a type path (`events::OrderCreated` → `OrderCreated`).
pub(crate) fn type_ident(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}
