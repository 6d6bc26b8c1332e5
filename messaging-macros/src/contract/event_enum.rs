//! Renders `{Trait}Event`: one variant per event of the contract, what the client's
//! `events()` stream yields in arrival order.

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::{type_ident, Contract};
use crate::naming::ContractNames;

/// The enum and its `EventSet` impl; nothing for a contract without events.
pub(crate) fn render(contract: &Contract, names: &ContractNames) -> TokenStream {
    let events = &contract.args.events;
    if events.is_empty() {
        return TokenStream::new();
    }
    let p = crate::naming::runtime();
    let (trait_ident, vis, event_enum) =
        (&contract.item.ident, &contract.item.vis, &names.event_enum);
    let variants: Vec<_> =
        events.iter().filter_map(|e| type_ident(e).map(|ident| (ident, e))).collect();
    let idents = variants.iter().map(|(ident, _)| *ident).collect::<Vec<_>>();
    let types = variants.iter().map(|(_, ty)| *ty).collect::<Vec<_>>();
    let indices = 0..variants.len();
    let variant_docs = idents.iter().map(|ident| format!("A [`{ident}`]."));
    let doc = format!(
        "Any event of [`{trait_ident}`]: what `{}::events()` yields, in the order the events arrived.",
        names.client
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone)]
        #vis enum #event_enum {
            #(
                #[doc = #variant_docs]
                #idents(#types),
            )*
        }

        impl #p::EventSet for #event_enum {
            const NAMES: &'static [&'static str] = &[#(<#types as #p::Event>::NAME),*];

            fn decode(index: usize, payload: #p::Payload) -> #p::Result<Self, #p::DecodeError> {
                match index {
                    #(#indices => payload.decode::<#types>().map(Self::#idents),)*
                    _ => #p::Result::Err(#p::unknown_event_index(index, Self::NAMES)),
                }
            }
        }

        impl ::core::fmt::Debug for #event_enum {
            /// The variant and the event as JSON (an event type need not implement `Debug`).
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let (name, json) = match self {
                    #(Self::#idents(event) => (::core::stringify!(#idents), #p::serde_json::to_string(event)),)*
                };
                match json {
                    #p::Result::Ok(json) => ::core::write!(f, "{}({})", name, json),
                    #p::Result::Err(_) => ::core::write!(f, "{}(..)", name),
                }
            }
        }
    }
}
