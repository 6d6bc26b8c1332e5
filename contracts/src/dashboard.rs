//! The dashboard contract of the guide's real-time dashboard: a server that follows the
//! order service and serves browsers. Browsers ask for the recent orders, one order's
//! details and the statistics, and receive the order service's events as they happen,
//! followed by `statsUpdated` with the recomputed figures.
//!
//! Every answer comes from the orders the dashboard has seen: `totalOrders` counts the
//! orders it learnt about through `orderCreated` (or any later event) since it started.

use messaging_runtime::prelude::*;

use crate::order::{Order, OrderCreated, OrderShipped, OrderStatus, OrderStatusChanged};

/// The number of orders `getRecentOrders` answers when the request names no `limit`.
pub const DEFAULT_RECENT_ORDERS: u32 = 20;

/// The largest `limit` `getRecentOrders` accepts.
pub const MAX_RECENT_ORDERS: u32 = 100;

/// How an order was shipped, from its `orderShipped` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    /// The carrier.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// Expected delivery, milliseconds since the Unix epoch.
    pub estimated_delivery: u64,
}

/// One status an order reached, as the dashboard saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusStep {
    /// The status reached.
    pub status: OrderStatus,
    /// Milliseconds since the Unix epoch when it was reached.
    pub at: u64,
}

/// An order as the dashboard shows it: the order service's order (its fields at the top
/// level, as the order service sends them), how it was shipped, and its status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The order, as last fetched from the order service.
    #[serde(flatten)]
    pub order: Order,
    /// How it was shipped, once `orderShipped` arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<Shipment>,
    /// Every status it reached, oldest first, starting with the one it was created in.
    #[serde(default)]
    pub history: Vec<StatusStep>,
}

/// Figures over every order the dashboard has seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardStats {
    /// Orders seen.
    pub total_orders: u64,
    /// Orders now `pending`.
    pub pending_orders: u64,
    /// Orders now `processing`.
    pub processing_orders: u64,
    /// Orders now `shipped`.
    pub shipped_orders: u64,
    /// Orders now `delivered`.
    pub delivered_orders: u64,
    /// Orders now `cancelled`.
    pub cancelled_orders: u64,
    /// The sum of the totals of the orders that are not cancelled.
    pub total_revenue: f64,
    /// `totalRevenue` divided by the number of orders that are not cancelled (0 when none).
    pub average_order_value: f64,
    /// Milliseconds since the Unix epoch of the last change seen, 0 before the first one.
    pub updated_at: u64,
}

impl DashboardStats {
    /// The number of orders now in `status`.
    pub fn count(&self, status: OrderStatus) -> u64 {
        match status {
            OrderStatus::Pending => self.pending_orders,
            OrderStatus::Processing => self.processing_orders,
            OrderStatus::Shipped => self.shipped_orders,
            OrderStatus::Delivered => self.delivered_orders,
            OrderStatus::Cancelled => self.cancelled_orders,
        }
    }
}

/// The figures changed: sent after every forwarded order event.
#[event("statsUpdated")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsUpdated {
    /// The figures now.
    pub stats: DashboardStats,
}

/// The answer to `getRecentOrders`: a JSON array of orders, newest first.
///
/// (An alias because `#[request(response = ...)]` reads its value as a path: generic types
/// such as `Vec<OrderView>` do not parse there.)
pub type RecentOrders = Vec<OrderView>;

/// The most recently created orders, newest first.
#[request("getRecentOrders", response = RecentOrders)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetRecentOrders {
    /// How many, 1 to [`MAX_RECENT_ORDERS`]; [`DEFAULT_RECENT_ORDERS`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One order the dashboard has seen, with its shipment and history.
#[request("getOrderById", response = OrderView)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetOrderById {
    /// The order.
    pub order_id: String,
}

/// The figures over every order seen.
#[request("getDashboardStats", response = DashboardStats)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GetDashboardStats {}

/// What the dashboard can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashboardError {
    /// The dashboard has seen no order with this id.
    #[error(status = 404, message = "Order with ID {orderId} not found")]
    OrderNotFound {
        /// The id asked for.
        order_id: String,
    },
    /// `getRecentOrders` was asked for no orders or for too many.
    #[error(status = 400, message = "limit must be between 1 and {max}, got {limit}")]
    InvalidLimit {
        /// The limit asked for.
        limit: u32,
        /// The largest limit accepted.
        max: u32,
    },
}

/// The dashboard: what browsers ask and the events they receive. `orderCreated`,
/// `orderStatusChanged` and `orderShipped` are the order service's own events, forwarded
/// once the dashboard has taken them into account (so a `getOrderById` sent on receipt
/// finds the order); `statsUpdated` follows each of them.
#[contract(
    name = "dashboard-service",
    version = "1.0.0",
    error = DashboardError,
    events(OrderCreated, OrderStatusChanged, OrderShipped, StatsUpdated)
)]
pub trait DashboardService {
    /// The most recently created orders, newest first.
    async fn get_recent_orders(
        &self,
        req: GetRecentOrders,
        cx: Context,
    ) -> Result<RecentOrders, DashboardError>;

    /// One order, with its shipment and status history.
    async fn get_order_by_id(
        &self,
        req: GetOrderById,
        cx: Context,
    ) -> Result<OrderView, DashboardError>;

    /// The figures over every order seen.
    async fn get_dashboard_stats(
        &self,
        req: GetDashboardStats,
        cx: Context,
    ) -> Result<DashboardStats, DashboardError>;
}
