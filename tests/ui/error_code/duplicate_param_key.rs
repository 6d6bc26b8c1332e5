use messaging_runtime::prelude::*;

#[error_code]
#[allow(non_snake_case)]
pub enum OrderError {
    #[error(status = 404, message = "Order {order_id} not found")]
    OrderNotFound { order_id: String, orderId: String },
}

fn main() {}
