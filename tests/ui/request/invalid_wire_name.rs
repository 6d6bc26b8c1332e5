use messaging_runtime::prelude::*;

#[request("9lives", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

fn main() {}
