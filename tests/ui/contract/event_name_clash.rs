use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

/// An event whose publisher method would be `publish_with`, which every publisher has.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishWith {
    pub id: String,
}

#[contract(name = "things", error = ThingError, events(PublishWith))]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
