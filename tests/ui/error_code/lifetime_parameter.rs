use messaging_runtime::prelude::*;

#[error_code]
pub enum OrderError<'a> {
    #[error(status = 404, message = "Order {order_id} not found")]
    OrderNotFound { order_id: &'a str },
}

fn main() {}
