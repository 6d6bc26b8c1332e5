//! A peer that floods its connection does not keep the runtime's other tasks from running.
//! Connection tasks run outside tokio's cooperative budget and take a bounded number of
//! turns per poll instead (`messaging-runtime/src/transport/fair.rs`); without that bound,
//! a read loop that always finds another frame would never give the thread back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use messaging_runtime::prelude::*;
use messaging_tests::echo::{Echo, EchoServiceClient, EchoServiceServer, Echoer};
use messaging_tests::wait::until;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long the flood lasts at most: what a test without the bound would wait, then fail.
const FLOOD: Duration = Duration::from_secs(6);

/// How long the other tasks may take while the flood runs.
const PROMPT: Duration = Duration::from_secs(2);

/// A client event the server has no handler for: read, handed to dispatch, answered with
/// nothing, so the flood meets no back-pressure.
const EVENT: &str = r#"{"type":"event","event":"said","payload":{"text":"flood"}}"#;

/// Writes `EVENT` frames to `address` as fast as the socket takes them, from a thread of
/// its own, until `stop` or [`FLOOD`]; counts them in `sent`.
fn flood(address: &str, stop: &AtomicBool, sent: &AtomicUsize) {
    let (mut socket, _) = tungstenite::connect(address).expect("the flooder connects");
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && started.elapsed() < FLOOD {
        for _ in 0..64 {
            socket.write(Message::text(EVENT)).expect("the flooder writes");
        }
        socket.flush().expect("the flooder flushes");
        sent.fetch_add(64, Ordering::Relaxed);
    }
    let _ = socket.close(None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_flooding_peer_leaves_other_tasks_and_clients_their_turn() {
    let server = Server::bind("ws://127.0.0.1:0/fair")
        .await
        .expect("binds")
        .serve(EchoServiceServer::new(Echoer::default()))
        .start()
        .await
        .expect("starts");
    let address = server.address().to_owned();
    let client = EchoServiceClient::connect(&address).await.expect("connects");
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let flooder = std::thread::spawn({
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        move || flood(&address, &stop, &sent)
    });
    until("the flood is under way", || sent.load(Ordering::Relaxed) >= 20_000).await;

    // On this one-thread runtime, the timer and the other client's call only run when the
    // flooded connection's task gives the thread back.
    let asleep = Instant::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let slept = asleep.elapsed();
    let calling = Instant::now();
    let answer = client.echo(Echo::now(7)).await;
    let called = calling.elapsed();
    let flooding = !flooder.is_finished();

    stop.store(true, Ordering::Relaxed);
    flooder.join().expect("the flooder ends");
    assert!(slept < PROMPT, "a 20 ms timer took {slept:?} under the flood");
    assert_eq!(answer.expect("the other client's call is answered"), 7);
    assert!(called < PROMPT, "another client's call took {called:?} under the flood");
    assert!(flooding, "the flood ran throughout: the measurements were taken under it");
}
