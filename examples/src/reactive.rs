//! The guide's reactive example (RxJS in TypeScript): a counter service that publishes
//! `counterChanged`, and the stream operators its clients combine.
//!
//! There is no Observable type here: a generated client's `counter_changed()` is already a
//! [`Stream`] of `(CounterChanged, MessageContext)`, and the client's
//! `status_stream()` a [`Stream`] of its connection status, so the ordinary `futures`
//! combinators (`map`, `scan`, `filter`, `zip`, ...) are the reactive toolkit. The functions
//! below are small compositions of them, generic over any `Stream`:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::pin::pin;
//!
//! use examples::reactive::{last_n, start_counter_service, values, CounterServiceClient, Increment};
//! use futures_util::StreamExt;
//!
//! let server = start_counter_service("memory://doc-counter").await?;
//! let counter = CounterServiceClient::connect("memory://doc-counter").await?;
//! let mut recent = pin!(last_n(values(counter.counter_changed()), 5));
//! counter.increment(Increment { by: 3 }).await?;
//! assert_eq!(recent.next().await, Some(vec![3]));
//! server.stop().await;
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::now_millis;
use futures_util::Stream;
use futures_util::StreamExt;
use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;

use crate::StartError;

/// Adds `by` to the counter; publishes `counterChanged`.
#[request("increment", response = Count)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Increment {
    /// How much to add (negative counts down; zero is refused).
    pub by: i64,
}

/// Sets the counter back to zero; publishes `counterChanged`.
#[request("reset", response = Count)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {}

/// Reads the counter.
#[request("getCount", response = Count)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetCount {}

/// The counter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    /// The value now.
    pub value: i64,
}

/// The counter changed.
#[event("counterChanged")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterChanged {
    /// The new value.
    pub value: i64,
    /// The value before the change.
    pub previous: i64,
    /// Milliseconds since the Unix epoch when it changed.
    pub timestamp: u64,
}

/// What the counter service can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterError {
    /// An increment of zero changes nothing, so it is refused.
    #[error(status = 400, message = "Cannot increment by {by}: the step must not be zero")]
    InvalidStep {
        /// The step asked for.
        by: i64,
    },
    /// The sum does not fit in an `i64`.
    #[error(status = 422, message = "Incrementing {value} by {by} overflows")]
    Overflow {
        /// The value before.
        value: i64,
        /// The step asked for.
        by: i64,
    },
}

/// The counter service: one shared counter whose every change is broadcast.
#[contract(
    name = "counter-service",
    version = "1.0.0",
    error = CounterError,
    events(CounterChanged)
)]
pub trait CounterService {
    /// Adds to the counter; publishes `counterChanged`.
    async fn increment(&self, req: Increment, cx: Context) -> Result<Count, CounterError>;

    /// Sets the counter to zero; publishes `counterChanged`.
    async fn reset(&self, req: Reset, cx: Context) -> Result<Count, CounterError>;

    /// Reads the counter.
    async fn get_count(&self, req: GetCount, cx: Context) -> Result<Count, CounterError>;
}

/// The counter service's implementation: the value, and the publisher of its changes.
#[derive(Debug)]
pub struct Counter {
    value: Mutex<i64>,
    events: CounterServiceEvents,
}

impl Counter {
    /// A counter at zero that publishes through `events`.
    pub fn new(events: CounterServiceEvents) -> Self {
        Self { value: Mutex::new(0), events }
    }

    fn lock(&self) -> MutexGuard<'_, i64> {
        self.value.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the value and publishes the change while still holding the lock, so events
    /// go out in the order the values were set.
    fn set(&self, value: &mut i64, next: i64) -> Count {
        let previous = std::mem::replace(value, next);
        self.events.counter_changed(CounterChanged {
            value: next,
            previous,
            timestamp: now_millis(),
        });
        Count { value: next }
    }
}

impl CounterService for Counter {
    async fn increment(&self, req: Increment, _cx: Context) -> Result<Count, CounterError> {
        if req.by == 0 {
            return Err(CounterError::invalid_step(req.by));
        }
        let mut value = self.lock();
        let next =
            value.checked_add(req.by).ok_or_else(|| CounterError::overflow(*value, req.by))?;
        Ok(self.set(&mut value, next))
    }

    async fn reset(&self, _req: Reset, _cx: Context) -> Result<Count, CounterError> {
        let mut value = self.lock();
        Ok(self.set(&mut value, 0))
    }

    async fn get_count(&self, _req: GetCount, _cx: Context) -> Result<Count, CounterError> {
        Ok(Count { value: *self.lock() })
    }
}

/// Starts the counter service at `address`.
pub async fn start_counter_service(address: &str) -> Result<RunningServer, StartError> {
    let server = Server::bind(address).await?;
    let counter = Counter::new(CounterServiceEvents::new(server.broadcaster()));
    Ok(server.serve(CounterServiceServer::new(counter)).start().await?)
}

/// The counter values carried by a stream of `counterChanged` events (RxJS
/// `map(event => event.payload.counter)`).
pub fn values<S>(events: S) -> impl Stream<Item = i64>
where
    S: Stream<Item = (CounterChanged, MessageContext)>,
{
    events.map(|(event, _)| event.value)
}

/// After each item, the last `n` items so far, oldest first (RxJS `scan` keeping a window).
pub fn last_n<S>(stream: S, n: usize) -> impl Stream<Item = Vec<S::Item>>
where
    S: Stream,
    S::Item: Clone,
{
    stream.scan(VecDeque::with_capacity(n), move |window, item| {
        window.push_back(item);
        while window.len() > n {
            window.pop_front();
        }
        future::ready(Some(window.iter().cloned().collect()))
    })
}

/// After each value, the mean of every value so far.
pub fn running_average<S>(stream: S) -> impl Stream<Item = f64>
where
    S: Stream<Item = i64>,
{
    stream.scan((0_i128, 0_u64), |(sum, count), value| {
        *sum += i128::from(value);
        *count += 1;
        future::ready(Some(*sum as f64 / *count as f64))
    })
}

/// Only the even values (RxJS `filter`).
pub fn evens<S>(stream: S) -> impl Stream<Item = i64>
where
    S: Stream<Item = i64>,
{
    stream.filter(|value| future::ready(value % 2 == 0))
}

/// The mean of `values`, `None` when there are none (the guide's average of the window).
pub fn average(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().copied().map(i128::from).sum();
    Some(sum as f64 / values.len() as f64)
}
