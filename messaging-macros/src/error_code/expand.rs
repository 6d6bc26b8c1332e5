//! The items `#[error_code]` generates, one function per item. Generated code names
//! everything by absolute path (`::core`, `::std`, `::messaging_runtime::__private`), so it
//! compiles under `#![no_implicit_prelude]`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::LitStr;

use super::ast::{Input, Spec, Variant};

/// Everything, for an enum that passed every check: one spec per variant.
pub(super) fn expand(input: &Input, specs: &[Spec]) -> TokenStream {
    let item = &input.item;
    let debug = (!input.derives_debug).then(|| debug_impl(input));
    let display = display_impl(input, specs);
    let error = error_impl(input);
    let constructors = constructors(input, Some(specs));
    let error_code = error_code_impl(input, specs);
    let wire = wire_error_from_impl(input);
    quote! { #item #debug #display #error #constructors #error_code #wire }
}

/// What we emit when a check failed (after the errors): the enum, its constructors and
/// placeholder impls, so code that uses the enum does not fail a second time.
pub(super) fn fallback(input: &Input) -> TokenStream {
    let item = &input.item;
    let constructors = constructors(input, None);
    if input.item.generics.lifetimes().next().is_some() {
        return quote! { #item #constructors };
    }
    let debug = (!input.derives_debug).then(|| debug_impl(input));
    let placeholders = placeholder_impls(input);
    let error = error_impl(input);
    let wire = wire_error_from_impl(input);
    quote! { #item #debug #constructors #placeholders #error #wire }
}

/// `Display` and `ErrorCode` impls that are never run (the crate does not compile), only
/// there so that uses of the enum type-check.
fn placeholder_impls(input: &Input) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    let p = private();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
            fn fmt(&self, _: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::unreachable!()
            }
        }
        #[automatically_derived]
        impl #impl_generics #p::ErrorCode for #ident #ty_generics #where_clause {
            const CATALOG: &'static [#p::ErrorDescriptor] = &[];
            fn code(&self) -> &'static str { ::core::unreachable!() }
            fn status(&self) -> u16 { ::core::unreachable!() }
            fn params(&self) -> #p::serde_json::Map<#p::String, #p::serde_json::Value> {
                ::core::unreachable!()
            }
            fn from_wire(_: &#p::WireError) -> #p::Option<Self> { ::core::unreachable!() }
        }
    }
}

/// The runtime's hidden module, by absolute path.
fn private() -> TokenStream {
    crate::naming::runtime()
}

type SplitGenerics<'a> =
    (syn::ImplGenerics<'a>, syn::TypeGenerics<'a>, Option<&'a syn::WhereClause>);

fn header(input: &Input) -> (&Ident, SplitGenerics<'_>) {
    (&input.item.ident, input.item.generics.split_for_impl())
}

/// The binding of field `index` in a generated `match` arm.
fn binding(index: usize) -> Ident {
    format_ident!("__self_{}", index)
}

/// `Self::Variant { a: __self_0, b: __self_1, .. }` binding the fields at `indices`.
fn pattern(variant: &Variant, indices: &[usize]) -> TokenStream {
    let ident = &variant.ident;
    let fields = indices.iter().map(|&i| {
        let (member, bound) = (&variant.fields[i].member, binding(i));
        quote! { #member: #bound }
    });
    quote! { Self::#ident { #(#fields,)* .. } }
}

/// `impl Display`: each variant renders its template with its fields.
fn display_impl(input: &Input, specs: &[Spec]) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    let arms = input.variants.iter().zip(specs).map(|(variant, spec)| {
        let mut used = spec.args.clone();
        used.sort_unstable();
        used.dedup();
        let pattern = pattern(variant, &used);
        let (format, args) = display_format(spec);
        quote! { #pattern => ::core::write!(__formatter, #format #(, #args)*), }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
            fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self { #(#arms)* }
            }
        }
    }
}

/// The format string and arguments that render a template. The user's own literal is used
/// when every placeholder can name a `format_args!` argument as written (`{order_id}`,
/// `{orderId}`, or `{0}`..`{n}` all used), so that rustc's errors about the template (an
/// unknown format trait, a field that is not `Display`) point at the exact placeholder;
/// otherwise an equivalent positional string, spanned on the literal.
fn display_format(spec: &Spec) -> (TokenStream, Vec<TokenStream>) {
    let span = spec.message.span();
    let bound = |i: usize| {
        let mut bound = binding(i);
        bound.set_span(span);
        bound
    };
    let placeholders: Vec<(&str, usize)> = spec
        .template
        .placeholders()
        .map(|p| p.name.as_str())
        .zip(spec.args.iter().copied())
        .collect();
    let index =
        |k: usize| placeholders.iter().find(|(name, _)| name.parse() == Ok(k)).map(|&(_, i)| i);
    let count = placeholders
        .iter()
        .filter_map(|(name, _)| name.parse::<usize>().ok())
        .max()
        .map_or(0, |last| last + 1);
    let contiguous = (0..count).all(|k| index(k).is_some());
    let plain =
        placeholders.iter().all(|(name, _)| name.parse::<usize>().is_ok() || is_plain_ident(name));
    if !(contiguous && plain) {
        let format = LitStr::new(&spec.template.format_string(), span);
        let args = spec.args.iter().map(|&i| bound(i).into_token_stream()).collect();
        return (format.into_token_stream(), args);
    }
    let mut args: Vec<TokenStream> =
        (0..count).filter_map(index).map(|i| bound(i).into_token_stream()).collect();
    let mut named: Vec<&str> = Vec::new();
    for &(name, i) in &placeholders {
        if name.parse::<usize>().is_err() && !named.contains(&name) {
            named.push(name);
            let (name, value) = (Ident::new(name, span), bound(i));
            args.push(quote! { #name = #value });
        }
    }
    (spec.message.to_token_stream(), args)
}

/// Whether `name` can be a named argument of `format_args!` as written.
fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && syn::parse_str::<Ident>(name).is_ok()
}

/// `impl Debug`, like `#[derive(Debug)]`, for an enum that does not derive it.
fn debug_impl(input: &Input) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    // `match *self {}` is exhaustive for an enum without variants (after an error).
    let scrutinee = if input.variants.is_empty() { quote!(*self) } else { quote!(self) };
    let arms = input.variants.iter().map(|variant| {
        let all: Vec<usize> = (0..variant.fields.len()).collect();
        let pattern = pattern(variant, &all);
        let name = variant.ident.to_string();
        let body = match variant.fields.first().map(|f| &f.member) {
            None => quote! { __formatter.write_str(#name) },
            Some(syn::Member::Named(_)) => {
                let fields = variant.fields.iter().zip(all.iter().map(|&i| binding(i)));
                let fields = fields.map(|(f, bound)| {
                    let name = &f.name;
                    quote! { .field(#name, #bound) }
                });
                quote! { __formatter.debug_struct(#name) #(#fields)* .finish() }
            }
            Some(syn::Member::Unnamed(_)) => {
                let fields = all.iter().map(|&i| binding(i));
                quote! { __formatter.debug_tuple(#name) #(.field(#fields))* .finish() }
            }
        };
        quote! { #pattern => #body, }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::fmt::Debug for #ident #ty_generics #where_clause {
            fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match #scrutinee { #(#arms)* }
            }
        }
    }
}

/// `impl std::error::Error`.
fn error_impl(input: &Input) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    quote! {
        #[automatically_derived]
        impl #impl_generics ::std::error::Error for #ident #ty_generics #where_clause {}
    }
}

/// One constructor per variant: `fn order_not_found(order_id: impl Into<String>) -> Self`.
/// Without specs (after an error) the constructors are still emitted, with shorter docs.
fn constructors(input: &Input, specs: Option<&[Spec]>) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    let vis = &input.item.vis;
    let mut taken: Vec<String> = Vec::new();
    let fns = input.variants.iter().enumerate().filter_map(|(i, variant)| {
        let name = variant.constructor().filter(|n| !taken.contains(&n.to_string()))?;
        taken.push(name.to_string());
        let docs = constructor_docs(variant, specs.and_then(|s| s.get(i)));
        let params = variant.fields.iter().map(|f| {
            let (arg, ty) = (&f.arg, &f.ty);
            quote! { #arg: impl ::core::convert::Into<#ty> }
        });
        let values = variant.fields.iter().map(|f| {
            let (member, arg) = (&f.member, &f.arg);
            quote! { #member: ::core::convert::Into::into(#arg) }
        });
        let many =
            (variant.fields.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments, reason = "one argument per field of the variant")] });
        let variant = &variant.ident;
        Some(quote! {
            #docs
            #[inline]
            #[allow(dead_code, reason = "a constructor the user may not call")]
            #many
            #vis fn #name(#(#params),*) -> Self {
                Self::#variant { #(#values),* }
            }
        })
    });
    let fns: Vec<TokenStream> = fns.collect();
    quote! {
        impl #impl_generics #ident #ty_generics #where_clause { #(#fns)* }
    }
}

/// The doc comment of a constructor: the variant, its code, status and template, then the
/// variant's own docs.
fn constructor_docs(variant: &Variant, spec: Option<&Spec>) -> TokenStream {
    let ident = &variant.ident;
    let summary = match spec {
        Some(spec) => format!(
            " Creates [`Self::{ident}`]: code `{}`, status {}, message {}.",
            spec.code,
            spec.status,
            code_span(&spec.message.value())
        ),
        None => format!(" Creates [`Self::{ident}`]."),
    };
    let own = &variant.docs;
    let gap = (!own.is_empty()).then(|| quote! { #[doc = ""] });
    quote! { #[doc = #summary] #gap #(#own)* }
}

/// `text` as a Markdown code span, fenced with more backticks than it contains.
fn code_span(text: &str) -> String {
    let text = text.replace('\n', "\\n").replace('\r', "\\r");
    if text.is_empty() {
        return "(empty)".to_owned();
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// `impl ErrorCode`: the catalog, code, status, params and decoding from the wire.
fn error_code_impl(input: &Input, specs: &[Spec]) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    let p = private();
    let catalog = catalog(input, specs);
    let codes = input.variants.iter().zip(specs).map(|(v, s)| {
        let (pattern, code) = (pattern(v, &[]), &s.code);
        quote! { #pattern => #code, }
    });
    let statuses = input.variants.iter().zip(specs).map(|(v, s)| {
        let (pattern, status) = (pattern(v, &[]), s.status);
        quote! { #pattern => #status, }
    });
    let severity = severity_fn(input, specs);
    let params = params_fn(input);
    let from_wire = from_wire_fn(input, specs);
    let schemas = param_schemas_fn(input);
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::ErrorCode for #ident #ty_generics #where_clause {
            const CATALOG: &'static [#p::ErrorDescriptor] = &[#catalog];
            fn code(&self) -> &'static str { match self { #(#codes)* } }
            fn status(&self) -> u16 { match self { #(#statuses)* } }
            #severity
            #params
            #from_wire
            #schemas
        }
    }
}

/// `fn severity`, when a variant sets one (the trait's default says `Error` for all).
fn severity_fn(input: &Input, specs: &[Spec]) -> TokenStream {
    if specs.iter().all(|spec| spec.severity.is_none()) {
        return TokenStream::new();
    }
    let p = private();
    let arms = input.variants.iter().zip(specs).map(|(v, s)| {
        let pattern = pattern(v, &[]);
        let severity = s.severity.clone().unwrap_or_else(|| format_ident!("Error"));
        quote! { #pattern => #p::Severity::#severity, }
    });
    quote! {
        fn severity(&self) -> #p::Severity { match self { #(#arms)* } }
    }
}

/// `fn param_schemas`: the JSON Schema of each field of each variant, `None` for a field
/// type without `JsonSchema` (decided per concrete type by the probe).
fn param_schemas_fn(input: &Input) -> TokenStream {
    let p = private();
    let variants = input.variants.iter().map(|variant| {
        let fields = variant.fields.iter().map(|f| {
            let ty = &f.ty;
            quote! { (&#p::SchemaProbe::<#ty>::new()).__schema(__generator) }
        });
        quote! { <#p::Vec<_> as ::core::convert::From<_>>::from([#(#fields),*]) }
    });
    quote! {
        fn param_schemas(
            __generator: &mut #p::SchemaGenerator,
        ) -> #p::Vec<#p::Vec<#p::Option<#p::Schema>>> {
            #[allow(unused_imports, reason = "one of the two traits is the one that applies")]
            use #p::{HasSchema as _, NoSchema as _};
            let _ = &__generator;
            <#p::Vec<_> as ::core::convert::From<_>>::from([#(#variants),*])
        }
    }
}

/// The `ErrorDescriptor`s of `CATALOG`, one per variant, in order.
fn catalog(input: &Input, specs: &[Spec]) -> TokenStream {
    let p = private();
    let entries = input.variants.iter().zip(specs).map(|(variant, spec)| {
        let (code, status, template) = (&spec.code, spec.status, spec.message.value());
        let name = variant.ident.to_string();
        let keys = variant.fields.iter().map(|f| &f.key);
        quote! {
            #p::ErrorDescriptor {
                code: #code,
                status: #status,
                template: #template,
                variant: #name,
                params: &[#(#keys),*],
            },
        }
    });
    quote! { #(#entries)* }
}

/// `fn params`: the fields as a JSON object keyed by their wire keys.
fn params_fn(input: &Input) -> TokenStream {
    let p = private();
    let arms = input.variants.iter().map(|variant| {
        let all: Vec<usize> = (0..variant.fields.len()).collect();
        let pattern = pattern(variant, &all);
        if all.is_empty() {
            return quote! { #pattern => #p::serde_json::Map::new(), };
        }
        let inserts = variant.fields.iter().enumerate().map(|(i, f)| {
            let (key, ty, bound) = (&f.key, &f.ty, binding(i));
            let value = quote_spanned! {ty.span()=> #p::param_value::<#ty>(#bound) };
            quote! {
                __params.insert(
                    <#p::String as ::core::convert::From<&str>>::from(#key),
                    #value,
                );
            }
        });
        quote! {
            #pattern => {
                let mut __params = #p::serde_json::Map::new();
                #(#inserts)*
                __params
            }
        }
    });
    quote! {
        fn params(&self) -> #p::serde_json::Map<#p::String, #p::serde_json::Value> {
            match self { #(#arms)* }
        }
    }
}

/// `fn from_wire`: picks the variant by code and decodes each field from the details.
fn from_wire_fn(input: &Input, specs: &[Spec]) -> TokenStream {
    let p = private();
    let arms = input.variants.iter().zip(specs).map(|(variant, spec)| {
        let (ident, code) = (&variant.ident, &spec.code);
        let fields = variant.fields.iter().map(|f| {
            let (member, key, ty) = (&f.member, &f.key, &f.ty);
            let value = quote_spanned! {ty.span()=> #p::param_from::<#ty>(__details, #key)? };
            quote! { #member: #value }
        });
        quote! { #code => #p::Option::Some(Self::#ident { #(#fields),* }), }
    });
    quote! {
        fn from_wire(__error: &#p::WireError) -> #p::Option<Self> {
            let __details = __error.details.as_ref();
            match __error.code.as_str() {
                #(#arms)*
                _ => #p::Option::None,
            }
        }
    }
}

/// `impl From<E> for WireError`, through `ErrorCode::to_wire`.
fn wire_error_from_impl(input: &Input) -> TokenStream {
    let (ident, (impl_generics, ty_generics, where_clause)) = header(input);
    let p = private();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::convert::From<#ident #ty_generics> for #p::WireError #where_clause {
            fn from(error: #ident #ty_generics) -> Self {
                #p::ErrorCode::to_wire(&error)
            }
        }
    }
}
