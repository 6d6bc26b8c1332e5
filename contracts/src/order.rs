//! The order service contract of the guide's microservices example: orders move through
//! `pending → processing → shipped → delivered` (or are cancelled on the way), and every
//! change is published as an event.

use core::fmt;

use messaging_runtime::prelude::*;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Placed, not yet worked on.
    Pending,
    /// Being picked and packed.
    Processing,
    /// Handed to a carrier.
    Shipped,
    /// Arrived at the customer.
    Delivered,
    /// Cancelled before it shipped.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 5] =
        [Self::Pending, Self::Processing, Self::Shipped, Self::Delivered, Self::Cancelled];

    /// The statuses an order in this status may move to (the guide's transition table).
    pub const fn next_statuses(self) -> &'static [OrderStatus] {
        match self {
            Self::Pending => &[Self::Processing, Self::Cancelled],
            Self::Processing => &[Self::Shipped, Self::Cancelled],
            Self::Shipped => &[Self::Delivered],
            Self::Delivered | Self::Cancelled => &[],
        }
    }

    /// Whether an order in this status may move to `next`.
    pub fn can_transition_to(self, next: OrderStatus) -> bool {
        self.next_statuses().contains(&next)
    }

    /// The wire name: `pending`, `processing`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an order, with the product's name and price at the time of ordering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// The product ordered.
    pub product_id: String,
    /// The product's name.
    pub name: String,
    /// The unit price.
    pub price: f64,
    /// How many units.
    pub quantity: u32,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The recipient.
    pub name: String,
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: String,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order id, e.g. `order-1`.
    pub id: String,
    /// Who placed the order.
    pub customer_id: String,
    /// What was ordered.
    pub items: Vec<OrderItem>,
    /// Where the order is in its life.
    pub status: OrderStatus,
    /// Sum of price × quantity over the items.
    pub total_amount: f64,
    /// Where the order goes.
    pub shipping_address: Address,
    /// Milliseconds since the Unix epoch when the order was placed.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at: u64,
    /// Why the order was cancelled, once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
}

/// An order was placed.
#[event("orderCreated")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    /// The new order.
    pub order_id: String,
    /// Who placed it.
    pub customer_id: String,
    /// Its total.
    pub total_amount: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// An order moved from one status to another.
#[event("orderStatusChanged")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusChanged {
    /// The order.
    pub order_id: String,
    /// The status before the change.
    pub previous_status: OrderStatus,
    /// The status after the change.
    pub new_status: OrderStatus,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// An order was handed to a carrier.
#[event("orderShipped")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderShipped {
    /// The order.
    pub order_id: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// The carrier.
    pub carrier: String,
    /// Expected delivery, milliseconds since the Unix epoch.
    pub estimated_delivery: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// One product and quantity in a [`CreateOrder`] request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The product.
    pub product_id: String,
    /// How many units.
    pub quantity: u32,
}

/// The most lines one [`CreateOrder`] may have. Each line costs the order service a look-up
/// and a reservation in the product service, so an unbounded order would let one request
/// cost any amount of work; a larger order is refused with `VALIDATION_ERROR` naming
/// `items`, before it is sent (the client checks) and before its handler runs (the server
/// checks).
pub const MAX_ORDER_LINES: u64 = 100;

/// Places an order; the products are checked and reserved.
#[request("createOrder", response = Order)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    /// Who places the order.
    pub customer_id: String,
    /// What to order: 1 to `MAX_ORDER_LINES` (100) lines.
    #[validate(length(min = 1, max = MAX_ORDER_LINES))]
    pub items: Vec<OrderLine>,
    /// Where the order goes.
    pub shipping_address: Address,
}

/// Looks an order up by id.
#[request("getOrderById", response = Order)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetOrderById {
    /// The order.
    pub order_id: String,
}

/// How to follow a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackingInfo {
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// The carrier.
    pub carrier: String,
    /// Expected delivery, milliseconds since the Unix epoch.
    pub estimated_delivery: u64,
}

/// Moves an order to another status; with `shipped` and tracking info, `orderShipped` is
/// published too.
#[request("updateOrderStatus", response = Order)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrderStatus {
    /// The order.
    pub order_id: String,
    /// The status to move to.
    pub status: OrderStatus,
    /// How to follow the shipment, when the new status is `shipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_info: Option<TrackingInfo>,
}

/// Cancels a pending or processing order and releases its products.
#[request("cancelOrder", response = Order)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrder {
    /// The order.
    pub order_id: String,
    /// Why; defaults to "Cancelled by user".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the order service can fail with.
#[error_code]
#[derive(Debug, Clone, PartialEq)]
pub enum OrderError {
    /// No order has this id.
    #[error(status = 404, message = "Order with ID {orderId} not found")]
    OrderNotFound {
        /// The id asked for.
        order_id: String,
    },
    /// The transition table does not allow this move.
    #[error(
        code = "INVALID_ORDER_STATUS_TRANSITION",
        status = 400,
        message = "Cannot transition order from {currentStatus} to {requestedStatus}"
    )]
    InvalidOrderStatusTransition {
        /// The order's status now.
        current_status: OrderStatus,
        /// The status asked for.
        requested_status: OrderStatus,
    },
    /// A product is unknown or short of stock.
    #[error(
        status = 400,
        message = "Product {productId} is not available in requested quantity {requestedQuantity}"
    )]
    ProductNotAvailable {
        /// The product.
        product_id: String,
        /// The quantity asked for.
        requested_quantity: u32,
    },
    /// The order was cancelled before.
    #[error(status = 400, message = "Order with ID {orderId} is already cancelled")]
    OrderAlreadyCancelled {
        /// The order.
        order_id: String,
    },
    /// Not in the guide: the product service could not be reached or failed in a way its
    /// contract does not describe. A handler can only answer with its own contract's
    /// errors, so an upstream failure needs a code of its own.
    #[error(status = 503, message = "The product service is unavailable: {reason}")]
    ProductServiceUnavailable {
        /// What went wrong upstream.
        reason: String,
    },
}

/// The order service: place, look up, advance and cancel orders.
///
/// Looking an order up requires the permission `orders:read`, everything else
/// `orders:write`; a server checks them when it is given an access policy.
#[contract(
    name = "order-service",
    version = "2.0.0",
    error = OrderError,
    events(OrderCreated, OrderStatusChanged, OrderShipped)
)]
pub trait OrderService {
    /// Places an order: checks and reserves the products, publishes `orderCreated`.
    #[permission("orders:write")]
    async fn create_order(&self, req: CreateOrder, cx: Context) -> Result<Order, OrderError>;

    /// Looks an order up by id.
    #[permission("orders:read")]
    async fn get_order_by_id(&self, req: GetOrderById, cx: Context) -> Result<Order, OrderError>;

    /// Moves an order to another status; publishes `orderStatusChanged` (and `orderShipped`).
    #[permission("orders:write")]
    async fn update_order_status(
        &self,
        req: UpdateOrderStatus,
        cx: Context,
    ) -> Result<Order, OrderError>;

    /// Cancels an order, releases its products, publishes `orderStatusChanged`.
    #[permission("orders:write")]
    async fn cancel_order(&self, req: CancelOrder, cx: Context) -> Result<Order, OrderError>;
}
