//! Integration tests live in this crate's test targets; the library holds what they share.

pub mod echo;
pub mod profile;
pub mod wait;
