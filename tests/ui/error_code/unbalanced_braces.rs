use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order with ID {order_id not found")]
    OrderNotFound { order_id: String },
    #[error(status = 400, message = "Order {order_id}} is closed")]
    Closed { order_id: String },
}

fn main() {}
