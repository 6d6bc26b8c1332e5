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

// The broadcaster has no unchecked way to publish: only the contract's publisher does.
fn publish(cx: &Context) {
    cx.broadcaster().broadcast(Unrelated { id: "1".into() });
}

// The one-expression publisher checks the contract like any other.
fn publish_typed(cx: &Context) {
    cx.events::<ThingsEvents>().publish(Unrelated { id: "1".into() });
}

fn main() {
    let _ = (publish, publish_typed);
}
