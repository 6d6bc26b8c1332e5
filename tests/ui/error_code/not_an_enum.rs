use messaging_runtime::prelude::*;

#[error_code]
pub struct OrderError {
    pub code: String,
}

#[error_code]
pub union Bits {
    pub a: u32,
}

#[error_code]
pub fn order_error() {}

#[error_code]
pub trait Failure {}

fn main() {}
