use messaging_runtime::prelude::*;

#[request("getThing")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

fn main() {}
