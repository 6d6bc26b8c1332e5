use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {}

fn main() {}
