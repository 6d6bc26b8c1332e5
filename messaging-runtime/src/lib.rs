//! Contract-first, typed messaging between services.
//!
//! Write a contract once with `#[contract]`, `#[event]`, `#[request]` and `#[error_code]`;
//! get a typed client, a server dispatch table, a typed event publisher and error
//! constructors. Run it in one process over `memory://`, with no serialisation on the way.
//!
//! ```
//! use messaging_runtime::prelude::*;
//!
//! /// A greeting was sent.
//! #[event]
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! pub struct Greeted { pub name: String }
//!
//! /// Asks for a greeting.
//! #[request("greet", response = String)]
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! pub struct Greet { pub name: String }
//!
//! /// What greeting can fail with.
//! #[error_code]
//! #[derive(Debug)]
//! pub enum GreetError {
//!     /// Nobody to greet.
//!     #[error(status = 400, message = "cannot greet `{name}`")]
//!     Unwelcome { name: String },
//! }
//!
//! /// Greets people.
//! #[contract(name = "greeter", version = "1.0.0", error = GreetError, events(Greeted))]
//! pub trait Greeter {
//!     /// Greets one person.
//!     async fn greet(&self, req: Greet, cx: Context) -> Result<String, GreetError>;
//! }
//!
//! struct Polite;
//!
//! impl Greeter for Polite {
//!     async fn greet(&self, req: Greet, cx: Context) -> Result<String, GreetError> {
//!         if req.name.is_empty() {
//!             return Err(GreetError::unwelcome(req.name));
//!         }
//!         GreeterEvents::new(cx.broadcaster().clone()).greeted(Greeted { name: req.name.clone() });
//!         Ok(format!("hello, {}", req.name))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::bind("memory://doc-greeter").await?.serve(GreeterServer::new(Polite)).start().await?;
//! let client = GreeterClient::connect("memory://doc-greeter").await?;
//! let mut greeted = client.greeted();
//! assert_eq!(client.greet(Greet { name: "Ada".into() }).await?, "hello, Ada");
//! assert_eq!(greeted.recv().await.map(|(e, _)| e.name).as_deref(), Some("Ada"));
//! let err = client.greet(Greet { name: String::new() }).await.unwrap_err();
//! assert_eq!(err.contract().map(|e| e.code()), Some("UNWELCOME"));
//! server.stop().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod context;
pub mod contract;
pub mod error;
pub mod middleware;
pub mod payload;
pub mod server;
pub mod transport;
pub mod validation;
pub mod wire;

/// The JSON envelope codec of every text transport (the TypeScript library's frames).
#[cfg(feature = "ws")]
pub(crate) mod envelope;

#[cfg(feature = "auth")]
pub use auth::MemoryAuthProvider;
pub use auth::{AccessPolicy, AuthError, AuthProvider, Credentials, Permission, Session};
pub use client::{
    AllEvents, Backoff, Call, Client, ClientBuilder, ConnectionStatus, EventStream, Subscription,
};
pub use context::{Actor, Auth, MessageContext};
pub use contract::{
    check_event, check_request, Contract, ContractDescriptor, ErrorCode, ErrorDescriptor, Event,
    EventDescriptor, EventOf, EventSet, Request, RequestDescriptor,
};
pub use error::{CallError, PublishError, TransportError, WireError};
pub use messaging_macros::{contract, error_code, event, permission, request};
/// The `schemars` crate (1.x) the contract schemas are generated with, re-exported so a
/// type can point its derive here: `#[schemars(crate = "messaging_runtime::schemars")]`
/// (`#[request]` and `#[event]` do that for the type they sit on).
pub use schemars;
pub use server::{
    Broadcaster, ClientId, ClientInfo, Context, RunningServer, ServeError, Server, ServerEvent,
    ServerRequest, Service,
};
pub use validation::{FieldFailure, ValidationFailure};
/// The `validator` crate the rules are written with, re-exported so a contract crate needs no
/// dependency of its own (its derive and trait are also in the [`prelude`] as `Validate`).
#[cfg(feature = "validate")]
pub use validator;
pub use wire::Severity;

/// Everything a contract file or a service needs, in one import.
pub mod prelude {
    pub use crate::{
        contract, error_code, event, permission, request, CallError, Client, ConnectionStatus,
        Context, Contract, ErrorCode, Event, MessageContext, Request, Server, WireError,
    };
    /// `schemars`' derive and trait: `#[derive(JsonSchema)]` gives a message type the JSON
    /// Schema its contract's artifacts (JSON Schema, AsyncAPI, TypeScript, snapshots) need.
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    /// `validator`'s derive and trait: `#[derive(Validate)]` declares a message's rules.
    #[cfg(feature = "validate")]
    pub use validator::Validate;
}

/// What generated code needs, under one absolute path. Not part of the public API.
#[doc(hidden)]
pub mod __private;

/// The README's walkthrough, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
