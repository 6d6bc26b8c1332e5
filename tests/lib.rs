//! Integration tests live in this crate's test targets; the library itself is empty.
