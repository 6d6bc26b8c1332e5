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

#[request("renameThing", response = Thing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenameThing {
    pub id: String,
}

#[contract(name = "things", error = ThingError)]
pub trait Things {
    #[permission("Things:Read")]
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    #[permission("things::list")]
    async fn list_things(&self, req: ListThings) -> Result<Vec<Thing>, ThingError>;
    #[permission("things:drop*")]
    async fn drop_thing(&self, req: DropThing) -> Result<Thing, ThingError>;
    #[permission("")]
    async fn rename_thing(&self, req: RenameThing) -> Result<Thing, ThingError>;
}

fn main() {}
