use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order with ID {orderid} not found")]
    OrderNotFound { order_id: String },
    #[error(status = 500, message = "boom {1}")]
    Tuple(String),
    #[error(status = 503, message = "unavailable for {seconds}")]
    Unit,
}

fn main() {}
