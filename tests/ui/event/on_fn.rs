use messaging_runtime::prelude::*;

#[event]
pub fn changed() {}

fn main() {}
