//! Renders the rewritten trait, the `{Trait}Contract` descriptor and the `EventOf`
//! impls of the listed events. The client and the server live in `client.rs` and `server.rs`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::ast::{Contract, Method};
use crate::naming::{self, ContractNames};

/// The trait with `Send` futures: implementers write plain `async fn`.
pub(crate) fn render_trait(contract: &Contract) -> TokenStream {
    let item = &contract.item;
    let (attrs, vis, ident) = (&item.attrs, &item.vis, &item.ident);
    let supertraits = item.supertraits.iter();
    let methods = contract.methods.iter().map(render_trait_method);
    quote! {
        #(#attrs)*
        #vis trait #ident: ::core::marker::Send + ::core::marker::Sync + 'static #(+ #supertraits)* {
            #(#methods)*
        }
    }
}

fn render_trait_method(method: &Method) -> TokenStream {
    let attrs = &method.item.attrs;
    let permission_doc = method.permission_doc();
    let (ident, pat, request, output) =
        (method.ident(), &method.request_pat, &method.request, &method.output);
    let context = method.context.as_ref().map(|(pat, ty)| quote!(, #pat: #ty));
    let future = quote_spanned! {method.item.sig.fn_token.span()=>
        impl ::core::future::Future<Output = #output> + ::core::marker::Send
    };
    quote! {
        #(#attrs)*
        #permission_doc
        fn #ident(&self, #pat: #request #context) -> #future;
    }
}

/// `{Trait}Contract` with `impl Contract`: names, version, events, requests and errors.
pub(crate) fn render_contract(contract: &Contract, names: &ContractNames) -> TokenStream {
    let p = crate::naming::runtime();
    let (trait_ident, vis, marker) = (&contract.item.ident, &contract.item.vis, &names.contract);
    let name = contract
        .args
        .name
        .as_ref()
        .map_or_else(|| naming::kebab(&trait_ident.to_string()), syn::LitStr::value);
    let version =
        contract.args.version.as_ref().map_or_else(|| "0.1.0".to_owned(), syn::LitStr::value);
    let error = contract.args.error.as_ref().map(ToTokens::to_token_stream).unwrap_or_default();
    let events = contract.args.events.iter().map(|e| {
        let type_name = e.to_token_stream().to_string().replace(' ', "");
        quote!(#p::EventDescriptor { name: <#e as #p::Event>::NAME, type_name: #type_name })
    });
    let requests = contract.methods.iter().map(|m| {
        let method = m.ident().to_string();
        let request = &m.request;
        let request_type = request.to_token_stream().to_string().replace(' ', "");
        let response_type = m.ok.to_token_stream().to_string().replace(' ', "");
        let permission = match m.permission() {
            Some(lit) => quote!(#p::Option::Some(#lit)),
            None => quote!(#p::Option::None),
        };
        quote! {
            #p::RequestDescriptor {
                name: <#request as #p::Request>::NAME,
                method: #method,
                request_type: #request_type,
                response_type: #response_type,
                permission: #permission,
            }
        }
    });
    let schemas = render_schemas(contract);
    let artifacts = render_artifacts(&name);
    let doc = format!("The `{name}` contract ({version}) described by [`{trait_ident}`].");
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
        #vis struct #marker;

        #[automatically_derived]
        impl #p::Contract for #marker {
            type Error = #error;
            const DESCRIPTOR: &'static #p::ContractDescriptor = &#p::ContractDescriptor {
                name: #name,
                version: #version,
                events: &[#(#events),*],
                requests: &[#(#requests),*],
                errors: <#error as #p::ErrorCode>::CATALOG,
                schemas: #schemas,
            };
        }

        impl #marker {
            #artifacts
        }
    }
}

/// A fn pointer to the function that collects the schema of every message type, in
/// descriptor order: `Some` for a type that implements `JsonSchema`, `None` otherwise (the
/// probe decides on the concrete type, so a contract without schemas still compiles).
fn render_schemas(contract: &Contract) -> TokenStream {
    let p = crate::naming::runtime();
    let probe = |ty: &dyn ToTokens| quote!((&#p::SchemaProbe::<#ty>::new()).__schema(__generator));
    let requests = contract.methods.iter().map(|m| {
        let (request, response) = (probe(&m.request), probe(&m.ok));
        quote!((#request, #response))
    });
    let events = contract.args.events.iter().map(|e| probe(e));
    let error = contract.args.error.as_ref().map(ToTokens::to_token_stream).unwrap_or_default();
    quote! {{
        fn __schemas(__generator: &mut #p::SchemaGenerator) -> #p::MessageSchemas {
            #[allow(unused_imports, reason = "one of the two traits is the one that applies")]
            use #p::{HasSchema as _, NoSchema as _};
            #p::MessageSchemas {
                requests: <#p::Vec<_> as ::core::convert::From<_>>::from([#(#requests),*]),
                events: <#p::Vec<_> as ::core::convert::From<_>>::from([#(#events),*]),
                errors: <#error as #p::ErrorCode>::param_schemas(__generator),
            }
        }
        __schemas
    }}
}

/// The artifact functions on `{Trait}Contract`.
fn render_artifacts(name: &str) -> TokenStream {
    let p = crate::naming::runtime();
    let errors = format!(
        "# Errors\nWhen a type of `{name}` does not derive `JsonSchema`: the error names each one."
    );
    quote! {
        /// The contract's JSON Schema document (draft 2020-12): every request, response,
        /// event and error, the shared types under `$defs`.
        ///
        #[doc = #errors]
        pub fn json_schema() -> #p::Result<#p::serde_json::Value, #p::SchemaError> {
            #p::artifacts::json_schema::<Self>()
        }

        /// The contract's AsyncAPI 3.0 document: requests as operations with their replies
        /// (the response and the error messages), events as operations, the `ws` binding.
        ///
        #[doc = #errors]
        pub fn asyncapi() -> #p::Result<#p::serde_json::Value, #p::SchemaError> {
            #p::artifacts::asyncapi::<Self>()
        }

        /// The contract as TypeScript: zod schemas with the same constraints, their types,
        /// the `createContract` object and a typed WebSocket client.
        ///
        #[doc = #errors]
        pub fn typescript() -> #p::Result<#p::String, #p::SchemaError> {
            #p::artifacts::typescript::<Self>()
        }

        /// The contract's snapshot: the descriptor with every schema and the hash, to commit
        /// and compare later versions with.
        ///
        #[doc = #errors]
        pub fn snapshot() -> #p::Result<#p::Snapshot, #p::SchemaError> {
            #p::Snapshot::of::<Self>()
        }
    }
}

/// `impl EventOf<{Trait}Contract>` for exactly the listed events, so publishing or emitting
/// any other type fails to compile with a note naming the contract.
pub(crate) fn render_event_impls(contract: &Contract, names: &ContractNames) -> TokenStream {
    let p = crate::naming::runtime();
    let marker = &names.contract;
    let impls = contract.args.events.iter().map(|e| {
        quote_spanned! {e.span()=> #[automatically_derived] impl #p::EventOf<#marker> for #e {} }
    });
    quote!(#(#impls)*)
}
