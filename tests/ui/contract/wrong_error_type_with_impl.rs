//! The trait names another error than the contract, and an impl follows the trait: the error
//! is reported once, at the trait's return type, not at the impl.
use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, String>;
}

struct Shelf;

impl Things for Shelf {
    async fn get_thing(&self, req: GetThing, _cx: Context) -> Result<Thing, String> {
        Ok(Thing { id: req.id })
    }
}

fn main() {
    let _ = ThingsServer::new(Shelf);
}
