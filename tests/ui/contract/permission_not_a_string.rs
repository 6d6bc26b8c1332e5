use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[request("listThings", response = Vec<Thing>)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListThings {}

#[request("dropThing", response = Thing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DropThing {
    pub id: String,
}

#[contract(name = "things", error = ThingError)]
pub trait Things {
    #[permission(things:read)]
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    #[permission]
    async fn list_things(&self, req: ListThings) -> Result<Vec<Thing>, ThingError>;
    #[permission("things:drop", "things:write")]
    async fn drop_thing(&self, req: DropThing) -> Result<Thing, ThingError>;
}

fn main() {}
