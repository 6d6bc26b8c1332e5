use messaging_runtime::prelude::*;

#[request("getBits", response = u32)]
pub union GetBits {
    pub a: u32,
    pub b: f32,
}

fn main() {}
