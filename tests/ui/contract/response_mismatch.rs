use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<String, ThingError>;
}

fn main() {}
