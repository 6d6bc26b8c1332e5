//! The guide's reactive example (RxJS) over `memory://`: a counter service broadcasts
//! `counterChanged`, and a client turns the events into derived streams with ordinary
//! `futures` operators (the last five values, a running average, only the even values) while
//! its connection status stream is printed as it changes.
//!
//! Run with `cargo run -p examples --example reactive`.

use std::error::Error;
use std::fmt::Display;
use std::pin::pin;
use std::time::Duration;

use examples::reactive::{
    average, evens, last_n, running_average, start_counter_service, values, CounterError,
    CounterServiceClient, GetCount, Increment, Reset,
};
use futures_util::{Stream, StreamExt};
use messaging_runtime::{CallError, Client, ConnectionStatus, ErrorCode};
use tokio::sync::mpsc;
use tokio::time::timeout;

type Outcome<T = ()> = Result<T, Box<dyn Error>>;

/// Bounds every wait of the demo: a call, an event, a status change.
const WAIT: Duration = Duration::from_secs(5);

const ADDRESS: &str = "memory://reactive-demo";

#[tokio::main]
async fn main() -> Outcome {
    println!(
        "Magic Button Messaging: reactive streams, the guide's RxJS example with futures::Stream"
    );
    let server = start_counter_service(ADDRESS).await?;
    println!("1. Counter service on {}", server.address());

    let client = Client::builder().timeout(WAIT).connect(ADDRESS).await?;
    let counter = CounterServiceClient::from_client(client);
    println!("2. Client connected; a task prints its status stream as it changes:");
    let mut statuses = print_statuses(counter.inner());
    wait_for_status(&mut statuses, ConnectionStatus::Connected).await?;

    // Each derived stream is its own subscription to counterChanged, built from operators.
    println!("3. Derived streams of counterChanged:");
    println!("   last 5  = last_n(values(counter_changed()), 5)        (scan over a VecDeque)");
    println!("   average = running_average(values(counter_changed()))  (scan over sum and count)");
    println!("   even    = evens(values(counter_changed()))            (filter)");
    let mut recent_and_average = pin!(last_n(values(counter.counter_changed()), 5)
        .zip(running_average(values(counter.counter_changed()))));
    let mut even = pin!(evens(values(counter.counter_changed())));

    println!("4. Increments, and what each derived stream shows after each:");
    for by in [2, 3, 5, 4, 6, 10, 1] {
        let count = counter.increment(Increment { by }).await?;
        println!("   increment by {by:>2} -> counter {}", count.value);
        show(&mut recent_and_average, &mut even, count.value).await?;
    }

    println!("5. Errors publish nothing:");
    match counter.increment(Increment { by: 0 }).await {
        Err(CallError::Contract(e @ CounterError::InvalidStep { .. })) => {
            println!("   increment by 0 -> {} ({}): {e}", e.code(), e.status());
        }
        other => return Err(format!("expected INVALID_STEP, got {other:?}").into()),
    }
    let count = counter.get_count(GetCount {}).await?;
    println!("   getCount -> {} (unchanged; no counterChanged went out)", count.value);

    println!("6. Reset:");
    let count = counter.reset(Reset {}).await?;
    println!("   reset -> counter {}", count.value);
    show(&mut recent_and_average, &mut even, count.value).await?;

    println!("7. Stopping the server:");
    server.stop().await;
    wait_for_status(&mut statuses, ConnectionStatus::Disconnected).await?;
    let ended = next(&mut recent_and_average, "the derived streams").await?.is_none()
        && next(&mut even, "the even stream").await?.is_none();
    if !ended {
        return Err("an event stream went on after the connection ended".into());
    }
    println!("   every derived stream ended with the connection");
    println!("Done.");
    Ok(())
}

/// Prints what the derived streams show for the counter's new `value`: the window and the
/// running average always move; the even stream yields only for an even value (an odd one
/// is filtered out, which the next even value shown proves).
async fn show(
    recent_and_average: &mut (impl Stream<Item = (Vec<i64>, f64)> + Unpin),
    even: &mut (impl Stream<Item = i64> + Unpin),
    value: i64,
) -> Outcome {
    let (recent, running) =
        next(recent_and_average, "counterChanged").await?.ok_or("the event stream ended")?;
    let window = average(&recent).unwrap_or_default();
    println!("     last 5: {recent:?}, their average {window:.2}; running average {running:.2}");
    if value % 2 == 0 {
        let shown = next(even, "an even value").await?.ok_or("the even stream ended")?;
        println!("     even: {shown}");
    } else {
        println!("     even: (filtered out)");
    }
    Ok(())
}

/// The next item of `stream`, waiting at most [`WAIT`].
async fn next<S: Stream + Unpin>(stream: &mut S, what: impl Display) -> Outcome<Option<S::Item>> {
    timeout(WAIT, stream.next()).await.map_err(|_| format!("no {what} within {WAIT:?}").into())
}

/// Spawns a task that prints every status of `client`'s status stream as it changes and
/// hands it on, so the demo can wait until it has been printed.
fn print_statuses(client: &Client) -> mpsc::UnboundedReceiver<ConnectionStatus> {
    let mut stream = client.status_stream();
    let (seen, statuses) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(status) = stream.next().await {
            println!("   [status] {status}");
            if seen.send(status).is_err() {
                break;
            }
        }
    });
    statuses
}

/// Waits, at most [`WAIT`], until the status task has printed `wanted`.
async fn wait_for_status(
    statuses: &mut mpsc::UnboundedReceiver<ConnectionStatus>,
    wanted: ConnectionStatus,
) -> Outcome {
    timeout(WAIT, async {
        while let Some(status) = statuses.recv().await {
            if status == wanted {
                return Ok(());
            }
        }
        Err(format!("the status stream ended before {wanted}"))
    })
    .await
    .map_err(|_| format!("the status did not become {wanted} within {WAIT:?}"))??;
    Ok(())
}
