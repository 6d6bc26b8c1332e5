//! Both halves of the dashboard server: the [`DashboardService`] handlers that answer
//! browsers from the [`OrderBook`], and the follower that keeps the book up to date from
//! the order service's events and forwards them.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use contracts::dashboard::{
    DashboardError, DashboardService, DashboardServiceEvents, DashboardStats, GetDashboardStats,
    GetOrderById, GetRecentOrders, OrderView, RecentOrders, Shipment, StatsUpdated,
    DEFAULT_RECENT_ORDERS, MAX_RECENT_ORDERS,
};
use contracts::order::{
    self, OrderCreated, OrderServiceClient, OrderShipped, OrderStatus, OrderStatusChanged,
};
use messaging_runtime::{Client, Context, EventStream, MessageContext};

use super::view::OrderBook;
use super::DashboardStartError;
use crate::auth::ServiceAccount;

/// The `source` the dashboard's order service client puts in its messages.
pub const SOURCE: &str = "dashboard-server";

/// How long the follower waits for the order service to answer one `getOrderById`.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The shortest and longest wait between two attempts to reconnect to the order service.
const RECONNECT_DELAYS: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

/// The order book, shared by the handlers and the follower.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedBook(Arc<Mutex<OrderBook>>);

impl SharedBook {
    pub(crate) fn lock(&self) -> MutexGuard<'_, OrderBook> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The request handlers: every answer comes from the book.
#[derive(Debug)]
pub(crate) struct Handlers {
    pub(crate) book: SharedBook,
}

impl DashboardService for Handlers {
    async fn get_recent_orders(
        &self,
        req: GetRecentOrders,
        _cx: Context,
    ) -> Result<RecentOrders, DashboardError> {
        let limit = req.limit.unwrap_or(DEFAULT_RECENT_ORDERS);
        if !(1..=MAX_RECENT_ORDERS).contains(&limit) {
            return Err(DashboardError::invalid_limit(limit, MAX_RECENT_ORDERS));
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self.book.lock().recent(limit))
    }

    async fn get_order_by_id(
        &self,
        req: GetOrderById,
        _cx: Context,
    ) -> Result<OrderView, DashboardError> {
        self.book
            .lock()
            .get(&req.order_id)
            .ok_or_else(|| DashboardError::order_not_found(req.order_id))
    }

    async fn get_dashboard_stats(
        &self,
        _req: GetDashboardStats,
        _cx: Context,
    ) -> Result<DashboardStats, DashboardError> {
        Ok(self.book.lock().stats())
    }
}

/// One event from the order service.
enum Change {
    Created(OrderCreated, MessageContext),
    Status(OrderStatusChanged, MessageContext),
    Shipped(OrderShipped, MessageContext),
}

impl Change {
    fn order_id(&self) -> &str {
        match self {
            Self::Created(e, _) => &e.order_id,
            Self::Status(e, _) => &e.order_id,
            Self::Shipped(e, _) => &e.order_id,
        }
    }
}

/// The order service's three events, subscribed to.
pub(crate) struct Subscribed {
    created: EventStream<OrderCreated>,
    changed: EventStream<OrderStatusChanged>,
    shipped: EventStream<OrderShipped>,
}

impl Subscribed {
    /// Subscribes at once: events published from now on are kept until read.
    pub(crate) fn to(orders: &OrderServiceClient) -> Self {
        Self {
            created: orders.order_created(),
            changed: orders.order_status_changed(),
            shipped: orders.order_shipped(),
        }
    }
}

/// Follows the order service: applies each event to the book, then forwards it and the new
/// figures to the browsers.
pub(crate) struct Follower {
    pub(crate) address: String,
    pub(crate) account: Option<ServiceAccount>,
    pub(crate) book: SharedBook,
    pub(crate) events: DashboardServiceEvents,
}

impl Follower {
    /// Connects to the order service as [`SOURCE`] and logs in as `account`, when given.
    pub(crate) async fn connect(
        address: &str,
        account: Option<ServiceAccount>,
    ) -> Result<OrderServiceClient, DashboardStartError> {
        let client = Client::builder().source(SOURCE).connect(address).await.map_err(|source| {
            DashboardStartError::OrderService { address: address.to_owned(), source }
        })?;
        if let Some(account) = account {
            client.login(account.credentials()).await.map_err(|source| {
                DashboardStartError::Login {
                    address: address.to_owned(),
                    account: account.username,
                    source,
                }
            })?;
        }
        Ok(OrderServiceClient::from_client(client))
    }

    /// Runs until aborted: follows `orders` through `subscribed` (taken out before the
    /// task starts, so no event between [`super::start`] returning and the task's first
    /// turn is missed), and after a lost connection reconnects (with a growing delay) and
    /// follows again.
    pub(crate) async fn run(self, mut orders: OrderServiceClient, mut subscribed: Subscribed) {
        loop {
            self.follow(&orders, subscribed).await;
            eprintln!(
                "dashboard: lost the order service at {}; reconnecting (orders changed \
                 meanwhile are seen at their next event)",
                self.address
            );
            orders = self.reconnect().await;
            subscribed = Subscribed::to(&orders);
            eprintln!("dashboard: reconnected to the order service at {}", self.address);
        }
    }

    async fn reconnect(&self) -> OrderServiceClient {
        let mut delay = RECONNECT_DELAYS.0;
        loop {
            tokio::time::sleep(delay).await;
            if let Ok(orders) = Self::connect(&self.address, self.account).await {
                return orders;
            }
            delay = (delay * 2).min(RECONNECT_DELAYS.1);
        }
    }

    /// Applies events until the connection ends. The three subscriptions are read by one
    /// task, `orderCreated` first, so an order is in the book before its later events are
    /// applied, and browsers receive the events in the order they were applied.
    async fn follow(&self, orders: &OrderServiceClient, subscribed: Subscribed) {
        let Subscribed { mut created, mut changed, mut shipped } = subscribed;
        loop {
            let change = tokio::select! {
                biased;
                Some((e, cx)) = created.recv() => Change::Created(e, cx),
                Some((e, cx)) = changed.recv() => Change::Status(e, cx),
                Some((e, cx)) = shipped.recv() => Change::Shipped(e, cx),
                else => return,
            };
            self.apply(orders, change).await;
        }
    }

    async fn apply(&self, orders: &OrderServiceClient, change: Change) {
        // The order service's copy is the truth for everything but the history and the
        // shipment, which only its events carry.
        self.refresh(orders, change.order_id()).await;
        match change {
            Change::Created(e, cx) => {
                self.book.lock().record_status(&e.order_id, OrderStatus::Pending, e.timestamp);
                self.events.publish_with(e, cx);
            }
            Change::Status(e, cx) => {
                self.book.lock().record_status(&e.order_id, e.new_status, e.timestamp);
                self.events.publish_with(e, cx);
            }
            Change::Shipped(e, cx) => {
                let shipment = Shipment {
                    carrier: e.carrier.clone(),
                    tracking_number: e.tracking_number.clone(),
                    estimated_delivery: e.estimated_delivery,
                };
                self.book.lock().record_shipment(&e.order_id, shipment, e.timestamp);
                self.events.publish_with(e, cx);
            }
        }
        let stats = self.book.lock().stats();
        self.events.stats_updated(StatsUpdated { stats });
    }

    /// Fetches the order service's copy of an order into the book. On failure the book
    /// keeps what it had; an order never fetched stays out of it.
    async fn refresh(&self, orders: &OrderServiceClient, order_id: &str) {
        let request = order::GetOrderById { order_id: order_id.to_owned() };
        match orders.get_order_by_id(request).timeout(FETCH_TIMEOUT).await {
            Ok(order) => self.book.lock().upsert(order),
            Err(e) => eprintln!("dashboard: could not fetch {order_id}: {e}"),
        }
    }
}
