use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found", status = 410)]
    OrderNotFound { order_id: String },
    #[error(code = "A", status = 400, message = "a", code = "B")]
    Twice,
}

fn main() {}
