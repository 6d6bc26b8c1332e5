//! A contract with events and no requests needs no error type; the typed client tells its
//! status and closes without `.inner()`.

use messaging_runtime::prelude::*;

/// A temperature reading.
#[event]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reading {
    /// Degrees Celsius.
    pub celsius: i32,
}

/// A sensor feed: events only, so no `error = ..`.
#[contract(name = "sensor-feed", version = "1.0.0", events(Reading))]
pub trait SensorFeed {}

struct Feed;

impl SensorFeed for Feed {}

#[tokio::test]
async fn an_events_only_contract_publishes_without_an_error_type() {
    let server = Server::bind("memory://events-only").await.expect("binds");
    let server = server.serve(SensorFeedServer::new(Feed)).start().await.expect("starts");
    let client = SensorFeedClient::connect(server.address()).await.expect("connects");
    assert!(client.is_connected(), "{:?}", client.status());
    assert_eq!(client.address(), "memory://events-only");
    let mut readings = client.reading();
    let mut all = client.events();
    let feed = SensorFeedEvents::new(server.broadcaster());
    assert_eq!(feed.reading(Reading { celsius: 21 }), 1, "one client reached");
    let wait = std::time::Duration::from_secs(5);
    let got = tokio::time::timeout(wait, readings.recv()).await.expect("in time");
    assert_eq!(got.map(|(r, _)| r.celsius), Some(21));
    let got = tokio::time::timeout(wait, all.recv()).await.expect("in time");
    let Some((SensorFeedEvent::Reading(reading), _)) = got else { panic!("a reading") };
    assert_eq!(reading.celsius, 21);
    assert!(SensorFeedContract::DESCRIPTOR.errors.is_empty(), "no error catalog");
    client.close();
    assert!(!client.is_connected());
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
    server.stop().await;
}
