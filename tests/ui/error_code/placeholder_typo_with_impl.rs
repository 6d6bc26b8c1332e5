//! A placeholder typo in a message used by a contract and its impl: one error, naming the
//! placeholder and the fields it could be (a span cannot point inside a string literal on
//! stable Rust, so it covers the literal).
use messaging_runtime::prelude::*;

#[request("getThing", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetThing {
    pub id: String,
}

#[error_code]
#[derive(Debug)]
pub enum ThingError {
    #[error(status = 404, message = "thing {idd} not found")]
    NotFound { id: String },
}

#[contract(name = "things", error = ThingError)]
pub trait Things {
    async fn get_thing(&self, req: GetThing, cx: Context) -> Result<String, ThingError>;
}

struct Shelf;

impl Things for Shelf {
    async fn get_thing(&self, req: GetThing, _cx: Context) -> Result<String, ThingError> {
        Err(ThingError::not_found(req.id))
    }
}

fn main() {
    let _ = ThingsServer::new(Shelf);
}
