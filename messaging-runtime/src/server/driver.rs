//! A transport's work for one connection, run on the task that dispatches the connection's
//! requests ([`crate::transport::ServerLink::driver`]).
//!
//! A socket's read loop hands each request to dispatch, and dispatch's answer goes back to
//! the socket's write loop. On two tasks, every request wakes the other task twice, and on a
//! multi-threaded runtime a wake-up often means waking a parked worker. On one task those
//! wake-ups are the task waking itself, which [`super::woken::SelfWaking`] absorbs.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::transport::ConnectionDriver;

/// The connection's work, from the transport's handoff to its end. As a future it never
/// resolves: a connection's loop learns that the connection ended from its frames ending.
/// Dropped before the work is done, it hands what remains to a task of its own, so a
/// connection the server stops serving is still closed properly.
pub(super) struct Driver {
    state: State,
}

enum State {
    /// The transport has not handed the work over yet.
    Waiting(oneshot::Receiver<ConnectionDriver>),
    /// Running here.
    Running(ConnectionDriver),
    /// Done, or never coming (the transport had nothing to hand over).
    Done,
}

impl Driver {
    /// The work the transport hands over on `handoff`, if any.
    pub(super) fn new(handoff: Option<oneshot::Receiver<ConnectionDriver>>) -> Self {
        Self { state: handoff.map_or(State::Done, State::Waiting) }
    }

    /// Whether there is work to poll (or to wait for).
    pub(super) fn is_running(&self) -> bool {
        !matches!(self.state, State::Done)
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.state {
                State::Waiting(handoff) => match Pin::new(handoff).poll(cx) {
                    Poll::Ready(Ok(work)) => self.state = State::Running(work),
                    Poll::Ready(Err(_)) => self.state = State::Done,
                    Poll::Pending => return Poll::Pending,
                },
                State::Running(work) => {
                    if Pin::new(work).poll(cx).is_ready() {
                        self.state = State::Done;
                    }
                    return Poll::Pending;
                }
                State::Done => return Poll::Pending,
            }
        }
    }
}

impl Driver {
    /// Hands what remains of the work to a task of its own: for when the connection's loop
    /// stops polling it, but the connection still has to write what is in flight and close.
    pub(super) fn release(&mut self) {
        let remaining = match std::mem::replace(&mut self.state, State::Done) {
            State::Done => return,
            State::Running(work) => work,
            State::Waiting(handoff) => ConnectionDriver::new(async move {
                if let Ok(work) = handoff.await {
                    work.await;
                }
            }),
        };
        // Outside a runtime (it is shutting down) the work is dropped with the socket.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn(remaining));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn runs_the_work_it_is_handed() {
        let (handoff, handed) = oneshot::channel::<ConnectionDriver>();
        let (done, mut finished) = oneshot::channel();
        let mut driver = Driver::new(Some(handed));
        let noop = &mut Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut driver).poll(noop).is_pending(), "nothing handed over yet");
        assert!(driver.is_running(), "waiting for the handoff");
        let _ = handoff.send(ConnectionDriver::new(async move {
            let _ = done.send(());
        }));
        assert!(Pin::new(&mut driver).poll(noop).is_pending(), "the driver never resolves");
        assert_eq!(finished.try_recv(), Ok(()), "the work ran to its end");
        assert!(!driver.is_running(), "and the driver knows it");
    }

    #[tokio::test]
    async fn dropped_unfinished_it_hands_the_work_to_a_task_of_its_own() {
        let (handoff, handed) = oneshot::channel::<ConnectionDriver>();
        let (go, wait) = oneshot::channel::<()>();
        let (done, finished) = oneshot::channel();
        let driver = Driver::new(Some(handed));
        let _ = handoff.send(ConnectionDriver::new(async move {
            let _ = wait.await;
            let _ = done.send(());
        }));
        drop(driver);
        let _ = go.send(());
        let ended = tokio::time::timeout(Duration::from_secs(5), finished).await;
        assert!(matches!(ended, Ok(Ok(()))), "the work went on after the driver was dropped");
    }
}
