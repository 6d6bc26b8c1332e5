use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", version = "1.0", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
