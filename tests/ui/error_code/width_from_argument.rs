use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id:>width$} not found")]
    OrderNotFound { order_id: String, width: usize },
}

fn main() {}
