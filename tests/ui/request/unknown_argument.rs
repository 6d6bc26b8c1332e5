use messaging_runtime::prelude::*;

#[request("getThing", response = String, timeout = 5)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

fn main() {}
