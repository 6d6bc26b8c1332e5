use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found")]
    OrderNotFound { order_id: String },
    /// Documented, but no `#[error]`.
    OrderClosed { order_id: String },
}

fn main() {}
