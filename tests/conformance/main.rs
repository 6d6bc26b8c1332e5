//! One set of behaviour tests, written once and run unchanged on every transport: requests,
//! typed errors, events both ways and their order, cancellation, deadlines, lost connections,
//! reconnection, limits and close. A transport is done when it passes.

mod cases;
#[path = "../support/certificate.rs"]
pub mod certificate;
pub mod contract;
mod fixtures;
#[path = "../support/nats.rs"]
pub mod nats_server;

/// Instantiates every case for every transport: `all::memory::requests_...`, `all::ws::...`
macro_rules! conformance {
    ($module:ident $attrs:tt : $($transport:ident),* ; $cases:tt) => {
        mod $module {
            $( conformance!(@transport $attrs $transport $cases); )*
        }
    };
    (@transport $attrs:tt $transport:ident [$($case:ident),* $(,)?]) => {
        mod $transport {
            $( conformance!(@case $attrs $transport $case); )*
        }
    };
    (@case [$($attr:tt)*] $transport:ident $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $case() {
            let fixture = crate::fixtures::Fixture::new(stringify!($transport));
            crate::cases::$case(&fixture).await;
        }
    };
}

conformance! {
    all []: memory, ws, wss, tcp, nats;
    [requests_in_flight_are_answered_and_matched,
    contract_errors_come_back_as_the_same_variant,
    events_reach_every_client_one_client_and_the_server,
    events_of_one_type_keep_their_order,
    events_of_different_types_keep_their_order,
    one_stream_of_every_event_keeps_their_order,
    a_client_knows_the_id_its_server_serves_it_under,
    a_dropped_call_cancels_its_handler,
    a_call_past_its_deadline_times_out_and_its_handler_is_cancelled,
    a_handler_sees_the_callers_timestamp_and_deadline,
    a_lost_connection_fails_waiting_calls_at_once,
    a_reconnecting_client_resubscribes_and_calls_again,
    requests_over_the_in_flight_limit_are_overloaded,
    a_stopped_server_disconnects_its_clients_and_a_closed_client_calls_nothing,
    ]
}
