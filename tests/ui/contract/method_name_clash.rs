use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", error = ThingError, events(ThingChanged))]
pub trait Things {
    async fn connect(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    async fn thing_changed(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
