use messaging_runtime::prelude::*;

#[error_code]
#[allow(non_camel_case_types)]
pub enum OrderError {
    #[error(code = "A", status = 400, message = "a")]
    OrderClosed,
    #[error(code = "B", status = 400, message = "b")]
    Order_Closed,
    #[error(status = 400, message = "c")]
    Self_,
}

fn main() {}
