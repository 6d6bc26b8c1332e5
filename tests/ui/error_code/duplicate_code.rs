use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found")]
    OrderNotFound { order_id: String },
    #[error(code = "ORDER_NOT_FOUND", status = 410, message = "Order {order_id} is gone")]
    OrderGone { order_id: String },
    #[error(code = "UNAVAILABLE", status = 503, message = "unavailable")]
    Down,
    #[error(status = 503, message = "unavailable")]
    Unavailable,
}

fn main() {}
