//! `#[contract]`: parse the trait into a model (`ast`), check it (`valid`, plus hidden
//! spanned type checks in `checks`), then render each generated item (`expand`, `client`,
//! `server`).

mod ast;
mod checks;
mod client;
mod event_enum;
mod expand;
mod reserved;
mod server;
mod valid;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::errors::{with_original, Errors};
use crate::naming::ContractNames;

/// Expands `#[contract(...)]` on a trait.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed_args = ast::parse_args(args, &mut errors);
    let contract = ast::parse(parsed_args, input.clone(), &mut errors);
    if let Some(contract) = &contract {
        valid::check(contract, &mut errors);
    }
    if let Err(e) = errors.finish() {
        return with_original(&e, ast::without_permission_attrs(input));
    }
    let Some(mut contract) = contract else { return input };
    if contract.args.error.is_none() {
        // Events only (the rule above): no request can fail, so no error type is needed.
        let runtime = crate::naming::runtime();
        contract.args.error = Some(syn::parse_quote!(#runtime::NoError));
    }
    let names = ContractNames::new(&contract.item.ident);
    let rendered = [
        expand::render_trait(&contract),
        expand::render_contract(&contract, &names),
        expand::render_event_impls(&contract, &names),
        event_enum::render(&contract, &names),
        client::render(&contract, &names),
        server::render(&contract, &names),
        server::render_publisher(&contract, &names),
        checks::render(&contract),
    ];
    quote!(#(#rendered)*)
}

/// `#[permission]` anywhere but on a method of a `#[contract]` trait (where `#[contract]`
/// reads and removes it before it could expand): an error at the attribute, then the item
/// unchanged.
pub(crate) fn misplaced_permission(input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[permission]` goes on a method of a `#[contract]` trait, like \
         `#[permission(\"orders:write\")] async fn create_order(..)`: it declares the permission \
         that method's request requires",
    );
    with_original(&error, input)
}
