//! The guide's order service, implementing [`OrderService`]: checks and reserves stock
//! through the product service, keeps orders in memory, validates status transitions and
//! publishes `orderCreated`, `orderStatusChanged` and `orderShipped`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::now_millis;
use contracts::order::{
    CancelOrder, CreateOrder, GetOrderById, Order, OrderCreated, OrderError, OrderItem, OrderLine,
    OrderService, OrderServiceEvents, OrderShipped, OrderStatus, OrderStatusChanged,
    UpdateOrderStatus,
};
use contracts::product::{
    GetProductById, ProductError, ProductServiceClient, ReleaseProduct, ReserveProduct,
};
use futures_util::future::join_all;
use messaging_runtime::{CallError, Context, MessageContext};

use crate::auth::StayLoggedIn;

/// The reason recorded when a cancellation names none.
pub const DEFAULT_CANCELLATION_REASON: &str = "Cancelled by user";

/// The order service: orders in memory, stock in the product service.
#[derive(Debug)]
pub struct Orders {
    orders: Mutex<HashMap<String, Order>>,
    next_id: AtomicU64,
    /// What order ids start with: `order`, or a replica's own prefix.
    id_prefix: String,
    products: ProductServiceClient,
    events: OrderServiceEvents,
    /// Keeps the product link logged in as the order service, when it needs a login.
    login: Option<StayLoggedIn>,
}

impl Orders {
    /// An order service that reserves stock through `products` and publishes through
    /// `events` (build it from the order server's `broadcaster()` before starting it).
    pub fn new(products: ProductServiceClient, events: OrderServiceEvents) -> Self {
        Self {
            orders: Mutex::default(),
            next_id: AtomicU64::new(1),
            id_prefix: "order".to_owned(),
            products,
            events,
            login: None,
        }
    }

    /// Numbers orders `{replica}-order-{n}` rather than `order-{n}`, so that replicas of the
    /// service (each with its own in-memory store) never hand out the same id.
    #[must_use]
    pub fn replica(mut self, replica: &str) -> Self {
        self.id_prefix = format!("{replica}-order");
        self
    }

    /// Keeps `login` (of the product link) for as long as the service runs: the link logs in
    /// again after each reconnection until the service stops.
    #[must_use]
    pub fn staying_logged_in(mut self, login: Option<StayLoggedIn>) -> Self {
        self.login = login;
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Order>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Maps a failed product call for `line`: the product's own errors mean it is not
    /// available; anything else means the product service itself failed.
    fn not_available(&self, line: &OrderLine, error: CallError<ProductError>) -> OrderError {
        match error {
            CallError::Contract(
                ProductError::ProductNotFound { .. } | ProductError::InsufficientStock { .. },
            ) => OrderError::product_not_available(&line.product_id, line.quantity),
            other => self.unavailable(other),
        }
    }

    /// The product service failed; when its link is down, says so, naming it and what the
    /// link is doing about it (reconnecting, or given up).
    fn unavailable(&self, error: CallError<ProductError>) -> OrderError {
        let link = self.products.inner();
        match error {
            CallError::Disconnected => OrderError::product_service_unavailable(format!(
                "the product service at {} is unreachable ({})",
                link.address(),
                link.status()
            )),
            other => OrderError::product_service_unavailable(other.to_string()),
        }
    }

    fn find(&self, order_id: &str) -> Result<Order, OrderError> {
        self.lock().get(order_id).cloned().ok_or_else(|| OrderError::order_not_found(order_id))
    }

    /// Looks up every line's product: checks the stock and fills in name and price.
    async fn price_lines(
        &self,
        lines: &[OrderLine],
        cx: &MessageContext,
    ) -> Result<Vec<OrderItem>, OrderError> {
        let lookups = lines.iter().map(|line| async move {
            let request = GetProductById { product_id: line.product_id.clone() };
            let product = self
                .products
                .get_product_by_id(request)
                .context(cx.clone())
                .await
                .map_err(|e| self.not_available(line, e))?;
            if product.stock < line.quantity {
                return Err(OrderError::product_not_available(&line.product_id, line.quantity));
            }
            Ok(OrderItem {
                product_id: line.product_id.clone(),
                name: product.name,
                price: product.price,
                quantity: line.quantity,
            })
        });
        join_all(lookups).await.into_iter().collect()
    }

    /// Reserves every item for `order_id`; on any failure, releases what was reserved.
    async fn reserve_all(
        &self,
        order_id: &str,
        items: &[OrderItem],
        cx: &MessageContext,
    ) -> Result<(), OrderError> {
        let reservations = items.iter().map(|item| async move {
            let request = ReserveProduct {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
                order_id: order_id.to_owned(),
            };
            let reserved = self.products.reserve_product(request).context(cx.clone()).await;
            reserved.map(|_| item.clone()).map_err(|e| self.not_available(&line_of(item), e))
        });
        let (reserved, failed): (Vec<_>, Vec<_>) =
            join_all(reservations).await.into_iter().partition(Result::is_ok);
        let Some(Err(error)) = failed.into_iter().next() else { return Ok(()) };
        let reserved: Vec<OrderItem> = reserved.into_iter().filter_map(Result::ok).collect();
        // Best effort: the order fails either way, with the reservation's error.
        let _ = self.release_all(order_id, &reserved, cx).await;
        Err(error)
    }

    /// Puts every item reserved for `order_id` back into stock.
    async fn release_all(
        &self,
        order_id: &str,
        items: &[OrderItem],
        cx: &MessageContext,
    ) -> Result<(), OrderError> {
        let releases = items.iter().map(|item| async move {
            let request = ReleaseProduct {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
                order_id: order_id.to_owned(),
            };
            self.products.release_product(request).context(cx.clone()).await
        });
        for released in join_all(releases).await {
            released.map_err(|e| self.unavailable(e))?;
        }
        Ok(())
    }

    /// Moves an order to `status` under the lock, checking the transition table.
    fn transition(
        &self,
        order_id: &str,
        status: OrderStatus,
        reason: Option<String>,
    ) -> Result<(Order, OrderStatus), OrderError> {
        let mut orders = self.lock();
        let order =
            orders.get_mut(order_id).ok_or_else(|| OrderError::order_not_found(order_id))?;
        let previous = order.status;
        if status == OrderStatus::Cancelled && previous == OrderStatus::Cancelled {
            return Err(OrderError::order_already_cancelled(order_id));
        }
        if !previous.can_transition_to(status) {
            return Err(OrderError::invalid_order_status_transition(previous, status));
        }
        order.status = status;
        order.updated_at = now_millis();
        if status == OrderStatus::Cancelled {
            order.cancellation_reason = reason;
        }
        Ok((order.clone(), previous))
    }

    fn publish_status_change(&self, order: &Order, previous_status: OrderStatus) {
        self.events.order_status_changed(OrderStatusChanged {
            order_id: order.id.clone(),
            previous_status,
            new_status: order.status,
            timestamp: order.updated_at,
        });
    }
}

impl OrderService for Orders {
    async fn create_order(&self, req: CreateOrder, cx: Context) -> Result<Order, OrderError> {
        let forward = cx.forward();
        let items = self.price_lines(&req.items, &forward).await?;
        let id = format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed));
        self.reserve_all(&id, &items, &forward).await?;
        let now = now_millis();
        let order = Order {
            id: id.clone(),
            customer_id: req.customer_id,
            total_amount: items.iter().map(|i| i.price * f64::from(i.quantity)).sum(),
            items,
            status: OrderStatus::Pending,
            shipping_address: req.shipping_address,
            created_at: now,
            updated_at: now,
            cancellation_reason: None,
        };
        self.lock().insert(id, order.clone());
        self.events.order_created(OrderCreated {
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            total_amount: order.total_amount,
            timestamp: now,
        });
        Ok(order)
    }

    async fn get_order_by_id(&self, req: GetOrderById, _cx: Context) -> Result<Order, OrderError> {
        self.find(&req.order_id)
    }

    /// Moving to `cancelled` goes through [`OrderService::cancel_order`], so the stock is
    /// released whichever request cancels.
    async fn update_order_status(
        &self,
        req: UpdateOrderStatus,
        cx: Context,
    ) -> Result<Order, OrderError> {
        if req.status == OrderStatus::Cancelled {
            return self
                .cancel_order(CancelOrder { order_id: req.order_id, reason: None }, cx)
                .await;
        }
        let (order, previous) = self.transition(&req.order_id, req.status, None)?;
        self.publish_status_change(&order, previous);
        if let (OrderStatus::Shipped, Some(tracking)) = (order.status, req.tracking_info) {
            self.events.order_shipped(OrderShipped {
                order_id: order.id.clone(),
                tracking_number: tracking.tracking_number,
                carrier: tracking.carrier,
                estimated_delivery: tracking.estimated_delivery,
                timestamp: order.updated_at,
            });
        }
        Ok(order)
    }

    /// The order is marked cancelled first (so two cancellations cannot both release the
    /// stock), then its products are released.
    async fn cancel_order(&self, req: CancelOrder, cx: Context) -> Result<Order, OrderError> {
        let reason = req.reason.unwrap_or_else(|| DEFAULT_CANCELLATION_REASON.to_owned());
        let (order, previous) =
            self.transition(&req.order_id, OrderStatus::Cancelled, Some(reason))?;
        self.release_all(&order.id, &order.items, &cx.forward()).await?;
        self.publish_status_change(&order, previous);
        Ok(order)
    }
}

/// The line an item was ordered with.
fn line_of(item: &OrderItem) -> OrderLine {
    OrderLine { product_id: item.product_id.clone(), quantity: item.quantity }
}
