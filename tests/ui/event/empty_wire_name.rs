use messaging_runtime::prelude::*;

#[event("")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
}

fn main() {}
