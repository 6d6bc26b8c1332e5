use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[request("getThing", response = Thing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchThing {
    pub id: String,
}

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    async fn fetch_thing(&self, req: FetchThing, cx: Context) -> Result<Thing, ThingError>;
}

fn main() {}
