use messaging_runtime::prelude::*;

#[error_code]
#[derive(Debug)]
pub enum StockError {
    #[error(status = 409, message = "out of stock", severity = "fatal")]
    OutOfStock,
}

fn main() {}
