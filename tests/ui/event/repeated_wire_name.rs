use messaging_runtime::prelude::*;

#[event("changed", "updated")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
}

fn main() {}
