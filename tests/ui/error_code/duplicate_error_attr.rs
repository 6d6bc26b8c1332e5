use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found")]
    #[error(code = "MISSING_ORDER")]
    OrderNotFound { order_id: String },
    #[error = "not a list"]
    Gone,
}

fn main() {}
