use messaging_runtime::prelude::*;

#[event]
#[derive(Debug, Clone)]
pub struct Changed {
    pub id: String,
}

fn main() {}
