use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

pub struct NotARequest;

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: NotARequest, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
