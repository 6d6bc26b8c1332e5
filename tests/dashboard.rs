//! The dashboard server without a browser: a typed client of the dashboard contract over
//! `ws://` sees the order service's events forwarded and figures computed from the orders
//! really placed; the page and its `config.js` are served over HTTP.

use std::time::Duration;

use contracts::dashboard::{
    DashboardError, DashboardServiceClient, DashboardStats, GetDashboardStats, GetOrderById,
    GetRecentOrders, MAX_RECENT_ORDERS,
};
use contracts::order::{
    Address, CancelOrder, CreateOrder, Order, OrderLine, OrderServiceClient, OrderStatus,
    TrackingInfo, UpdateOrderStatus,
};
use contracts::product::ProductServiceClient;
use examples::dashboard::{self, DashboardOptions, RunningDashboard, Simulator};
use examples::Services;
use messaging_runtime::{CallError, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(10);

struct Setup {
    services: Services,
    dashboard: RunningDashboard,
    orders: OrderServiceClient,
    client: DashboardServiceClient,
}

async fn setup(prefix: &str) -> Setup {
    let services = examples::start_all(prefix).await.expect("the services start");
    let options = DashboardOptions::new("127.0.0.1:0", services.orders.address());
    let dashboard = dashboard::start(options).await.expect("the dashboard starts");
    let orders =
        OrderServiceClient::connect(services.orders.address()).await.expect("order client");
    let client = DashboardServiceClient::connect(dashboard.ws_address())
        .await
        .expect("a dashboard client connects over ws://");
    Setup { services, dashboard, orders, client }
}

impl Setup {
    async fn stop(self) {
        self.dashboard.stop().await;
        self.services.stop().await;
    }
}

fn address() -> Address {
    Address {
        name: "Ada Lovelace".into(),
        street: "12 St James's Square".into(),
        city: "London".into(),
        state: "LDN".into(),
        postal_code: "SW1Y 4JH".into(),
        country: "UK".into(),
    }
}

async fn place(orders: &OrderServiceClient, customer: &str, lines: &[(&str, u32)]) -> Order {
    let items = lines
        .iter()
        .map(|(product_id, quantity)| OrderLine {
            product_id: (*product_id).to_owned(),
            quantity: *quantity,
        })
        .collect();
    let request =
        CreateOrder { customer_id: customer.to_owned(), items, shipping_address: address() };
    orders.create_order(request).await.expect("the order is placed")
}

async fn update(orders: &OrderServiceClient, order_id: &str, status: OrderStatus) -> Order {
    let tracking_info = (status == OrderStatus::Shipped).then(|| TrackingInfo {
        tracking_number: "1Z999AA10123456784".into(),
        carrier: "UPS".into(),
        estimated_delivery: 1_900_000_000_000,
    });
    let request = UpdateOrderStatus { order_id: order_id.to_owned(), status, tracking_info };
    orders.update_order_status(request).await.expect("the status changes")
}

/// Waits for `statsUpdated` events until one satisfies `done`.
async fn stats_until(
    stream: &mut messaging_runtime::EventStream<contracts::dashboard::StatsUpdated>,
    done: impl Fn(&DashboardStats) -> bool,
) -> DashboardStats {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = None;
    for _ in 0..1000 {
        match tokio::time::timeout_at(deadline, stream.recv()).await {
            Ok(Some((event, _))) if done(&event.stats) => return event.stats,
            Ok(Some((event, _))) => last = Some(event.stats),
            Ok(None) => panic!("the dashboard connection ended; last figures: {last:?}"),
            Err(_) => break,
        }
    }
    panic!("no statsUpdated with the expected figures arrived; last: {last:?}")
}

#[tokio::test]
async fn answers_from_the_orders_it_has_seen_and_forwards_their_events() {
    let setup = setup("dashboard-contract").await;
    let (client, orders) = (&setup.client, &setup.orders);
    let mut created = client.order_created();
    let mut shipped = client.order_shipped();
    let mut stats = client.stats_updated();

    let empty = client.get_dashboard_stats(GetDashboardStats {}).await.expect("stats");
    assert_eq!(empty, DashboardStats::default(), "no order seen yet");
    let recent = client.get_recent_orders(GetRecentOrders::default()).await.expect("recent");
    assert!(recent.is_empty());

    let first = place(orders, "c-ada", &[("p-keyboard", 2), ("p-mouse", 1)]).await;
    let (event, _) = tokio::time::timeout(WAIT, created.recv())
        .await
        .expect("orderCreated is forwarded in time")
        .expect("the connection stays up");
    assert_eq!(event.order_id, first.id);
    // Forwarded only once applied: the order is there to be fetched at once.
    let view = client
        .get_order_by_id(GetOrderById { order_id: first.id.clone() })
        .await
        .expect("the forwarded order is known");
    assert_eq!(view.order, first);
    assert_eq!(view.history.iter().map(|s| s.status).collect::<Vec<_>>(), [OrderStatus::Pending]);

    update(orders, &first.id, OrderStatus::Processing).await;
    update(orders, &first.id, OrderStatus::Shipped).await;
    let (shipping, _) = tokio::time::timeout(WAIT, shipped.recv())
        .await
        .expect("orderShipped is forwarded in time")
        .expect("the connection stays up");
    assert_eq!(shipping.carrier, "UPS");

    let second = place(orders, "c-grace", &[("p-cable", 3)]).await;
    let request = CancelOrder { order_id: second.id.clone(), reason: Some("changed mind".into()) };
    orders.cancel_order(request).await.expect("the order is cancelled");

    let figures = stats_until(&mut stats, |s| s.total_orders == 2 && s.cancelled_orders == 1).await;
    assert_eq!(figures.shipped_orders, 1);
    assert_eq!(figures.pending_orders + figures.processing_orders + figures.delivered_orders, 0);
    assert_eq!(figures.total_revenue, first.total_amount, "a cancelled order earns nothing");
    assert_eq!(figures.average_order_value, first.total_amount);
    let asked = client.get_dashboard_stats(GetDashboardStats {}).await.expect("stats");
    assert_eq!(asked, figures, "the answer matches the last statsUpdated");
    assert_eq!(setup.dashboard.stats(), figures);

    let view = client
        .get_order_by_id(GetOrderById { order_id: first.id.clone() })
        .await
        .expect("the order is known");
    assert_eq!(view.order.status, OrderStatus::Shipped);
    let steps: Vec<_> = view.history.iter().map(|s| s.status).collect();
    assert_eq!(steps, [OrderStatus::Pending, OrderStatus::Processing, OrderStatus::Shipped]);
    let shipment = view.shipment.expect("the shipment is recorded");
    assert_eq!(shipment.tracking_number, "1Z999AA10123456784");

    let recent = client.get_recent_orders(GetRecentOrders::default()).await.expect("recent");
    let ids: Vec<_> = recent.iter().map(|v| v.order.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "newest first");
    let cancelled = &recent[0].order;
    assert_eq!(cancelled.cancellation_reason.as_deref(), Some("changed mind"));
    let one = client.get_recent_orders(GetRecentOrders { limit: Some(1) }).await.expect("one");
    assert_eq!(one.len(), 1);

    setup.stop().await;
}

#[tokio::test]
async fn errors_are_typed_on_the_wire() {
    let setup = setup("dashboard-errors").await;
    let missing = setup
        .client
        .get_order_by_id(GetOrderById { order_id: "order-404".into() })
        .await
        .expect_err("no such order was seen");
    let Some(error) = missing.contract() else { panic!("a contract error, got {missing:?}") };
    assert_eq!(error, &DashboardError::order_not_found("order-404"));
    assert_eq!((error.code(), error.status()), ("ORDER_NOT_FOUND", 404));
    assert_eq!(error.to_string(), "Order with ID order-404 not found");

    for limit in [0, MAX_RECENT_ORDERS + 1] {
        let refused = setup
            .client
            .get_recent_orders(GetRecentOrders { limit: Some(limit) })
            .await
            .expect_err("the limit is out of range");
        assert!(
            matches!(&refused, CallError::Contract(DashboardError::InvalidLimit { limit: l, .. }) if *l == limit),
            "{refused:?}"
        );
    }
    setup.stop().await;
}

/// One HTTP/1.1 GET over a plain socket: the status line, headers and body as text.
async fn get(page_url: &str, path: &str) -> String {
    let authority = page_url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .expect("the page URL is http://HOST:PORT/");
    let mut socket = tokio::net::TcpStream::connect(authority).await.expect("the page listens");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("the request is sent");
    let mut response = String::new();
    tokio::time::timeout(WAIT, socket.read_to_string(&mut response))
        .await
        .expect("the page answers in time")
        .expect("the answer is text");
    response
}

#[tokio::test]
async fn serves_the_page_and_where_its_websocket_is() {
    let setup = setup("dashboard-http").await;
    let page_url = setup.dashboard.page_url().to_owned();
    assert!(page_url.starts_with("http://127.0.0.1:") && !page_url.ends_with(":0/"), "{page_url}");

    let index = get(&page_url, "/").await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("id=\"recent-orders-list\"") && index.contains("/app.js"));
    assert!(index.to_ascii_lowercase().contains("cache-control: no-store"));

    let config = get(&page_url, "/config.js").await;
    let ws = setup.dashboard.ws_address();
    let port = ws.rsplit_once(':').and_then(|(_, rest)| rest.split('/').next()).expect("a port");
    assert!(config.contains(&format!("\"wsPort\":\"{port}\"")), "{config}");
    assert!(config.contains(&format!("\"wsAddress\":\"{ws}\"")), "{config}");

    let script = get(&page_url, "/app.js").await;
    assert!(script.contains("text/javascript") && script.contains("getDashboardStats"));
    let client = get(&page_url, "/messaging.js").await;
    assert!(client.contains("text/javascript") && client.contains("\"request\""));
    let missing = get(&page_url, "/nothing-here").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    setup.stop().await;
}

#[tokio::test]
async fn start_names_what_it_could_not_reach() {
    let options = DashboardOptions::new("127.0.0.1:0", "memory://dashboard-no-such-service");
    let error = dashboard::start(options).await.expect_err("there is no order service");
    assert!(matches!(error, dashboard::DashboardStartError::OrderService { .. }), "{error:?}");
    assert!(error.to_string().contains("memory://dashboard-no-such-service"), "{error}");

    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = taken.local_addr().expect("its address").to_string();
    let options = DashboardOptions::new(address.clone(), "memory://dashboard-no-such-service");
    let error = dashboard::start(options).await.expect_err("the port is taken");
    assert!(matches!(error, dashboard::DashboardStartError::Listen { .. }), "{error:?}");
    assert!(error.to_string().contains(&address), "{error}");
}

#[tokio::test]
async fn the_simulator_moves_orders_through_their_lives() {
    let setup = setup("dashboard-simulator").await;
    let mut stats = setup.client.stats_updated();
    let products = ProductServiceClient::connect(setup.services.products.address())
        .await
        .expect("product client");
    let simulator =
        Simulator::start(setup.orders.clone(), Some(products), Duration::from_millis(5));
    let figures = stats_until(&mut stats, |s| s.total_orders >= 3 && s.delivered_orders >= 1).await;
    simulator.stop();
    assert!(figures.total_revenue > 0.0, "{figures:?}");
    setup.stop().await;
}

#[tokio::test]
async fn follows_an_order_service_over_ws_again_after_it_restarts() {
    let products = examples::start_product_service("memory://dashboard-restart-products")
        .await
        .expect("the product service starts");
    let orders = examples::start_order_service("ws://127.0.0.1:0/orders", products.address())
        .await
        .expect("the order service starts over ws://");
    let address = orders.address().to_owned();
    let dashboard = dashboard::start(DashboardOptions::new("127.0.0.1:0", address.clone()))
        .await
        .expect("the dashboard follows the order service over ws://");
    let client = DashboardServiceClient::connect(dashboard.ws_address()).await.expect("client");
    let mut created = client.order_created();

    orders.stop().await;
    let orders = examples::start_order_service(&address, products.address())
        .await
        .expect("the order service starts again on the same address");
    let placer = OrderServiceClient::connect(&address).await.expect("order client");
    // The dashboard reconnects on its own; orders placed before it has are not seen, so
    // place one at a time until one is forwarded.
    let mut placed = Vec::new();
    let mut forwarded = None;
    let deadline = tokio::time::Instant::now() + WAIT;
    for _ in 0..50 {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        placed.push(place(&placer, "c-ken", &[("p-cable", 1)]).await.id);
        match tokio::time::timeout(Duration::from_millis(200), created.recv()).await {
            Ok(Some((event, _))) => {
                forwarded = Some(event);
                break;
            }
            Ok(None) => panic!("the dashboard client lost its connection"),
            Err(_) => {}
        }
    }
    let forwarded = forwarded.expect("an order placed after the restart is forwarded");
    assert!(placed.contains(&forwarded.order_id), "{forwarded:?} is one of {placed:?}");
    let view = client
        .get_order_by_id(GetOrderById { order_id: forwarded.order_id.clone() })
        .await
        .expect("the forwarded order is known");
    assert_eq!(view.order.customer_id, "c-ken");

    dashboard.stop().await;
    orders.stop().await;
    products.stop().await;
}

#[tokio::test]
async fn only_its_own_page_may_open_the_websocket_from_a_browser() {
    let setup = setup("dashboard-origin").await;
    let page = setup.dashboard.page_url().trim_end_matches('/').to_owned();
    let ws = setup.dashboard.ws_address();
    let authority = ws.trim_start_matches("ws://").split('/').next().expect("authority");
    let status = |origin: String| async move {
        let request = format!(
            "GET /dashboard HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{origin}\r\n"
        );
        let mut socket = tokio::net::TcpStream::connect(authority).await.expect("connects");
        socket.write_all(request.as_bytes()).await.expect("writes");
        let mut head = [0u8; 64];
        let read = tokio::time::timeout(WAIT, socket.read(&mut head)).await.expect("in time");
        let text = String::from_utf8_lossy(&head[..read.expect("reads")]).into_owned();
        text.lines().next().unwrap_or_default().to_owned()
    };
    assert_eq!(status(format!("Origin: {page}\r\n")).await, "HTTP/1.1 101 Switching Protocols");
    let localhost = page.replace("127.0.0.1", "localhost");
    assert_eq!(
        status(format!("Origin: {localhost}\r\n")).await,
        "HTTP/1.1 101 Switching Protocols"
    );
    assert_eq!(status(String::new()).await, "HTTP/1.1 101 Switching Protocols", "not a browser");
    let other = status("Origin: https://evil.example\r\n".to_owned()).await;
    assert_eq!(other, "HTTP/1.1 403 Forbidden");
    setup.stop().await;
}
