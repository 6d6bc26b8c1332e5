//! Renders `{Trait}Client`: one typed method per request, one typed subscription per event.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{type_ident, Contract, Method};
use crate::naming::{self, ContractNames};

/// The client struct and its methods.
pub(crate) fn render(contract: &Contract, names: &ContractNames) -> TokenStream {
    let p = crate::naming::runtime();
    let (trait_ident, vis, client, marker) =
        (&contract.item.ident, &contract.item.vis, &names.client, &names.contract);
    let doc = format!(
        "A typed client of [`{trait_ident}`]: one method per request, one subscription per event."
    );
    let requests = contract.methods.iter().map(|m| render_request(contract, m));
    let events = contract.args.events.iter().map(render_event);
    let all_events = render_all_events(contract, names);
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #client {
            client: #p::Client,
        }

        impl #client {
            /// Connects to a server of this contract at `address` (e.g. `memory://orders`),
            /// then checks with the version handshake (`$handshake`) that the server serves
            /// a version of the contract this client can use.
            ///
            /// # Errors
            /// When the address is malformed, its scheme has no transport, or nothing listens
            /// there; `TransportError::IncompatibleContract`, naming both versions, when the
            /// server serves an incompatible version of the contract.
            pub async fn connect(address: &str) -> #p::Result<Self, #p::TransportError> {
                Self::connect_with(#p::Client::builder(), address).await
            }

            /// Connects like [`Self::connect`], with the options of `builder` (timeouts,
            /// reconnection, layers); the builder is told which contract it calls.
            ///
            /// # Errors
            /// As [`Self::connect`].
            pub async fn connect_with(
                builder: #p::ClientBuilder,
                address: &str,
            ) -> #p::Result<Self, #p::TransportError> {
                let descriptor = <#marker as #p::Contract>::DESCRIPTOR;
                let client = builder.contract(descriptor.name).connect(address).await?;
                if let #p::Result::Err(error) = #p::handshake(&client, descriptor).await {
                    client.close();
                    return #p::Result::Err(error);
                }
                #p::Result::Ok(Self { client })
            }

            /// Wraps a client that is already connected (e.g. one built with `Client::builder()`).
            #[must_use]
            pub fn from_client(client: #p::Client) -> Self {
                Self { client }
            }

            /// The untyped client underneath: status changes, login, options.
            #[must_use]
            pub fn inner(&self) -> &#p::Client {
                &self.client
            }

            /// The connection status now.
            #[must_use]
            pub fn status(&self) -> #p::ConnectionStatus {
                self.client.status()
            }

            /// Whether the client is connected now (calls made while it is not fail at once,
            /// unless they wait for the connection).
            #[must_use]
            pub fn is_connected(&self) -> bool {
                self.client.is_connected()
            }

            /// The id the server registered this connection under, when the transport
            /// tells it (see `Client::client_id`).
            #[must_use]
            pub fn client_id(&self) -> #p::Option<#p::String> {
                self.client.client_id()
            }

            /// The address this client connected to.
            #[must_use]
            pub fn address(&self) -> &str {
                self.client.address()
            }

            /// Closes the connection: the server sees the client leave, later calls fail with
            /// `Disconnected`, and the client does not reconnect.
            pub fn close(&self) {
                self.client.close();
            }

            /// Sends `request` once to every server of this contract (every replica over
            /// `nats://`) and yields each typed reply until `until` says to stop: a count, a
            /// quiet period, or the deadline.
            pub fn request_many<R: #p::Request>(
                &self,
                request: R,
                until: #p::Gather,
            ) -> impl #p::Stream<
                Item = #p::Result<R::Response, #p::CallError<<#marker as #p::Contract>::Error>>,
            > + ::core::marker::Send + 'static {
                self.client.request_many::<R, <#marker as #p::Contract>::Error>(request, until)
            }

            /// Sends one of the contract's events to the server.
            ///
            /// # Errors
            /// When the connection is closed.
            pub fn emit<E: #p::EventOf<#marker>>(&self, event: E) -> #p::Result<(), #p::PublishError> {
                self.client.emit(event)
            }

            /// Every event of type `E` from now on, as a `Stream`; dropping it unsubscribes.
            #[must_use]
            pub fn subscribe<E: #p::EventOf<#marker>>(&self) -> #p::EventStream<E> {
                self.client.subscribe::<E>()
            }

            /// Runs `handler` for every event of type `E`, in arrival order, until the returned
            /// subscription is dropped or unsubscribed: a plain closure `|event, cx| { .. }` or
            /// an async one `|event, cx| async move { .. }`.
            pub fn on<E, F, R, M>(&self, handler: F) -> #p::Subscription
            where
                E: #p::EventOf<#marker>,
                F: ::core::ops::FnMut(E, #p::MessageContext) -> R + ::core::marker::Send + 'static,
                R: #p::CallbackResult<M>,
            {
                self.client.on::<E, F, R, M>(handler)
            }

            #all_events
            #(#requests)*
            #(#events)*
        }
    }
}

/// `events()`: every event of the contract in one ordered stream of `{Trait}Event`.
fn render_all_events(contract: &Contract, names: &ContractNames) -> TokenStream {
    if contract.args.events.is_empty() {
        return TokenStream::new();
    }
    let p = crate::naming::runtime();
    let event_enum = &names.event_enum;
    let doc = format!(
        "Every event of the contract from now on, in the order they arrived whatever their \
         type, as one `Stream` of [`{event_enum}`] to `match` on; dropping it unsubscribes."
    );
    quote! {
        #[doc = #doc]
        #[must_use]
        pub fn events(&self) -> #p::AllEvents<#event_enum> {
            self.client.subscribe_all::<#event_enum>()
        }
    }
}

fn render_request(contract: &Contract, method: &Method) -> TokenStream {
    let p = crate::naming::runtime();
    let (ident, request) = (method.ident(), &method.request);
    let error = contract.args.error.as_ref();
    let docs = method.item.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let permission_doc = method.permission_doc();
    let body = quote_spanned! {request.span()=> self.client.call(request) };
    quote! {
        #(#docs)*
        #permission_doc
        ///
        /// Await the returned call, or first set `.context(..)`, `.timeout(..)` or
        /// `.wait_for_connection()` on it.
        pub fn #ident(&self, request: #request) -> #p::Call<'_, #request, #error> {
            #body
        }
    }
}

fn render_event(event: &syn::Type) -> TokenStream {
    let p = crate::naming::runtime();
    let Some(event_ident) = type_ident(event) else { return TokenStream::new() };
    let subscribe = naming::event_method(event_ident);
    let callback = naming::event_callback_method(event_ident);
    let stream_doc =
        format!("Every [`{event_ident}`] from now on, as a `Stream`; dropping it unsubscribes.");
    let callback_doc = format!(
        "Runs `handler` for every [`{event_ident}`], in arrival order, until the returned \
         subscription is dropped or unsubscribed: a plain closure `|event, cx| {{ .. }}` or an \
         async one `|event, cx| async move {{ .. }}`."
    );
    quote! {
        #[doc = #stream_doc]
        #[must_use]
        pub fn #subscribe(&self) -> #p::EventStream<#event> {
            self.subscribe::<#event>()
        }

        #[doc = #callback_doc]
        pub fn #callback<F, R, M>(&self, handler: F) -> #p::Subscription
        where
            F: ::core::ops::FnMut(#event, #p::MessageContext) -> R + ::core::marker::Send + 'static,
            R: #p::CallbackResult<M>,
        {
            self.on::<#event, F, R, M>(handler)
        }
    }
}
