use messaging_runtime::prelude::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct Money {
    pub cents: u64,
}

#[error_code]
#[derive(Debug)]
pub enum OrderError {
    #[error(status = 402, message = "{amount} is not enough")]
    NotEnough { amount: Money },
}

fn main() {}
