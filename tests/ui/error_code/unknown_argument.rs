use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found", http = 404)]
    OrderNotFound { order_id: String },
    #[error(status = 410, mesage = "gone", message = "gone")]
    Gone,
    #[error(status = 400, "bare message")]
    Bare,
}

fn main() {}
