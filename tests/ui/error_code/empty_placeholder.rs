use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order with ID {} not found")]
    OrderNotFound { order_id: String },
}

fn main() {}
