//! The methods the generated client and publisher define whatever the contract,
//! derived from what is rendered rather than kept by hand, so the list cannot fall behind
//! the generated code (a hand-kept list once missed `publish_with`).

use quote::quote;

use super::ast::{self, type_ident};
use super::{client, server};
use crate::errors::Errors;
use crate::naming::{self, ContractNames};

/// A generated method: its name and where it is defined, like `Client::connect`.
pub(crate) struct Reserved {
    pub(crate) name: String,
    pub(crate) item: String,
}

/// Trait methods the generated types get from derives, which the rendered tokens do not
/// spell out.
/// (`Clone::clone`: an inherent `clone(&self, request)` would shadow it at every
/// `client.clone()`.)
const DERIVED: &[(&str, &str)] = &[("clone", "Client::clone")];

/// Renders a contract with no methods and one event, and lists every method of the
/// generated client and publisher except the event's own two (`{event}` and
/// `on_{event}`, checked per event).
pub(crate) fn reserved_methods() -> Vec<Reserved> {
    let mut errors = Errors::default();
    let args = ast::parse_args(
        quote!(name = "reserved", version = "1.0.0", error = ReservedError, events(ReservedEvent)),
        &mut errors,
    );
    let skeleton = ast::parse(
        args,
        quote!(
            trait Reserved {}
        ),
        &mut errors,
    );
    let mut reserved = DERIVED
        .iter()
        .map(|(name, item)| Reserved { name: (*name).to_owned(), item: (*item).to_owned() })
        .collect::<Vec<_>>();
    // The skeleton is well-formed; were it not, the list would only be the derived methods.
    let (Ok(()), Some(skeleton)) = (errors.finish(), skeleton) else { return reserved };
    let names = ContractNames::new(&skeleton.item.ident);
    let event = skeleton.args.events.iter().find_map(type_ident).map(|event| {
        [naming::event_method(event).to_string(), naming::event_callback_method(event).to_string()]
    });
    // Contract methods become client methods and events publisher and client methods; the
    // server and the event enum take no name from the contract.
    let rendered = [client::render(&skeleton, &names), server::render_publisher(&skeleton, &names)];
    for tokens in rendered {
        let Ok(file) = syn::parse2::<syn::File>(tokens) else { continue };
        for item in file.items {
            let syn::Item::Impl(block) = item else { continue };
            let owner = owner_suffix(&block.self_ty, &names);
            for impl_item in block.items {
                let syn::ImplItem::Fn(method) = impl_item else { continue };
                let name = method.sig.ident.to_string();
                if event.as_ref().is_some_and(|own| own.contains(&name)) {
                    continue;
                }
                if reserved.iter().all(|r| r.name != name) {
                    reserved.push(Reserved { item: format!("{owner}::{name}"), name });
                }
            }
        }
    }
    reserved
}

/// `Client` or `Events`: which generated type an impl block is for.
fn owner_suffix(self_ty: &syn::Type, names: &ContractNames) -> &'static str {
    if type_ident(self_ty) == Some(&names.events) {
        "Events"
    } else {
        "Client"
    }
}
