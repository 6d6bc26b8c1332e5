use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", version = "one", error = ThingError, colour = "red")]
pub trait Things {
    fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    async fn inner(&self, req: GetThing) -> Result<Thing, ThingError>;
    async fn nothing(&self) -> Result<Thing, ThingError>;
}

fn main() {}
