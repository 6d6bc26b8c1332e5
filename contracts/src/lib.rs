//! Worked contracts shared by the examples, the tests and the benchmarks: the order,
//! product and user services of the guide, and the real-time dashboard that follows the
//! order service. A server and its clients depend on the same types here, so they cannot
//! drift apart.
//!
//! Each module is one contract: its data types, events, requests, error codes and the
//! `#[contract]` trait from which the typed client (`…Client`), the dispatch table
//! (`…Server`) and the event publisher (`…Events`) are generated.

pub mod dashboard;
pub mod order;
pub mod product;
pub mod user;
