//! Durable events on JetStream, against a real nats-server: a subscriber that was down gets
//! every event it missed, in order; an event not acknowledged is delivered again.

#[path = "conformance/contract.rs"]
#[allow(dead_code, reason = "the suite's contract; these tests use part of it")]
pub mod contract;
#[path = "support/nats.rs"]
mod nats_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use messaging_runtime::prelude::*;
use messaging_runtime::transport::nats::{Delivery, DurableSubscription, NatsTransport};
use messaging_runtime::RunningServer;
use messaging_tests::wait::until;

use contract::*;
use nats_server::NatsServer;

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

async fn storing_server(url: &str) -> RunningServer {
    let transport = NatsTransport::new().store_events(true);
    let server = Server::bind_with(transport, url).await.expect("binds");
    server.serve(ConformanceServer::new(Service::default())).start().await.expect("starts")
}

async fn next(subscription: &mut DurableSubscription<Alpha>) -> Delivery<Alpha> {
    let next = tokio::time::timeout(WAIT, subscription.next()).await.expect("an event in time");
    next.expect("the consumer goes on").expect("a readable event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_subscriber_gets_every_event_it_missed_in_order() {
    let broker = NatsServer::start();
    let running = storing_server(&broker.url()).await;
    let events = ConformanceEvents::new(running.broadcaster());
    let durable = NatsTransport::new().durable(&broker.url(), "conformance").await.expect("opens");
    let mut subscription = durable.subscribe::<Alpha>("audit").await.expect("subscribes");
    events.alpha(Alpha { n: 0 });
    let first = next(&mut subscription).await;
    assert_eq!((first.event.n, first.delivered), (0, 1));
    first.ack().await.expect("acknowledged");
    // The subscriber goes down; events go on being published.
    drop(subscription);
    for n in 1..=5 {
        events.alpha(Alpha { n });
    }
    let mut again = durable.subscribe::<Alpha>("audit").await.expect("subscribes again");
    for n in 1..=5 {
        let delivery = next(&mut again).await;
        assert_eq!((delivery.event.n, delivery.delivered), (n, 1), "every missed event, in order");
        delivery.ack().await.expect("acknowledged");
    }
    // `run` goes on from there, acknowledging each event after its handler ran.
    let seen: Arc<Mutex<Vec<u32>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let running_handler = tokio::spawn(again.run(move |alpha: Alpha, _cx| {
        let sink = Arc::clone(&sink);
        async move { sink.lock().expect("not poisoned").push(alpha.n) }
    }));
    for n in 6..=8 {
        events.alpha(Alpha { n });
    }
    until("the handler saw the events", || seen.lock().expect("not poisoned").len() >= 3).await;
    assert_eq!(*seen.lock().expect("not poisoned"), [6, 7, 8]);
    running_handler.abort();
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_not_acknowledged_is_delivered_again_before_the_next() {
    let broker = NatsServer::start();
    let running = storing_server(&broker.url()).await;
    let events = ConformanceEvents::new(running.broadcaster());
    let transport = NatsTransport::new().ack_wait(Duration::from_millis(300));
    let durable = transport.durable(&broker.url(), "conformance").await.expect("opens");
    let mut subscription = durable.subscribe::<Alpha>("flaky").await.expect("subscribes");
    events.alpha(Alpha { n: 10 });
    events.alpha(Alpha { n: 11 });
    let unacknowledged = next(&mut subscription).await;
    assert_eq!(unacknowledged.event.n, 10);
    // The handler "failed": no acknowledgement. The same event comes back first.
    drop(unacknowledged);
    let again = next(&mut subscription).await;
    assert_eq!((again.event.n, again.delivered), (10, 2), "redelivered after the ack wait");
    again.ack().await.expect("acknowledged");
    let after = next(&mut subscription).await;
    assert_eq!((after.event.n, after.delivered), (11, 1));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_and_options_are_refused_clearly() {
    let broker = NatsServer::start();
    let err = NatsTransport::new().durable(&broker.url(), "bad.name").await.expect_err("refused");
    assert!(err.to_string().contains("cannot name a NATS service"), "{err}");
    let durable = NatsTransport::new().durable(&broker.url(), "conformance").await.expect("opens");
    let err = durable.subscribe::<Alpha>("two words").await.expect_err("refused");
    assert!(err.to_string().contains("consumer name"), "{err}");
    let zero = NatsTransport::new().ack_wait(Duration::ZERO);
    let err = zero.durable(&broker.url(), "conformance").await.expect_err("refused");
    assert!(err.to_string().contains("ack_wait"), "{err}");
}
