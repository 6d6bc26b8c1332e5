//! The guide's notification service as a process of its own: it subscribes to the order
//! service at `--orders` and prints one line per e-mail as it goes out.
//!
//! ```sh
//! cargo run -p examples --example notification-service -- --orders ws://127.0.0.1:43522/
//! ```
//!
//! It logs in to the order service as `notification-service` (password in
//! `$DEMO_NOTIFICATION_SERVICE_PASSWORD`, or the demo default the order service's own default
//! matches), again after each reconnection. It serves nothing, so it takes no `--listen`. The first line of output says it is
//! subscribed: from then on no order event is missed. It runs until Ctrl-C or SIGTERM, and
//! stops with a failure status when the order service goes away (the client does not
//! reconnect).

use std::process::ExitCode;

use contracts::order::{GetOrderById, OrderServiceClient};
use examples::auth::{StayLoggedIn, NOTIFICATION_SERVICE};
use examples::cli::{self, Flag, Spec};
use examples::notification_service::SOURCE;
use examples::NotificationService;
use messaging_runtime::{CallError, ConnectionStatus};

const SPEC: Spec = Spec {
    name: "notification-service",
    about: "The notification service on its own: e-mails customers about every order event.",
    flags: &[
        Flag::value("--orders", "URL", "the order service, e.g. ws://127.0.0.1:43522/").required(),
        Flag::switch("--exit-on-stdin-close", "also stop when stdin reaches its end"),
    ],
};

#[tokio::main]
async fn main() -> ExitCode {
    let args = SPEC.parse_or_exit();
    let address = args.required("--orders");
    let (orders, _login) = match connect(address).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("notification-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let notifications = NotificationService::start(&orders);
    cli::announce(&format!(
        "notification-service: subscribed to orderCreated, orderStatusChanged, orderShipped at {address}"
    ));
    let code = tokio::select! {
        why = cli::stop_signal(args.switch("--exit-on-stdin-close")) => {
            cli::announce(&format!("notification-service: {why}, stopping"));
            ExitCode::SUCCESS
        }
        () = report_link(&orders, address) => {
            eprintln!("notification-service: gave up on the order service at {address}");
            ExitCode::FAILURE
        }
    };
    let sent = notifications.sent().len();
    notifications.stop();
    cli::announce(&format!("notification-service: {sent} e-mails sent"));
    code
}

/// Says when the link to the order service goes down and comes back (it reconnects by
/// itself, and the subscriptions carry on); returns only if the link gives up.
async fn report_link(orders: &OrderServiceClient, address: &str) {
    let mut status = orders.inner().watch_status();
    loop {
        if status.changed().await.is_err() {
            return;
        }
        let now = *status.borrow_and_update();
        match now {
            ConnectionStatus::Reconnecting => {
                eprintln!("notification-service: lost the order service at {address}; reconnecting")
            }
            ConnectionStatus::Connected => {
                eprintln!("notification-service: reconnected to the order service at {address}");
            }
            ConnectionStatus::Error | ConnectionStatus::Disconnected => return,
            _ => {}
        }
    }
}

/// Connects to the order service, logs in, and makes one round trip, so the server has
/// registered this connection (and will send it every event) before the service says it is
/// ready.
async fn connect(address: &str) -> Result<(OrderServiceClient, StayLoggedIn), String> {
    let client = examples::dependency_link(SOURCE, examples::ORDER_CONTRACT)
        .connect(address)
        .await
        .map_err(|e| format!("cannot reach the order service at {address}: {e}"))?;
    let login = examples::log_in(&client, NOTIFICATION_SERVICE).await.map_err(|e| e.to_string())?;
    let orders = OrderServiceClient::from_client(client);
    let probe = GetOrderById { order_id: "notification-service-probe".into() };
    match orders.get_order_by_id(probe).await {
        Ok(_) | Err(CallError::Contract(_)) => Ok((orders, login)),
        Err(e) => Err(format!("the order service at {address} does not answer: {e}")),
    }
}
