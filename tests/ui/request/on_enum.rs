use messaging_runtime::prelude::*;

#[request("getThing", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum GetThing {
    ById(String),
}

fn main() {}
