use messaging_runtime::prelude::*;

#[request("getThing", response = String, response = u32)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

fn main() {}
