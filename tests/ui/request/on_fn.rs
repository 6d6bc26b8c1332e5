use messaging_runtime::prelude::*;

#[request("getThing", response = String)]
pub fn get_thing() {}

fn main() {}
