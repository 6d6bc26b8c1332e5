use messaging_runtime::prelude::*;

#[error_code(status = 500)]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found")]
    OrderNotFound { order_id: String },
}

fn main() {}
