//! A mistake in `#[request]` above `#[derive(Validate)]`: the one error is the mistake, not
//! `unresolved import validator` from the derive (the crate has no `validator` dependency).
use messaging_runtime::prelude::*;

#[request("renameUser", respons = bool)]
#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct RenameUser {
    #[validate(length(min = 3))]
    pub username: String,
}

fn main() {}
