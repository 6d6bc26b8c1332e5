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

use std::path::PathBuf;

use messaging_runtime::{Contract, ContractDescriptor};

/// Every contract of this crate, in the order of the guide.
pub const ALL: [&ContractDescriptor; 4] = [
    order::OrderServiceContract::DESCRIPTOR,
    product::ProductServiceContract::DESCRIPTOR,
    user::UserServiceContract::DESCRIPTOR,
    dashboard::DashboardServiceContract::DESCRIPTOR,
];

/// The contract named `name` (as in its `#[contract(name = ..)]`).
pub fn by_name(name: &str) -> Option<&'static ContractDescriptor> {
    ALL.into_iter().find(|d| d.name == name)
}

/// Where the snapshot of contract `name` is committed: next to the contracts, as
/// `contracts/src/<name>.snapshot.json`.
pub fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src").join(format!("{name}.snapshot.json"))
}
