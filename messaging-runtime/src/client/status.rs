//! The connection status: watched by whoever waits for a change, and read without a lock on
//! every call (which checks that the client is connected before it sends).

use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::watch;

use super::ConnectionStatus;

/// The status, twice: in a `watch` channel for those who wait for changes, and in an atomic
/// copy for those who only read it. Every change goes through this type, under the
/// channel's lock, so the two never disagree once a change is made.
#[derive(Debug)]
pub(super) struct StatusCell {
    now: AtomicU8,
    watchers: watch::Sender<ConnectionStatus>,
}

impl StatusCell {
    /// A status that starts at `initial`.
    pub(super) fn new(initial: ConnectionStatus) -> Self {
        Self { now: AtomicU8::new(encode(initial)), watchers: watch::Sender::new(initial) }
    }

    /// The status now.
    pub(super) fn get(&self) -> ConnectionStatus {
        decode(self.now.load(Ordering::Acquire))
    }

    /// Sets the status and tells every watcher, even when it did not change.
    pub(super) fn set(&self, status: ConnectionStatus) {
        self.watchers.send_modify(|current| {
            *current = status;
            self.now.store(encode(status), Ordering::Release);
        });
    }

    /// Sets the status; tells the watchers only if it changed.
    pub(super) fn set_if_changed(&self, status: ConnectionStatus) {
        self.watchers.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            self.now.store(encode(status), Ordering::Release);
            changed
        });
    }

    /// A receiver of every change from now on (the status now counts as seen).
    pub(super) fn subscribe(&self) -> watch::Receiver<ConnectionStatus> {
        self.watchers.subscribe()
    }
}

fn encode(status: ConnectionStatus) -> u8 {
    match status {
        ConnectionStatus::Disconnected => 0,
        ConnectionStatus::Connecting => 1,
        ConnectionStatus::Connected => 2,
        ConnectionStatus::Reconnecting => 3,
        ConnectionStatus::Error => 4,
    }
}

fn decode(byte: u8) -> ConnectionStatus {
    match byte {
        1 => ConnectionStatus::Connecting,
        2 => ConnectionStatus::Connected,
        3 => ConnectionStatus::Reconnecting,
        4 => ConnectionStatus::Error,
        _ => ConnectionStatus::Disconnected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_follows_every_change_and_watchers_see_them() {
        let cell = StatusCell::new(ConnectionStatus::Connecting);
        let mut watcher = cell.subscribe();
        for status in [
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting,
            ConnectionStatus::Error,
            ConnectionStatus::Disconnected,
            ConnectionStatus::Connecting,
        ] {
            cell.set(status);
            assert_eq!(cell.get(), status);
            assert!(watcher.has_changed().unwrap_or(false), "{status} reached the watcher");
            assert_eq!(*watcher.borrow_and_update(), status);
        }
        cell.set_if_changed(ConnectionStatus::Connecting);
        assert!(!watcher.has_changed().unwrap_or(true), "no change, no notification");
        cell.set_if_changed(ConnectionStatus::Disconnected);
        assert_eq!(cell.get(), ConnectionStatus::Disconnected);
        assert!(watcher.has_changed().unwrap_or(false), "a change is told");
    }
}
