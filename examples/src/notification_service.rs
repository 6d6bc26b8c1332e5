//! The guide's notification service: listens for the order service's events, fetches the
//! order with `getOrderById` and "sends" an e-mail, which here means printing it and
//! recording it in a log that tests and the demo can wait on.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use contracts::order::{
    GetOrderById, Order, OrderCreated, OrderServiceClient, OrderShipped, OrderStatusChanged,
};
use messaging_runtime::{Subscription, TransportError};
use tokio::sync::watch;

/// The `source` the notification service's client puts in its messages.
pub const SOURCE: &str = "notification-service";

/// Which e-mail was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// After `orderCreated`.
    OrderConfirmation,
    /// After `orderStatusChanged`.
    StatusUpdate,
    /// After `orderShipped`.
    ShippingNotification,
}

/// One e-mail the service would have sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Which e-mail.
    pub kind: NotificationKind,
    /// The recipient.
    pub customer_id: String,
    /// The order it is about.
    pub order_id: String,
    /// The e-mail's text, as printed.
    pub text: String,
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Fewer notifications arrived than expected before the time ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTimeout {
    /// How many were expected.
    pub expected: usize,
    /// What arrived.
    pub received: Vec<Notification>,
}

impl fmt::Display for NotificationTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} notifications, {} arrived", self.expected, self.received.len())
    }
}

impl std::error::Error for NotificationTimeout {}

/// The e-mail log: a watch channel, so waiting for a count needs no polling.
#[derive(Debug)]
struct Outbox {
    log: watch::Sender<Vec<Notification>>,
}

impl Outbox {
    fn send(&self, kind: NotificationKind, order: &Order, text: String) {
        // Logged before printed: whoever reads the line and then asks for the count must
        // find this e-mail counted.
        let line = format!("    [notification-service] {text}");
        let notification = Notification {
            kind,
            customer_id: order.customer_id.clone(),
            order_id: order.id.clone(),
            text,
        };
        self.log.send_modify(|log| log.push(notification));
        println!("{line}");
    }
}

/// The notification service: three subscriptions on an order service client. Dropping it
/// (or [`NotificationService::stop`]) unsubscribes.
#[derive(Debug)]
pub struct NotificationService {
    outbox: Arc<Outbox>,
    subscriptions: Vec<Subscription>,
    /// Keeps the link logged in, when it needs a login.
    login: Option<crate::auth::StayLoggedIn>,
}

impl NotificationService {
    /// Connects to the order service at `address` as `notification-service` and starts
    /// listening, without logging in (for an order service that asks for none).
    pub async fn connect(address: &str) -> Result<Self, TransportError> {
        let client = crate::dependency_link(SOURCE, crate::ORDER_CONTRACT).connect(address).await?;
        Ok(Self::start(&OrderServiceClient::from_client(client)))
    }

    /// Connects to the order service at `address`, logs in as
    /// [`crate::auth::NOTIFICATION_SERVICE`] (again after each reconnection; fetching an
    /// order needs `orders:read`) and starts listening.
    pub async fn connect_logged_in(address: &str) -> Result<Self, crate::StartError> {
        let client = crate::dependency_link(SOURCE, crate::ORDER_CONTRACT).connect(address).await?;
        let login = crate::log_in(&client, crate::auth::NOTIFICATION_SERVICE).await?;
        let mut service = Self::start(&OrderServiceClient::from_client(client));
        service.login = Some(login);
        Ok(service)
    }

    /// Starts listening on an order service client.
    pub fn start(orders: &OrderServiceClient) -> Self {
        let outbox = Arc::new(Outbox { log: watch::Sender::new(Vec::new()) });
        let subscriptions = vec![
            on_order_created(orders, &outbox),
            on_status_changed(orders, &outbox),
            on_order_shipped(orders, &outbox),
        ];
        Self { outbox, subscriptions, login: None }
    }

    /// Every notification sent so far, in the order they were sent.
    pub fn sent(&self) -> Vec<Notification> {
        self.outbox.log.borrow().clone()
    }

    /// Waits until at least `count` notifications have been sent, at most `timeout`.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Notification>, NotificationTimeout> {
        let mut log = self.outbox.log.subscribe();
        let arrived = tokio::time::timeout(timeout, log.wait_for(|sent| sent.len() >= count)).await;
        match arrived {
            Ok(Ok(sent)) => Ok(sent.clone()),
            _ => Err(NotificationTimeout { expected: count, received: self.sent() }),
        }
    }

    /// Stops listening.
    pub fn stop(self) {
        for subscription in self.subscriptions {
            subscription.unsubscribe();
        }
    }
}

/// Fetches the order an event is about; a failure is printed and the e-mail skipped.
async fn fetch(orders: &OrderServiceClient, order_id: &str) -> Option<Order> {
    match orders.get_order_by_id(GetOrderById { order_id: order_id.to_owned() }).await {
        Ok(order) => Some(order),
        Err(e) => {
            println!("    [notification-service] could not fetch order {order_id}: {e}");
            None
        }
    }
}

fn on_order_created(orders: &OrderServiceClient, outbox: &Arc<Outbox>) -> Subscription {
    let (client, outbox) = (orders.clone(), Arc::clone(outbox));
    orders.on_order_created(move |event: OrderCreated, _cx| {
        let (client, outbox) = (client.clone(), Arc::clone(&outbox));
        async move {
            let Some(order) = fetch(&client, &event.order_id).await else { return };
            let text = format!(
                "Sending order confirmation email to customer {} for order {} ({} item{}, total {:.2})",
                event.customer_id,
                event.order_id,
                order.items.len(),
                if order.items.len() == 1 { "" } else { "s" },
                event.total_amount
            );
            outbox.send(NotificationKind::OrderConfirmation, &order, text);
        }
    })
}

fn on_status_changed(orders: &OrderServiceClient, outbox: &Arc<Outbox>) -> Subscription {
    let (client, outbox) = (orders.clone(), Arc::clone(outbox));
    orders.on_order_status_changed(move |event: OrderStatusChanged, _cx| {
        let (client, outbox) = (client.clone(), Arc::clone(&outbox));
        async move {
            let Some(order) = fetch(&client, &event.order_id).await else { return };
            let text = format!(
                "Sending status update email to customer {}: Order {} is now {} (was {})",
                order.customer_id, event.order_id, event.new_status, event.previous_status
            );
            outbox.send(NotificationKind::StatusUpdate, &order, text);
        }
    })
}

fn on_order_shipped(orders: &OrderServiceClient, outbox: &Arc<Outbox>) -> Subscription {
    let (client, outbox) = (orders.clone(), Arc::clone(outbox));
    orders.on_order_shipped(move |event: OrderShipped, _cx| {
        let (client, outbox) = (client.clone(), Arc::clone(&outbox));
        async move {
            let Some(order) = fetch(&client, &event.order_id).await else { return };
            let text = format!(
                "Sending shipping notification to customer {} for order {}: tracking number {}, carrier {}",
                order.customer_id, event.order_id, event.tracking_number, event.carrier
            );
            outbox.send(NotificationKind::ShippingNotification, &order, text);
        }
    })
}
