use messaging_runtime::prelude::*;

// Every mistake is reported in one compile, and uses of the enum do not add more errors.
#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {id} not found")]
    OrderNotFound { order_id: String },
    #[error(status = 1000, message = "bad")]
    Bad,
    Forgotten,
}

fn fail() -> Result<(), OrderError> {
    Err(OrderError::order_not_found("7"))
}

fn main() {
    let _ = fail().map_err(|e| e.code());
}
