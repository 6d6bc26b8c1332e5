//! The client's own event buffers: a subscriber that does not read holds its client back
//! until the server disconnects it as a slow consumer, while other clients are not slowed; a
//! subscriber that reads slowly but keeps up loses nothing; over `memory://` and `ws://`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::EventStream;

#[path = "support/holder.rs"]
mod holder;
pub use holder::*;

/// How many events the back-pressure tests broadcast.
const BURST: u32 = 5_000;

/// Reads `total` ticks, checking each is the next in order and counting them in `seen`;
/// returns how many arrived before the stream ended.
fn read_in_order(
    mut ticks: EventStream<Tick>,
    total: u32,
    seen: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<u32> {
    tokio::spawn(async move {
        let mut next = 0;
        while next < total {
            let Some((tick, _)) = ticks.recv().await else { break };
            assert_eq!(tick.n, next, "tick {next} of {total} arrives in order");
            next += 1;
            seen.store(next as usize, Ordering::SeqCst);
        }
        next
    })
}

/// Broadcasts `total` ticks in batches of 100, after each batch waiting until the reading
/// client has counted them all; returns the time spent inside the broadcasts themselves.
async fn broadcast_in_step(events: &HolderEvents, total: u32, seen: &AtomicUsize) -> Duration {
    let mut publishing = Duration::ZERO;
    for n in 0..total {
        let started = std::time::Instant::now();
        events.tick(Tick { n, ballast: String::new() });
        publishing += started.elapsed();
        let sent = n as usize + 1;
        if sent.is_multiple_of(100) || n + 1 == total {
            let caught_up = tokio::time::timeout(WAIT, async {
                while seen.load(Ordering::SeqCst) < sent {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            let has = seen.load(Ordering::SeqCst);
            assert!(caught_up.is_ok(), "the reader is not slowed: it has {has} of {sent} events");
        }
    }
    publishing
}

/// Reads what a disconnected client's stream still holds: consecutive ticks from 0, then
/// the end of the stream. Returns how many.
async fn held_until_disconnected(mut ticks: EventStream<Tick>) -> u32 {
    let read = tokio::time::timeout(WAIT, async {
        let mut next = 0;
        while let Some((tick, _)) = ticks.recv().await {
            assert_eq!(tick.n, next, "a stalled subscriber's buffer holds the first events");
            next += 1;
        }
        next
    });
    read.await.expect("the stream of a disconnected client ends")
}

/// One client subscribes and never reads, another reads every event: the stalled one is
/// disconnected, the reader gets all [`BURST`] events in order, and publishing never waits.
async fn a_stalled_subscriber_is_disconnected(address: &str) {
    let gate = Gate::default();
    let server = start(address, &gate, |s| s.outbound_queue(256)).await;
    let reader = connect(server.address()).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let reading = read_in_order(reader.tick(), BURST, Arc::clone(&seen));
    let builder = Client::builder().timeout(WAIT).event_buffer(16);
    let stalled = builder.connect(server.address()).await.expect("connects");
    let stalled_ticks = stalled.subscribe::<Tick>();
    clients(&server, 2).await;
    let events = HolderEvents::new(server.broadcaster());
    let publishing = broadcast_in_step(&events, BURST, &seen).await;
    assert!(publishing < Duration::from_secs(2), "{BURST} broadcasts took {publishing:?}");
    let received = tokio::time::timeout(WAIT, reading).await.expect("in time").expect("task");
    assert_eq!(received, BURST, "{address}: the reader gets all {BURST} events in order");
    let mut status = stalled.watch_status();
    let down =
        tokio::time::timeout(WAIT, status.wait_for(|s| *s == ConnectionStatus::Disconnected));
    assert!(down.await.is_ok(), "{address}: the stalled client is disconnected");
    clients(&server, 1).await;
    let held = held_until_disconnected(stalled_ticks).await;
    assert!((1..=16).contains(&held), "{address}: {held} of {BURST} events were buffered");
    assert_eq!(reader.ping(Ping { value: 1 }).await.expect("still served"), 1);
    assert_eq!(reader.inner().status(), ConnectionStatus::Connected, "{address}");
    println!("{address}: the stalled client held {held} of {BURST} events when disconnected");
    server.stop().await;
}

#[tokio::test]
async fn a_memory_client_that_does_not_read_its_events_is_disconnected() {
    a_stalled_subscriber_is_disconnected("memory://limits-stalled").await;
}

#[tokio::test]
async fn a_ws_client_that_does_not_read_its_events_is_disconnected() {
    a_stalled_subscriber_is_disconnected("ws://127.0.0.1:0/stalled").await;
}

#[tokio::test]
async fn a_slow_subscriber_that_keeps_up_loses_nothing() {
    const TOTAL: u32 = 500;
    for address in ["memory://limits-slow-reader", "ws://127.0.0.1:0/slow-reader"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s).await;
        let client = connect(server.address()).await;
        let mut ticks = client.tick();
        clients(&server, 1).await;
        let events = HolderEvents::new(server.broadcaster());
        for n in 0..TOTAL {
            assert_eq!(events.tick(Tick { n, ballast: String::new() }), 1, "reached");
        }
        let read = tokio::time::timeout(WAIT, async {
            for n in 0..TOTAL {
                let (tick, _) = ticks.recv().await.expect("the stream stays open");
                assert_eq!(tick.n, n, "{address}: tick {n} of {TOTAL} arrives in order");
                if n.is_multiple_of(10) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });
        assert!(read.await.is_ok(), "{address}: all {TOTAL} events are read in time");
        assert_eq!(client.inner().status(), ConnectionStatus::Connected, "{address}");
        assert_eq!(server.clients().len(), 1, "{address}: the slow reader stays connected");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_callback_that_calls_its_own_client_keeps_up_with_a_burst() {
    const TOTAL: u32 = 200;
    for address in ["memory://limits-callback", "ws://127.0.0.1:0/callback"] {
        let gate = Gate::default();
        let server = start(address, &gate, |s| s).await;
        let client = connect(server.address()).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let subscription = client.on_tick({
            let (client, answered) = (client.clone(), Arc::clone(&answered));
            move |tick, _| {
                let (client, answered) = (client.clone(), Arc::clone(&answered));
                async move {
                    let value = client.ping(Ping { value: tick.n }).await.expect("answered");
                    assert_eq!(value, tick.n, "each call gets its own answer");
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        clients(&server, 1).await;
        let events = HolderEvents::new(server.broadcaster());
        for n in 0..TOTAL {
            events.tick(Tick { n, ballast: String::new() });
        }
        let done = tokio::time::timeout(WAIT, async {
            while answered.load(Ordering::SeqCst) < TOTAL as usize {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let done = done.await.is_ok();
        let n = answered.load(Ordering::SeqCst);
        assert!(done, "{address}: {n} of {TOTAL} callbacks finished their call");
        drop(subscription);
        server.stop().await;
    }
}
