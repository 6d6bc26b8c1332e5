use messaging_runtime::prelude::*;

#[event("thing changed!")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
}

fn main() {}
