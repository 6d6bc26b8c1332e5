//! The read side steps aside: what a pipelining client sent in one go is answered as it is
//! read, not only once all of it has been read.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{serve_socket, ANSWER_EVERY};
use crate::payload::Payload;
use crate::transport::engine::ConnectionOptions;
use crate::transport::{event_queue, Inbound};

/// What the scripted peer saw: how many of its frames were read, and how many had been read
/// when the first answer was written.
#[derive(Default)]
struct Seen {
    read: usize,
    answers: usize,
    first_answer_after: Option<usize>,
}

/// A peer whose frames are all there at once, as a pipelining client's are after one write;
/// once they are read, it sends nothing more.
struct Scripted {
    frames: VecDeque<Message>,
    seen: Arc<Mutex<Seen>>,
}

impl Scripted {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Stream for Scripted {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.frames.pop_front() {
            Some(frame) => {
                self.seen().read += 1;
                Poll::Ready(Some(Ok(frame)))
            }
            // Nothing more comes; the test ends on the answers, not on this.
            None => Poll::Pending,
        }
    }
}

impl Sink<Message> for Scripted {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), WsError> {
        let mut seen = self.seen();
        seen.answers += 1;
        if seen.first_answer_after.is_none() {
            seen.first_answer_after = Some(seen.read);
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

/// Answers every request at once, on the same task as the connection's loops, as the
/// server's dispatch does.
async fn answer_all(inbound: &mut mpsc::UnboundedReceiver<Inbound>, seen: &Mutex<Seen>) {
    for _ in 0..10_000 {
        while let Ok(frame) = inbound.try_recv() {
            if let Inbound::Request(request) = frame {
                let _ = request.reply.send(Ok(Payload::typed("ok")));
            }
        }
        if seen.lock().unwrap_or_else(PoisonError::into_inner).answers == FRAMES {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("not every request was answered");
}

const FRAMES: usize = 64;

#[tokio::test]
async fn requests_read_in_one_go_are_answered_while_the_rest_are_still_being_read() {
    let frames = (1..=FRAMES)
        .map(|id| {
            let text = format!(
                r#"{{"type":"request","requestId":"{id}","requestType":"ping","payload":{{}}}}"#
            );
            Message::Text(text.into())
        })
        .collect();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let socket = Scripted { frames, seen: Arc::clone(&seen) };
    let (to_server, mut inbound) = mpsc::unbounded_channel();
    let (_events_sender, events) = event_queue();
    let options = ConnectionOptions {
        heartbeat: Duration::from_secs(60),
        write_timeout: Duration::from_secs(5),
    };
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::select! {
            () = serve_socket(socket, to_server, events, options) => panic!("the connection ended"),
            () = answer_all(&mut inbound, &seen) => {}
        }
    })
    .await;
    assert!(answered.is_ok(), "every request is answered within 10 s");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(seen.answers, FRAMES);
    // The answers to one step's frames are written while the next step's are handled.
    let first = seen.first_answer_after.expect("answers were written");
    assert!(
        first <= 2 * ANSWER_EVERY,
        "the first answer left after {first} of the {FRAMES} frames were read: expected it \
         after at most {}",
        2 * ANSWER_EVERY
    );
}
