//! The version handshake, this library's extension of the wire protocol: right after
//! connecting, a generated client (`{Trait}Client::connect`) sends the reserved request
//! `$handshake` with the contract's name, version and hash; the server answers whether it
//! serves a compatible version. A client built for an incompatible one fails `connect` with
//! [`crate::TransportError::IncompatibleContract`], naming both versions, instead of failing later
//! with decode errors.
//!
//! It is an ordinary request on the wire, so it works over every transport:
//!
//! ```json
//! {"type":"request","requestId":"…","requestType":"$handshake","payload":{"contract":"order-service","version":"1.0.0","hash":"blake2s256:…"}}
//! {"type":"response","requestId":"…","success":true,"data":{"compatible":true,"contract":"order-service","version":"1.2.0","hash":"blake2s256:…"}}
//! ```
//!
//! A client that sends no handshake (the TypeScript clients) is served as before; a server
//! that predates the handshake answers `UNKNOWN_REQUEST_TYPE`, which the client takes as
//! "no opinion" and carries on. The README documents the whole exchange.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::compat::Version;
use super::snapshot::descriptor_hash;
use super::{ContractDescriptor, ErrorCode, ErrorDescriptor, Request};
use crate::error::WireError;

/// The reserved request type of the handshake.
pub const HANDSHAKE: &str = "$handshake";

/// What a client says it was built with: the payload of `$handshake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The contract name.
    pub contract: String,
    /// The contract version the client was built with.
    pub version: String,
    /// The contract hash the client was built with (see [`super::snapshot::Snapshot::hash`]).
    pub hash: String,
}

/// The server's answer to `$handshake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloAnswer {
    /// Whether the server serves a version of the contract this client can use.
    pub compatible: bool,
    /// The contract name, as asked.
    pub contract: String,
    /// The version the server serves; `None` when it does not serve the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The hash of the version the server serves; `None` when it does not serve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Why it is not compatible, or what is odd about it (same version, other hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Request for Hello {
    const NAME: &'static str = HANDSHAKE;
    type Response = HelloAnswer;
}

/// The server's side: how it answers a client's [`Hello`] given the contracts it serves.
pub fn answer(served: &[&'static ContractDescriptor], hello: &Hello) -> HelloAnswer {
    let mut reply = HelloAnswer {
        compatible: false,
        contract: hello.contract.clone(),
        version: None,
        hash: None,
        reason: None,
    };
    let Some(descriptor) = served.iter().find(|d| d.name == hello.contract) else {
        let names: Vec<String> = served.iter().map(|d| format!("`{}`", d.name)).collect();
        reply.reason = Some(format!(
            "this server does not serve contract `{}`; it serves {}",
            hello.contract,
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        ));
        return reply;
    };
    let hash = descriptor_hash(descriptor);
    reply.version = Some(descriptor.version.to_owned());
    // The declared versions decide; the hashes only tell an unchanged contract from one
    // that changed without a version bump.
    match (Version::parse(&hello.version), Version::parse(descriptor.version)) {
        (Ok(client), Ok(server)) if client.is_served_by(server) => {
            reply.compatible = true;
            if client == server && hash != hello.hash {
                reply.reason = Some(format!(
                    "same version {server}, different hash: the contract changed without a \
                     version bump"
                ));
            }
        }
        (Ok(client), Ok(_)) => {
            let line = if client.major == 0 {
                format!("{}.{}.x", client.major, client.minor)
            } else {
                format!("{}.x", client.major)
            };
            reply.reason = Some(format!(
                "a client built for {client} needs a server of {line} with at least that version"
            ));
        }
        (Err(e), _) | (_, Err(e)) => {
            reply.compatible = hash == hello.hash;
            reply.reason = Some(e);
        }
    }
    reply.hash = Some(hash);
    reply
}

/// The handshake has no errors of its own: a server answers it or does not know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoError {}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for NoError {}

impl ErrorCode for NoError {
    const CATALOG: &'static [ErrorDescriptor] = &[];

    fn code(&self) -> &'static str {
        match *self {}
    }

    fn status(&self) -> u16 {
        match *self {}
    }

    fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        match *self {}
    }

    fn from_wire(_: &WireError) -> Option<Self> {
        None
    }
}
