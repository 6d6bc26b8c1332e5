use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unrelated {
    pub id: String,
}

#[contract(name = "things", error = ThingError, events(ThingChanged))]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<Thing, ThingError>;
}

fn publish(events: ThingsEvents) {
    events.publish(Unrelated { id: "1".into() });
}

fn main() {
    let _ = publish;
}
