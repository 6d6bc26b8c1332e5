//! Hostile input over a real socket, property-based (proptest): arbitrary bytes (as text and
//! as binary), truncated and mutated valid frames, deeply nested JSON, huge numbers, wrong
//! types for every field, request ids of every JSON type, duplicated envelope fields, unknown
//! extra fields, `cancel` frames valid and not, and valid frames in between, sent to a Rust
//! order service on `ws://127.0.0.1:0`.
//!
//! The properties, for every case:
//! - the server never goes down, and never closes a connection for a bad frame (only for an
//!   oversized message, with close code 1009, and only that connection);
//! - every frame has exactly one documented outcome, and gets it. A frame the server cannot
//!   read gets `BAD_MESSAGE` (400): not JSON, not an object, a binary frame (whatever is in
//!   it), an unknown or missing `type`, a missing or wrong-typed field, a `response` sent to
//!   a server, an envelope field that appears twice, or a `requestId` that is not a
//!   non-empty string or a number. The answer carries the frame's request id, echoed byte for
//!   byte, when the frame is an object in which `requestId` appears once and is valid;
//!   otherwise `"requestId":null`. A request that reads gets `UNKNOWN_REQUEST_TYPE` (404) for
//!   a type the service does not have, `INVALID_PAYLOAD` (400) for a payload that does not
//!   decode into the request type, and otherwise whatever the handler answered (success or
//!   a contract or runtime error). Only a valid event and a valid `cancel` get nothing;
//! - `BAD_MESSAGE` answers come in the order of their frames (the server writes each as it
//!   reads the frame), so answers under `null` are matched in order and counted;
//! - a well-behaved typed client on another connection is served throughout.
//!
//! What each frame should get is decided by [`classify`](oracle::classify), an oracle written from
//! the README's table, independently of how the frame was generated. Many cases share one socket:
//! after each case's frames a valid "probe" request goes out, and every answer owed is read and
//! checked before the next case. A valid `cancel` naming a request still owed is not sent (whether
//! that request is answered would then depend on timing). Run with `--nocapture` to see the totals.

mod frames;
mod harness;
mod oracle;
mod stats;
mod strategies;
mod values;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use frames::{any_frame, any_frame_with, any_request_id};
use harness::{owed, Harness};
use strategies::{cases, deep_or_huge, duplicated, frame, junk, mutated, valid_request};

/// The longest wait for any one thing (a frame, a send, a typed call).
const WAIT: Duration = Duration::from_secs(10);
/// Cases per property block; five blocks make 10,000 cases a run.
const CASES: u32 = 2_000;
/// The well-behaved client is checked every this many cases (and at the end).
const CHECK_EVERY: u64 = 250;
/// The test functions that add to the grand total (the last one to finish prints it).
const TESTS: usize = 6;
/// The largest message the server takes (the transport's default, 1 MiB).
const MAX_MESSAGE: usize = 1 << 20;

#[test]
fn arbitrary_bytes_as_text_and_binary() {
    let harness = Harness::start("arbitrary bytes");
    harness.run(CASES, cases(prop_oneof![4 => junk(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn truncated_and_mutated_valid_frames() {
    let harness = Harness::start("mutated frames");
    harness.run(CASES, cases(prop_oneof![4 => mutated(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn wrong_types_for_every_field_and_unknown_fields() {
    let harness = Harness::start("wrong types and unknown fields");
    harness.run(CASES, cases(prop_oneof![4 => frame(any_frame(2)), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn deeply_nested_json_and_huge_numbers() {
    let harness = Harness::start("deep nesting and huge numbers");
    harness.run(CASES, cases(prop_oneof![4 => deep_or_huge(), 1 => valid_request()].boxed()));
    harness.finish();
}

#[test]
fn request_ids_of_every_type_duplicate_fields_and_cancels() {
    let harness = Harness::start("request ids, duplicates and cancels");
    let frames = prop_oneof![
        3 => frame(any_frame_with(0, any_request_id)),
        2 => duplicated(),
        1 => valid_request(),
    ];
    harness.run(CASES, cases(frames.boxed()));
    harness.finish();
}

/// A message over the limit closes that connection with 1009 (after the answers to what
/// came before it); the next connection and the well-behaved client are served.
#[test]
fn oversized_messages_close_only_that_connection_with_1009() {
    let harness = Harness::start("oversized messages");
    let strategy =
        (prop::collection::vec(valid_request(), 0..3), 1usize..64 * 1024, 0..3u8, any::<bool>());
    let config = Config { cases: 16, failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&strategy, |(before, over, shape, binary)| {
        let frames: Vec<(Vec<u8>, bool)> = before.iter().map(|spec| harness.render(spec)).collect();
        let size = MAX_MESSAGE + over;
        let mut huge = match shape {
            0 => format!(
                r#"{{"type":"request","requestId":"big","payload":"{}"}}"#,
                "x".repeat(size)
            ),
            1 => "[".repeat(size),
            _ => String::from_utf8(vec![b'a'; size]).expect("ASCII"),
        }
        .into_bytes();
        huge.truncate(size);
        let outcome = harness.rt.block_on(async {
            let mut conn = harness.connect().await?;
            for (bytes, binary) in frames {
                harness.send_frame(&mut conn, bytes, binary).await?;
            }
            let message = if binary {
                Message::Binary(huge.into())
            } else {
                Message::Text(String::from_utf8(huge).map_err(|_| "UTF-8")?.into())
            };
            // The server may close before the whole message is written; that is the point.
            let _ = tokio::time::timeout(WAIT, conn.ws.send(message)).await;
            harness.stat(|s| s.frames += 1);
            loop {
                let message = tokio::time::timeout(WAIT, conn.ws.next())
                    .await
                    .map_err(|_| owed("no close frame in time", &conn.pending))?;
                match message {
                    Some(Ok(Message::Text(text))) => {
                        harness.on_text(text.as_str(), &mut conn.pending)?
                    }
                    Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Size => break,
                    Some(Ok(Message::Close(frame))) => {
                        return Err(format!("closed with {frame:?}, not 1009"));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("no close frame: {e}")),
                    None => return Err("the connection ended without a close frame".into()),
                }
            }
            harness.stat(|s| s.closed_1009 += 1);
            // Requests still with their handlers when the connection closed go unanswered;
            // every answer that did come was checked above.
            // A new connection is served.
            let mut fresh = harness.connect().await?;
            harness.exchange(&mut fresh, Vec::new(), harness.fresh_id()).await
        });
        harness.stat(|s| s.cases += 1);
        outcome.map_err(TestCaseError::fail)?;
        harness.check_well_behaved_client()
    });
    if let Err(e) = result {
        panic!("oversized messages: {e}");
    }
    harness.finish();
}
