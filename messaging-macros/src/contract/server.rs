//! Renders `{Trait}Server<S>` (the dispatch table) and `{Trait}Events` (the typed publisher).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{type_ident, Contract, Method};
use crate::naming::{self, ContractNames};

/// The server wrapper and its `Service` impl.
pub(crate) fn render(contract: &Contract, names: &ContractNames) -> TokenStream {
    let p = crate::naming::runtime();
    let (trait_ident, vis, server, marker) =
        (&contract.item.ident, &contract.item.vis, &names.server, &names.contract);
    let doc = format!(
        "Serves an implementation of [`{trait_ident}`]: `Server::bind(..).await?.serve({server}::new(service))`."
    );
    let routes = contract.methods.iter().map(|m| render_route(contract, m));
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug)]
        #vis struct #server<S> {
            service: #p::Arc<S>,
        }

        impl<S: #trait_ident> #server<S> {
            /// Wraps the implementation.
            #[must_use]
            pub fn new(service: S) -> Self {
                Self { service: #p::Arc::new(service) }
            }

            /// Wraps an implementation that is shared with other code.
            #[must_use]
            pub fn from_arc(service: #p::Arc<S>) -> Self {
                Self { service }
            }
        }

        #[automatically_derived]
        impl<S: #trait_ident> #p::Service for #server<S> {
            fn descriptor(&self) -> &'static #p::ContractDescriptor {
                <#marker as #p::Contract>::DESCRIPTOR
            }

            fn register(self, router: &mut #p::Router) {
                let service = self.service;
                #(#routes)*
                let _ = service;
            }
        }
    }
}

/// One dispatch entry: decode the request, call the method, encode the answer. Spanned at
/// the method's return type, so a mismatch is reported on the user's token.
fn render_route(contract: &Contract, method: &Method) -> TokenStream {
    let p = crate::naming::runtime();
    let (ident, request, output, ok) =
        (method.ident(), &method.request, &method.output, &method.ok);
    let error = contract.args.error.as_ref();
    let call = match &method.context {
        Some((_, context)) => quote_spanned!(context.span()=> service.#ident(request, cx).await),
        None => quote!({ let _ = cx; service.#ident(request).await }),
    };
    // The annotation reports a wrong return type once, at the user's return type.
    let answer = quote_spanned! {output.span()=>
        let answer: #p::Result<#ok, #error> = returned;
        answer
    };
    quote_spanned! {request.span()=>
        {
            let service = <#p::Arc<S> as ::core::clone::Clone>::clone(&service);
            router.request::<#request, #ok, #error, _, _>(move |request, cx| {
                let service = <#p::Arc<S> as ::core::clone::Clone>::clone(&service);
                async move {
                    let returned = #call;
                    #answer
                }
            });
        }
    }
}

/// `{Trait}Events`: publishes only the contract's events.
pub(crate) fn render_publisher(contract: &Contract, names: &ContractNames) -> TokenStream {
    let p = crate::naming::runtime();
    let (trait_ident, vis, events, marker) =
        (&contract.item.ident, &contract.item.vis, &names.events, &names.contract);
    let doc = format!(
        "Publishes the events of [`{trait_ident}`] to a server's clients, and nothing else."
    );
    let per_event = contract.args.events.iter().map(|event| {
        let Some(event_ident) = type_ident(event) else { return TokenStream::new() };
        let method = naming::event_method(event_ident);
        let doc = format!("Broadcasts a [`{event_ident}`] to every connected client; returns how many it reached.");
        quote_spanned! {event.span()=>
            #[doc = #doc]
            pub fn #method(&self, event: #event) -> usize {
                self.publish(event)
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #events {
            broadcaster: #p::Broadcaster,
        }

        impl ::core::convert::From<#p::Broadcaster> for #events {
            fn from(broadcaster: #p::Broadcaster) -> Self {
                Self { broadcaster }
            }
        }

        #[allow(
            clippy::must_use_candidate,
            reason = "publishing is the effect; the count of clients reached is extra information"
        )]
        impl #events {
            /// A publisher on the server that `broadcaster` belongs to.
            #[must_use]
            pub fn new(broadcaster: #p::Broadcaster) -> Self {
                Self { broadcaster }
            }

            /// Broadcasts any event of the contract; returns how many clients it reached.
            pub fn publish<E: #p::EventOf<#marker>>(&self, event: E) -> usize {
                #p::broadcast(&self.broadcaster, event)
            }

            /// Broadcasts an event with an explicit context; returns how many clients it reached.
            pub fn publish_with<E: #p::EventOf<#marker>>(&self, event: E, context: #p::MessageContext) -> usize {
                #p::broadcast_with(&self.broadcaster, event, context)
            }

            /// Sends an event of the contract to one client.
            ///
            /// # Errors
            /// When no client with that id is connected, or its connection is closed.
            pub fn publish_to<E: #p::EventOf<#marker>>(&self, client: &#p::ClientId, event: E) -> #p::Result<(), #p::PublishError> {
                #p::send_to(&self.broadcaster, client, event)
            }

            #(#per_event)*
        }
    }
}
