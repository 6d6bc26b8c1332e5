use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[request(response = Thing)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteThing {
    pub id: String,
}

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
    async fn delete_thing(&self, req: DeleteThing, cx: Context) -> Result<Thing, ThingError>;
}

async fn call(client: ThingsClient) {
    let _ = client.get_thing(DeleteThing { id: "1".into() }).await;
}

fn main() {
    let _ = call;
}
