use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 600, message = "too high")]
    TooHigh,
    #[error(status = 99, message = "too low")]
    TooLow,
    #[error(status = 70000, message = "not even a u16")]
    Huge,
}

fn main() {}
