//! The write side of a server connection: events and answers out, batched, never holding up
//! the read side (`server.rs`), which runs beside it in the same task.

use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::outbox::Outbox;
use super::server::{close_frame, slow_consumer, End};
use super::FrameSocket;
use crate::envelope as wire;
use crate::transport::{EventFrame, EventReceiver};

/// At most this many frames are written in one turn before flushing, so a flood of events
/// cannot hold back the answers (and the other way round) for long.
const MAX_BATCH: usize = 256;

/// Writes what the connection sends until it ends: each turn waits for one frame, queues
/// every other frame already waiting (up to [`MAX_BATCH`]) and flushes once, so under load
/// many frames leave in one write and a lone answer still leaves at once.
///
/// Events go before answers: an event that a handler published before answering was queued
/// before its answer, so the client reads the event first. A write or flush that makes no
/// progress for `write_timeout` (the peer stopped reading) ends the connection as a slow
/// consumer.
pub(super) async fn write_side<S: FrameSocket>(
    sink: &mut SplitSink<S, Message>,
    events: &mut EventReceiver,
    answers: &Outbox,
    write_timeout: Duration,
) -> End {
    let mut size = wire::BufferSize::default();
    // Whether the server let go of the connection: the answers still come.
    let mut events_over = false;
    loop {
        // Events published without pause must not keep other tasks from their turn.
        crate::transport::fair::turn().await;
        let first = tokio::select! {
            biased;
            event = events.recv(), if !events_over => match event {
                Some(event) => encode_event(&event, &mut size),
                None => {
                    events_over = true;
                    None
                }
            },
            answer = answers.next() => match answer {
                Some(answer) => Some(answer),
                // Every answer is written: say why the connection closes, if the server said.
                None if events_over => return End::Close(events.close_reason().map(close_frame)),
                None => return End::Over,
            },
        };
        if let Err(end) = write_turn(sink, first, events, answers, &mut size, write_timeout).await {
            return end;
        }
    }
}

/// Queues `first` and every other frame already waiting (events first), at most
/// [`MAX_BATCH`], then flushes; `Err` when the connection ends.
async fn write_turn<S: FrameSocket>(
    sink: &mut SplitSink<S, Message>,
    first: Option<Message>,
    events: &mut EventReceiver,
    answers: &Outbox,
    size: &mut wire::BufferSize,
    write_timeout: Duration,
) -> Result<(), End> {
    let mut next = first;
    let mut budget = MAX_BATCH;
    loop {
        if let Some(message) = next.take() {
            within(write_timeout, sink.feed(message)).await?;
        }
        budget -= 1;
        if budget == 0 {
            break;
        }
        next = match events.try_recv() {
            Ok(event) => encode_event(&event, size),
            // The end of the events is left to the main loop.
            Err(_) => match answers.try_next() {
                Some(answer) => Some(answer),
                None => break,
            },
        };
    }
    within(write_timeout, sink.flush()).await
}

/// Runs one write, which must make progress within `limit`.
async fn within<E>(
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), End> {
    match super::within_limit(limit, write).await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(End::Over),
        None => {
            tracing::info!(?limit, "closing a connection whose peer stopped reading");
            Err(End::Stalled(slow_consumer("the client stopped reading")))
        }
    }
}

/// Encodes one event for the socket; one that cannot be serialised is logged and skipped.
fn encode_event(event: &EventFrame, size: &mut wire::BufferSize) -> Option<Message> {
    let mut out = size.buffer();
    let written = wire::encode_event(&mut out, &event.name, &event.payload, &event.context);
    size.saw(out.len());
    match written.map(|()| String::from_utf8(out)) {
        Ok(Ok(text)) => Some(Message::Text(text.into())),
        Ok(Err(e)) => {
            tracing::error!(event = %event.name, error = %e, "an encoded event was not UTF-8");
            None
        }
        Err(e) => {
            tracing::error!(event = %event.name, error = %e, "an event could not be serialised");
            None
        }
    }
}
