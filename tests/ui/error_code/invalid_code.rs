use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(code = "order-not-found", status = 404, message = "not found")]
    OrderNotFound,
    #[error(code = "", status = 400, message = "empty code")]
    Empty,
    #[error(code = "1ST", status = 400, message = "starts with a digit")]
    First,
    #[error(code = ORDER_GONE, status = 410, message = "not a string")]
    Gone,
}

fn main() {}
