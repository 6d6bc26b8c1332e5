use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JustData {
    pub id: String,
}

#[contract(name = "things", error = ThingError, events(ThingChanged, JustData))]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
