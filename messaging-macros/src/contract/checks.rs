//! Hidden, spanned checks that make the type checker speak at the user's tokens: a request
//! argument that is not a `#[request]`, an `Ok` type that is not the request's response, a
//! listed event that is not an `#[event]`, and duplicate wire names.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::ast::Contract;

fn private() -> TokenStream {
    crate::naming::runtime()
}

/// All checks, in one anonymous const.
pub(crate) fn render(contract: &Contract) -> TokenStream {
    let p = private();
    let mut checks = Vec::new();
    if let Some(error) = &contract.args.error {
        checks.push(quote_spanned! {error.span()=> #p::assert_error_code::<#error>(); });
    }
    // The request type itself is checked by the dispatch entry and the client method (both
    // spanned at it), the events by the `{Trait}Event` impls, the return and context types by
    // the dispatch entry; what is left is that `Ok` is the request's response.
    for method in &contract.methods {
        let (request, ok) = (&method.request, &method.ok);
        checks.push(quote_spanned! {ok.span()=> #p::assert_response::<#request, #ok>(); });
    }
    let request_names = unique_names(
        contract.methods.iter().map(|m| (&m.request, format!("method `{}`", m.ident()))),
        "Request",
        "request",
    );
    let event_names = unique_names(
        contract.args.events.iter().map(|e| (e, format!("event `{}`", e.to_token_stream()))),
        "Event",
        "event",
    );
    quote! {
        const _: () = {
            #(#checks)*
            #request_names
            #event_names
        };
    }
}

/// Rule: no two requests (no two events) of a contract share a wire name. The names live in
/// other items' constants, so the check runs at compile time: one array of the names, then
/// one assertion per entry spanned at its type, so each of a duplicate pair is marked. The
/// expansion grows linearly with the contract (an assertion listing every earlier name made
/// it quadratic).
fn unique_names<'a>(
    entries: impl Iterator<Item = (&'a syn::Type, String)>,
    trait_name: &str,
    kind: &str,
) -> TokenStream {
    let p = private();
    let trait_ident = quote::format_ident!("{trait_name}");
    let trait_path = quote!(#p::#trait_ident);
    let entries: Vec<_> = entries.collect();
    if entries.len() < 2 {
        return TokenStream::new();
    }
    let names = entries.iter().map(|(ty, _)| quote!(<#ty as #trait_path>::NAME));
    let checks = entries.iter().enumerate().map(|(index, (ty, label))| {
        let message = format!(
            "duplicate {kind} wire name: the {kind} of {label} has the same wire name as another \
             {kind} of this contract (each of them is marked)"
        );
        // One constant each: evaluation stops at the first failing assertion of a constant.
        quote_spanned! {ty.span()=>
            const _: () = ::core::assert!(!#p::name_shared(__NAMES, #index), #message);
        }
    });
    quote! {
        const _: () = {
            const __NAMES: &[&str] = &[#(#names),*];
            #(#checks)*
        };
    }
}
