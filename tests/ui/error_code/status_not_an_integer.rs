use messaging_runtime::prelude::*;

const NOT_FOUND: u16 = 404;

#[error_code]
pub enum OrderError {
    #[error(status = "404", message = "a string")]
    Quoted,
    #[error(status = NOT_FOUND, message = "a constant")]
    Constant,
    #[error(status = -404, message = "negative")]
    Negative,
}

fn main() {}
