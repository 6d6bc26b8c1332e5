use messaging_runtime::prelude::*;

#[derive(Debug)]
pub struct Opaque;

#[error_code]
#[derive(Debug)]
pub enum OrderError {
    #[error(status = 500, message = "internal")]
    Internal { cause: Opaque },
}

fn main() {}
