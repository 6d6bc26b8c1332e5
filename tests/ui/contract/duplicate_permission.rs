use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", error = ThingError)]
pub trait Things {
    #[permission("things:read")]
    #[permission("things:list")]
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
