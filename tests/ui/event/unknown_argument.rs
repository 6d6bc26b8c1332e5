use messaging_runtime::prelude::*;

#[event("changed", retain = true)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
}

fn main() {}
