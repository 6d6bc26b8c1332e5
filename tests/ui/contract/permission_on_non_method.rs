use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

// On the trait, below `#[contract]`: the contract reports it.
#[contract(name = "things", error = ThingError)]
#[permission("things:read")]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

// On the trait, above `#[contract]`, and on a struct: `#[permission]` reports itself.
#[permission("things:read")]
#[contract(name = "other-things", error = ThingError)]
pub trait OtherThings {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

#[permission("things:read")]
pub struct NotAMethod;

fn main() {}
