//! The guide's microservices flow end to end over `memory://`: the order service checks and
//! reserves stock in the product service, publishes events, and the notification service
//! e-mails about each; every order error comes back typed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderLine,
    OrderServiceClient, OrderStatus, TrackingInfo, UpdateOrderStatus,
};
use contracts::product::{
    GetProductById, Product, ProductError, ProductService, ProductServiceClient,
    ProductServiceEvents, ProductServiceServer, ReleaseProduct, ReserveProduct,
};
use examples::{Catalog, NotificationKind, NotificationService, Services};
use messaging_runtime::prelude::*;

/// Bounds every wait: calls time out after this, event waits give up after this.
const WAIT: Duration = Duration::from_secs(10);

/// The services of one test, with clients of both.
struct Harness {
    services: Services,
    orders: OrderServiceClient,
    products: ProductServiceClient,
}

async fn harness(prefix: &str) -> Harness {
    let services = examples::start_all(prefix).await.expect("the services start");
    let connect = |address: String| async move {
        Client::builder().timeout(WAIT).connect(&address).await.expect("the service is bound")
    };
    let orders = OrderServiceClient::from_client(connect(services.orders.address().into()).await);
    let products =
        ProductServiceClient::from_client(connect(services.products.address().into()).await);
    Harness { services, orders, products }
}

impl Harness {
    async fn create(&self, lines: &[(&str, u32)]) -> Result<Order, CallError<OrderError>> {
        let items = lines
            .iter()
            .map(|(id, quantity)| OrderLine { product_id: (*id).into(), quantity: *quantity })
            .collect();
        let request =
            CreateOrder { customer_id: "c-ada".into(), items, shipping_address: address() };
        self.orders.create_order(request).await
    }

    async fn update(
        &self,
        order_id: &str,
        status: OrderStatus,
        tracking_info: Option<TrackingInfo>,
    ) -> Result<Order, CallError<OrderError>> {
        let request = UpdateOrderStatus { order_id: order_id.into(), status, tracking_info };
        self.orders.update_order_status(request).await
    }

    async fn cancel(
        &self,
        order_id: &str,
        reason: Option<&str>,
    ) -> Result<Order, CallError<OrderError>> {
        let request = CancelOrder { order_id: order_id.into(), reason: reason.map(Into::into) };
        self.orders.cancel_order(request).await
    }

    async fn stock(&self, product_id: &str) -> u32 {
        let request = GetProductById { product_id: product_id.into() };
        self.products.get_product_by_id(request).await.expect("the product exists").stock
    }
}

fn address() -> Address {
    Address {
        name: "Ada Lovelace".into(),
        street: "1 Analytical Engine Way".into(),
        city: "London".into(),
        state: "Greater London".into(),
        postal_code: "N1 9GU".into(),
        country: "UK".into(),
    }
}

fn tracking() -> TrackingInfo {
    TrackingInfo {
        tracking_number: "1Z999".into(),
        carrier: "UPS".into(),
        estimated_delivery: 1_000,
    }
}

/// The contract error a call failed with; panics on success or a runtime error.
fn contract_error<T: std::fmt::Debug>(result: Result<T, CallError<OrderError>>) -> OrderError {
    match result {
        Err(CallError::Contract(error)) => error,
        other => panic!("expected a contract error, got {other:?}"),
    }
}

#[tokio::test]
async fn lifecycle_reserves_stock_and_notifies_for_every_event() {
    let h = harness("ms-lifecycle").await;
    let notifications = NotificationService::connect(h.services.orders.address())
        .await
        .expect("the notification service connects");
    let order = h.create(&[("p-keyboard", 2), ("p-mouse", 1)]).await.expect("the order is placed");
    assert_eq!((order.id.as_str(), order.status), ("order-1", OrderStatus::Pending));
    assert_eq!(order.items[0].name, "Mechanical keyboard");
    assert!((order.total_amount - (2.0 * 89.99 + 29.50)).abs() < 1e-9);
    assert_eq!((h.stock("p-keyboard").await, h.stock("p-mouse").await), (8, 24));

    h.update(&order.id, OrderStatus::Processing, None).await.expect("pending -> processing");
    let shipped = h.update(&order.id, OrderStatus::Shipped, Some(tracking())).await;
    assert_eq!(shipped.expect("processing -> shipped").status, OrderStatus::Shipped);
    h.update(&order.id, OrderStatus::Delivered, None).await.expect("shipped -> delivered");
    let fetched = h.orders.get_order_by_id(GetOrderById { order_id: order.id.clone() }).await;
    assert_eq!(fetched.expect("the order exists").status, OrderStatus::Delivered);

    let sent = notifications.wait_for(5, WAIT).await.expect("five e-mails are sent");
    assert_eq!(sent.len(), 5);
    let count = |kind| sent.iter().filter(|n| n.kind == kind).count();
    assert_eq!(count(NotificationKind::OrderConfirmation), 1);
    assert_eq!(count(NotificationKind::StatusUpdate), 3);
    assert_eq!(count(NotificationKind::ShippingNotification), 1);
    assert!(sent.iter().all(|n| n.order_id == order.id && n.customer_id == "c-ada"));
    let updates: Vec<_> =
        sent.iter().filter(|n| n.kind == NotificationKind::StatusUpdate).map(|n| &n.text).collect();
    for (update, status) in updates.iter().zip(["processing", "shipped", "delivered"]) {
        assert!(update.contains(&format!("is now {status}")), "{update}");
    }
    let shipping = sent.iter().find(|n| n.kind == NotificationKind::ShippingNotification);
    assert!(shipping.is_some_and(|n| n.text.contains("1Z999") && n.text.contains("UPS")));
    notifications.stop();
    h.services.stop().await;
}

#[tokio::test]
async fn events_describe_each_step_in_order() {
    let h = harness("ms-events").await;
    let mut created = h.orders.order_created();
    let mut changed = h.orders.order_status_changed();
    let mut shipped = h.orders.order_shipped();
    let order = h.create(&[("p-cable", 3)]).await.expect("the order is placed");
    h.update(&order.id, OrderStatus::Processing, None).await.expect("pending -> processing");
    h.update(&order.id, OrderStatus::Shipped, Some(tracking())).await.expect("-> shipped");

    let (event, _) =
        tokio::time::timeout(WAIT, created.recv()).await.expect("in time").expect("open");
    assert_eq!((event.order_id.as_str(), event.customer_id.as_str()), ("order-1", "c-ada"));
    assert!((event.total_amount - 3.0 * 9.99).abs() < 1e-9);
    for (previous, new) in [
        (OrderStatus::Pending, OrderStatus::Processing),
        (OrderStatus::Processing, OrderStatus::Shipped),
    ] {
        let (event, _) =
            tokio::time::timeout(WAIT, changed.recv()).await.expect("in time").expect("open");
        assert_eq!((event.previous_status, event.new_status), (previous, new));
    }
    let (event, _) =
        tokio::time::timeout(WAIT, shipped.recv()).await.expect("in time").expect("open");
    assert_eq!((event.tracking_number.as_str(), event.carrier.as_str()), ("1Z999", "UPS"));
    assert_eq!(event.estimated_delivery, 1_000);
    h.services.stop().await;
}

#[tokio::test]
async fn shipping_without_tracking_publishes_no_shipped_event() {
    let h = harness("ms-no-tracking").await;
    let mut shipped = h.orders.order_shipped();
    let mut changed = h.orders.order_status_changed();
    let order = h.create(&[("p-cable", 1)]).await.expect("the order is placed");
    h.update(&order.id, OrderStatus::Processing, None).await.expect("pending -> processing");
    h.update(&order.id, OrderStatus::Shipped, None).await.expect("processing -> shipped");
    h.update(&order.id, OrderStatus::Delivered, None).await.expect("shipped -> delivered");
    for _ in 0..3 {
        tokio::time::timeout(WAIT, changed.recv()).await.expect("in time").expect("open");
    }
    // Any orderShipped would have been published before the third orderStatusChanged, on
    // the same connection, so it would be buffered by now.
    h.services.stop().await;
    let rest = tokio::time::timeout(WAIT, shipped.recv()).await.expect("the stream ends");
    assert!(rest.is_none(), "no orderShipped without tracking info");
}

#[tokio::test]
async fn cancelling_with_a_reason_releases_the_stock() {
    let h = harness("ms-cancel").await;
    let mut changed = h.orders.order_status_changed();
    let order = h.create(&[("p-monitor", 2), ("p-mouse", 5)]).await.expect("the order is placed");
    assert_eq!((h.stock("p-monitor").await, h.stock("p-mouse").await), (1, 20));
    h.update(&order.id, OrderStatus::Processing, None).await.expect("pending -> processing");
    let cancelled = h.cancel(&order.id, Some("changed my mind")).await.expect("cancelled");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.cancellation_reason.as_deref(), Some("changed my mind"));
    assert_eq!((h.stock("p-monitor").await, h.stock("p-mouse").await), (3, 25));
    tokio::time::timeout(WAIT, changed.recv()).await.expect("in time").expect("open");
    let (event, _) =
        tokio::time::timeout(WAIT, changed.recv()).await.expect("in time").expect("open");
    assert_eq!(
        (event.previous_status, event.new_status),
        (OrderStatus::Processing, OrderStatus::Cancelled)
    );

    let other = h.create(&[("p-monitor", 1)]).await.expect("the order is placed");
    let cancelled = h.cancel(&other.id, None).await.expect("cancelled");
    assert_eq!(
        cancelled.cancellation_reason.as_deref(),
        Some(examples::order_service::DEFAULT_CANCELLATION_REASON)
    );
    assert_eq!(h.stock("p-monitor").await, 3);
    h.services.stop().await;
}

#[tokio::test]
async fn updating_to_cancelled_releases_the_stock_too() {
    let h = harness("ms-update-cancel").await;
    let order = h.create(&[("p-keyboard", 4)]).await.expect("the order is placed");
    assert_eq!(h.stock("p-keyboard").await, 6);
    let cancelled = h.update(&order.id, OrderStatus::Cancelled, None).await.expect("cancelled");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(h.stock("p-keyboard").await, 10);
    h.services.stop().await;
}

#[tokio::test]
async fn unknown_orders_are_order_not_found_for_every_request() {
    let h = harness("ms-not-found").await;
    let expected = OrderError::order_not_found("order-404");
    let get = h.orders.get_order_by_id(GetOrderById { order_id: "order-404".into() }).await;
    let update = h.update("order-404", OrderStatus::Processing, None).await;
    let cancel = h.cancel("order-404", None).await;
    for error in [contract_error(get), contract_error(update), contract_error(cancel)] {
        assert_eq!(error, expected);
        assert_eq!((error.code(), error.status()), ("ORDER_NOT_FOUND", 404));
        assert_eq!(error.to_string(), "Order with ID order-404 not found");
    }
    h.services.stop().await;
}

#[tokio::test]
async fn invalid_transitions_name_both_statuses() {
    let h = harness("ms-transition").await;
    let order = h.create(&[("p-mouse", 1)]).await.expect("the order is placed");
    let error = contract_error(h.update(&order.id, OrderStatus::Delivered, None).await);
    assert_eq!(
        error,
        OrderError::invalid_order_status_transition(OrderStatus::Pending, OrderStatus::Delivered)
    );
    assert_eq!((error.code(), error.status()), ("INVALID_ORDER_STATUS_TRANSITION", 400));
    assert_eq!(error.to_string(), "Cannot transition order from pending to delivered");

    h.update(&order.id, OrderStatus::Processing, None).await.expect("pending -> processing");
    h.update(&order.id, OrderStatus::Shipped, None).await.expect("processing -> shipped");
    let error = contract_error(h.cancel(&order.id, None).await);
    assert_eq!(
        error,
        OrderError::invalid_order_status_transition(OrderStatus::Shipped, OrderStatus::Cancelled)
    );
    assert_eq!(h.stock("p-mouse").await, 24, "a shipped order keeps its stock");
    h.services.stop().await;
}

#[tokio::test]
async fn short_or_unknown_products_are_not_available_and_reserve_nothing() {
    let h = harness("ms-not-available").await;
    let error = contract_error(h.create(&[("p-keyboard", 1), ("p-monitor", 50)]).await);
    assert_eq!(error, OrderError::product_not_available("p-monitor", 50_u32));
    assert_eq!((error.code(), error.status()), ("PRODUCT_NOT_AVAILABLE", 400));
    assert_eq!(error.to_string(), "Product p-monitor is not available in requested quantity 50");
    let error = contract_error(h.create(&[("p-unicorn", 1)]).await);
    assert_eq!(error, OrderError::product_not_available("p-unicorn", 1_u32));
    assert_eq!((h.stock("p-keyboard").await, h.stock("p-monitor").await), (10, 3));
    h.services.stop().await;
}

#[tokio::test]
async fn a_failed_reservation_rolls_back_the_others() {
    let h = harness("ms-rollback").await;
    // Each line alone fits the stock of 3, so the check passes; together they do not.
    let error = contract_error(h.create(&[("p-monitor", 2), ("p-monitor", 2)]).await);
    assert_eq!(error, OrderError::product_not_available("p-monitor", 2_u32));
    assert_eq!(h.stock("p-monitor").await, 3);
    let missing = h.orders.get_order_by_id(GetOrderById { order_id: "order-1".into() }).await;
    assert_eq!(contract_error(missing).code(), "ORDER_NOT_FOUND");
    h.services.stop().await;
}

#[tokio::test]
async fn cancelling_twice_is_already_cancelled() {
    let h = harness("ms-twice").await;
    let order = h.create(&[("p-cable", 10)]).await.expect("the order is placed");
    h.cancel(&order.id, Some("duplicate")).await.expect("the first cancellation succeeds");
    let error = contract_error(h.cancel(&order.id, None).await);
    assert_eq!(error, OrderError::order_already_cancelled(order.id.clone()));
    assert_eq!((error.code(), error.status()), ("ORDER_ALREADY_CANCELLED", 400));
    assert_eq!(error.to_string(), format!("Order with ID {} is already cancelled", order.id));
    assert_eq!(h.stock("p-cable").await, 100, "the stock is released once");
    h.services.stop().await;
}

#[tokio::test]
async fn order_ids_count_up_per_instance() {
    let h = harness("ms-ids").await;
    for n in 1..=3 {
        let order = h.create(&[("p-cable", 1)]).await.expect("the order is placed");
        assert_eq!(order.id, format!("order-{n}"));
    }
    h.services.stop().await;
}

/// A product service that records the context of every call, then defers to [`Catalog`].
struct Recording {
    catalog: Catalog,
    seen: Arc<Mutex<Vec<(&'static str, MessageContext)>>>,
}

impl Recording {
    fn record(&self, request: &'static str, cx: &Context) {
        self.seen.lock().expect("not poisoned").push((request, cx.message().clone()));
    }
}

impl ProductService for Recording {
    async fn get_product_by_id(
        &self,
        req: GetProductById,
        cx: Context,
    ) -> Result<Product, ProductError> {
        self.record("getProductById", &cx);
        self.catalog.get_product_by_id(req, cx).await
    }

    async fn reserve_product(
        &self,
        req: ReserveProduct,
        cx: Context,
    ) -> Result<Product, ProductError> {
        self.record("reserveProduct", &cx);
        self.catalog.reserve_product(req, cx).await
    }

    async fn release_product(
        &self,
        req: ReleaseProduct,
        cx: Context,
    ) -> Result<Product, ProductError> {
        self.record("releaseProduct", &cx);
        self.catalog.release_product(req, cx).await
    }
}

#[tokio::test]
async fn nested_product_calls_carry_the_callers_trace_and_deadline_not_its_credentials() {
    let server = Server::bind("memory://ms-forward-products").await.expect("the name is free");
    let seen = Arc::default();
    let catalog = Catalog::seeded(ProductServiceEvents::new(server.broadcaster()));
    let recording = Recording { catalog, seen: Arc::clone(&seen) };
    let products = server
        .serve(ProductServiceServer::new(recording))
        .start()
        .await
        .expect("the server starts");
    let orders = examples::start_order_service("memory://ms-forward-orders", products.address())
        .await
        .expect("the order service starts");
    let client = Client::builder().timeout(WAIT).connect(orders.address()).await.expect("bound");
    let client = OrderServiceClient::from_client(client);
    let cx = MessageContext::new()
        .with_source("storefront")
        .with_trace_id("trace-42")
        .with_token("token-7")
        .with_metadata("requestId", "req-1");
    let line = OrderLine { product_id: "p-mouse".into(), quantity: 1 };
    let request =
        CreateOrder { customer_id: "c-ada".into(), items: vec![line], shipping_address: address() };
    let order =
        client.create_order(request).context(cx.clone()).await.expect("the order is placed");
    let request = CancelOrder { order_id: order.id, reason: None };
    client.cancel_order(request).context(cx).await.expect("the order is cancelled");

    let seen = seen.lock().expect("not poisoned").clone();
    let names: Vec<_> = seen.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["getProductById", "reserveProduct", "releaseProduct"]);
    for (name, cx) in &seen {
        assert_eq!(cx.trace_id.as_deref(), Some("trace-42"), "{name}");
        assert_eq!(cx.source.as_deref(), Some("storefront"), "{name}");
        // The order service calls on its own behalf: the caller's token and metadata stay
        // with it (a token given to one service works on no other).
        assert_eq!(cx.auth.as_ref().and_then(|a| a.token.as_deref()), None, "{name}");
        assert!(cx.metadata.is_empty(), "{name}: {:?}", cx.metadata);
        assert!(cx.deadline.is_some(), "{name}: the caller's deadline carries over");
    }
    orders.stop().await;
    products.stop().await;
}
