use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(message = "Order {order_id} not found")]
    OrderNotFound { order_id: String },
    #[error(status = 503)]
    Unavailable,
    #[error()]
    Empty,
}

fn main() {}
