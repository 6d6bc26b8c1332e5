//! The requests a client connection has sent and waits for, by the id they were sent under.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tokio::sync::oneshot;

use crate::envelope as wire;
use crate::transport::Reply;

/// Requests waiting for their response, by the id they were sent under: the number the
/// client runtime gave each request.
pub(super) struct Pending {
    waiting: HashMap<u64, Waiting, BuildHasherDefault<IdHasher>>,
    prune_at: usize,
    /// Callers woken by a response whose next request has not been seen since: worth a
    /// yield before flushing, so their requests leave in the same write.
    pub(super) owed: usize,
    /// How large the frames sent of late were.
    pub(super) size: wire::BufferSize,
}

/// A caller waiting for its response.
pub(super) struct Waiting {
    /// Where the answer goes.
    pub(super) reply: oneshot::Sender<Reply>,
    /// The caller's own buffer (its request's text, kept), to hand the response back in:
    /// allocated on the caller's thread, and freed there (see
    /// [`crate::transport::EncodedRequest`]).
    pub(super) buffer: Option<String>,
}

impl Pending {
    pub(super) fn new() -> Self {
        Self {
            waiting: HashMap::default(),
            prune_at: 1024,
            owed: 0,
            size: wire::BufferSize::default(),
        }
    }

    pub(super) fn add(&mut self, id: u64, reply: oneshot::Sender<Reply>, buffer: Option<String>) {
        // A caller that gave up while the cancel could not be sent (the connection was being
        // replaced) leaves its sender behind; sweep those now and then, not on every call.
        if self.waiting.len() >= self.prune_at {
            self.waiting.retain(|_, waiting| !waiting.reply.is_closed());
            self.prune_at = (self.waiting.len() * 2).max(1024);
        }
        self.waiting.insert(id, Waiting { reply, buffer });
        self.owed = self.owed.saturating_sub(1);
    }

    /// Whether other callers may send soon: some that responses woke have not sent their
    /// next request yet, or other requests are in flight. A lone caller is not kept waiting.
    pub(super) fn busy(&self) -> bool {
        self.owed > 0 || self.waiting.len() > 1
    }

    /// Forgets request `id`, whose caller stopped waiting; `true` when it was in flight.
    pub(super) fn cancel(&mut self, id: u64) -> bool {
        self.waiting.remove(&id).is_some()
    }

    /// The caller waiting for the response sent under `id` (as it came back on the wire).
    pub(super) fn take(&mut self, id: &str) -> Option<Waiting> {
        self.waiting.remove(&id.parse::<u64>().ok()?)
    }
}

/// The ids are the client's own counter: a multiplicative hash spreads them well enough,
/// at a fraction of the cost of SipHash. Not exposed to what a peer chooses: a response
/// only ever looks up ids, never inserts them.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
