//! The guide's reactive example (examples::reactive): the stream operators on plain streams
//! and on a live counter service's `counterChanged` events, and the connection status stream.

use std::pin::pin;
use std::time::Duration;

use examples::reactive::{
    average, evens, last_n, running_average, start_counter_service, values, CounterChanged,
    CounterError, CounterServiceClient, GetCount, Increment, Reset,
};
use futures_util::stream::{self, Stream, StreamExt};
use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;
use tokio::time::timeout;

/// Bounds every wait: calls time out after this, event and status waits give up after this.
const WAIT: Duration = Duration::from_secs(10);

/// A counter service at `memory://reactive-{name}` and a client of it.
async fn counter(name: &str) -> (RunningServer, CounterServiceClient) {
    let address = format!("memory://reactive-{name}");
    let server = start_counter_service(&address).await.expect("the counter service starts");
    let client =
        Client::builder().timeout(WAIT).connect(&address).await.expect("the service is bound");
    (server, CounterServiceClient::from_client(client))
}

/// The next item of `stream`, which must come within [`WAIT`].
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    timeout(WAIT, stream.next()).await.expect("the stream yields within the bound")
}

async fn increment(client: &CounterServiceClient, by: i64) -> i64 {
    client.increment(Increment { by }).await.expect("the increment succeeds").value
}

#[tokio::test]
async fn last_n_holds_the_last_five_values_in_order() {
    let windows: Vec<Vec<i32>> = last_n(stream::iter(1..=8), 5).collect().await;
    assert_eq!(
        windows,
        vec![
            vec![1],
            vec![1, 2],
            vec![1, 2, 3],
            vec![1, 2, 3, 4],
            vec![1, 2, 3, 4, 5],
            vec![2, 3, 4, 5, 6],
            vec![3, 4, 5, 6, 7],
            vec![4, 5, 6, 7, 8],
        ]
    );
    let empty: Vec<Vec<i32>> = last_n(stream::iter(1..=3), 0).collect().await;
    assert_eq!(empty, vec![Vec::<i32>::new(); 3]);
}

#[tokio::test]
async fn running_average_and_evens_on_plain_streams() {
    let averages: Vec<f64> = running_average(stream::iter([2, 4, 9, -3])).collect().await;
    assert_eq!(averages, vec![2.0, 3.0, 5.0, 3.0]);
    let even: Vec<i64> = evens(stream::iter([1, 2, 3, 4, -6, 7, 0])).collect().await;
    assert_eq!(even, vec![2, 4, -6, 0]);
    assert_eq!(average(&[14, 20, 30, 31, 0]), Some(19.0));
    assert_eq!(average(&[]), None);
}

#[tokio::test]
async fn counter_changed_events_through_the_operators() {
    let (server, client) = counter("operators").await;
    let mut window = pin!(last_n(values(client.counter_changed()), 5));
    let mut averages = pin!(running_average(values(client.counter_changed())));
    let mut even = pin!(evens(values(client.counter_changed())));
    let mut raw = client.counter_changed();

    let steps = [2, 3, 5, 4, 6, 10, 1];
    let mut expected = Vec::new();
    for by in steps {
        expected.push(increment(&client, by).await);
    }
    assert_eq!(expected, vec![2, 5, 10, 14, 20, 30, 31]);

    let mut windows = Vec::new();
    let mut means = Vec::new();
    for _ in &steps {
        windows.push(next(&mut window).await.expect("a window per change"));
        means.push(next(&mut averages).await.expect("an average per change"));
    }
    assert_eq!(windows.last(), Some(&vec![10, 14, 20, 30, 31]));
    assert_eq!(windows[4], vec![2, 5, 10, 14, 20]);
    assert!(windows.iter().all(|w| w.len() <= 5));
    assert_eq!(means, vec![2.0, 3.5, 17.0 / 3.0, 7.75, 10.2, 13.5, 16.0]);
    for value in [2, 10, 14, 20, 30] {
        assert_eq!(next(&mut even).await, Some(value), "odd values are filtered out");
    }

    // The events carry the previous value too.
    let (first, _) = next(&mut raw).await.expect("the first change");
    assert_eq!((first.previous, first.value), (0, 2));

    // A refused increment publishes nothing: the next change seen is the reset's.
    let refused = client.increment(Increment { by: 0 }).await.expect_err("zero is refused");
    assert_eq!(refused.into_contract(), Some(CounterError::invalid_step(0)));
    assert_eq!(client.get_count(GetCount {}).await.expect("getCount").value, 31);
    assert_eq!(client.reset(Reset {}).await.expect("reset").value, 0);
    assert_eq!(next(&mut window).await, Some(vec![14, 20, 30, 31, 0]));
    assert_eq!(next(&mut averages).await, Some(14.0));
    assert_eq!(next(&mut even).await, Some(0));
    let mut rest = Vec::new();
    while rest.len() < steps.len() {
        let (CounterChanged { value, previous, .. }, _) =
            next(&mut raw).await.expect("every change is seen");
        rest.push((previous, value));
    }
    assert_eq!(rest.last(), Some(&(31, 0)));

    server.stop().await;
    assert_eq!(next(&mut window).await, None, "the derived streams end with the connection");
    assert_eq!(next(&mut even).await, None);
}

#[tokio::test]
async fn status_stream_reports_connected_then_disconnected_when_the_server_stops() {
    let (server, client) = counter("status").await;
    let mut statuses = client.inner().status_stream();
    assert_eq!(next(&mut statuses).await, Some(ConnectionStatus::Connected));
    assert_eq!(increment(&client, 1).await, 1, "the connection is usable");

    server.stop().await;
    assert_eq!(next(&mut statuses).await, Some(ConnectionStatus::Disconnected));
    assert_eq!(client.inner().status(), ConnectionStatus::Disconnected);
    let after = client.get_count(GetCount {}).await;
    assert!(
        matches!(after, Err(CallError::Disconnected)),
        "a call after the stop fails at once: {after:?}"
    );
}

#[tokio::test]
async fn two_clients_each_see_every_change() {
    let (server, first) = counter("two-clients").await;
    let second = CounterServiceClient::connect(server.address()).await.expect("a second client");
    let mut seen_by_second = pin!(last_n(values(second.counter_changed()), 5));
    increment(&first, 7).await;
    increment(&second, -2).await;
    assert_eq!(next(&mut seen_by_second).await, Some(vec![7]));
    assert_eq!(next(&mut seen_by_second).await, Some(vec![7, 5]));
    server.stop().await;
}
