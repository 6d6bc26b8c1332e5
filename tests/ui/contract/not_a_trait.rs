use messaging_runtime::prelude::*;

#[path = "../common/things.rs"]
mod things;
use things::*;

#[contract(name = "things", error = ThingError)]
pub struct Things;

fn main() {}
