//! One case-conversion rule (heck's) for every generated name: acronyms stay one word, a
//! single-letter word stays a word.

use messaging_runtime::prelude::*;

/// Errors whose names hold an acronym and a one-letter word.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum ChatError {
    /// One-letter word.
    #[error(status = 403, message = "not a member")]
    NotAMember,
    /// Acronym.
    #[error(status = 500, message = "i/o failed")]
    IOFailed,
}

/// An event whose name starts with an acronym.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HTTPPing {
    /// A number.
    pub n: u32,
}

/// An event with a one-letter word inside.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserIsATeapot {}

#[test]
fn acronyms_and_single_letters_keep_their_words() {
    assert_eq!(ChatError::not_a_member().code(), "NOT_A_MEMBER");
    assert_eq!(ChatError::io_failed().code(), "IO_FAILED");
    assert_eq!(<HTTPPing as Event>::NAME, "httpPing");
    assert_eq!(<UserIsATeapot as Event>::NAME, "userIsATeapot");
}
