//! The API gateway over real HTTP on an ephemeral port of 127.0.0.1: the four routes, the
//! order service's contract errors as HTTP statuses in the error body, malformed bodies,
//! `x-request-id`, the bearer token and client metadata in the message context the order
//! service sees, runtime failures, and the `api-gateway` program itself.

#[path = "support/http.rs"]
mod http_client;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use contracts::order::{
    CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderService, OrderServiceEvents,
    OrderServiceServer, OrderStatus, UpdateOrderStatus,
};
use contracts::product::ProductServiceClient;
use examples::gateway::{self, GatewayOptions, RunningGateway};
use examples::Orders;
use http::Method;
use http_client::{Answer, Http};
use messaging_runtime::{Client, Context, MessageContext, RunningServer, Server};
use serde_json::{json, Value};

/// What the order service saw: the request's wire name and its message context.
type Seen = Arc<Mutex<Vec<(&'static str, MessageContext)>>>;

/// The guide's order service, recording the context of every request it gets.
struct Recording {
    orders: Orders,
    seen: Seen,
}

impl Recording {
    fn record(&self, request: &'static str, cx: &Context) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((request, cx.message().clone()));
    }
}

impl OrderService for Recording {
    async fn create_order(&self, req: CreateOrder, cx: Context) -> Result<Order, OrderError> {
        self.record("createOrder", &cx);
        self.orders.create_order(req, cx).await
    }

    async fn get_order_by_id(&self, req: GetOrderById, cx: Context) -> Result<Order, OrderError> {
        self.record("getOrderById", &cx);
        self.orders.get_order_by_id(req, cx).await
    }

    async fn update_order_status(
        &self,
        req: UpdateOrderStatus,
        cx: Context,
    ) -> Result<Order, OrderError> {
        self.record("updateOrderStatus", &cx);
        self.orders.update_order_status(req, cx).await
    }

    async fn cancel_order(&self, req: CancelOrder, cx: Context) -> Result<Order, OrderError> {
        self.record("cancelOrder", &cx);
        self.orders.cancel_order(req, cx).await
    }
}

/// The product service, the recording order service and the gateway in front of it.
struct Setup {
    products: RunningServer,
    orders: RunningServer,
    gateway: RunningGateway,
    http: Http,
    seen: Seen,
}

impl Setup {
    /// Starts everything; `prefix` names this test's `memory://` addresses.
    async fn start(prefix: &str) -> Self {
        let products = examples::start_product_service(&format!("memory://{prefix}-products"))
            .await
            .expect("the product service starts");
        let product_client = Client::builder()
            .source(examples::ORDER_SERVICE_SOURCE)
            .connect(products.address())
            .await
            .expect("the product service is reachable");
        let server =
            Server::bind(&format!("memory://{prefix}-orders")).await.expect("the address is free");
        let seen = Seen::default();
        let recording = Recording {
            orders: Orders::new(
                ProductServiceClient::from_client(product_client),
                OrderServiceEvents::new(server.broadcaster()),
            ),
            seen: Arc::clone(&seen),
        };
        let orders = server
            .serve(OrderServiceServer::new(recording))
            .start()
            .await
            .expect("the order service starts");
        let gateway = gateway::start(GatewayOptions::new("127.0.0.1:0", orders.address()))
            .await
            .expect("the gateway starts");
        let http = Http::new(gateway.url());
        Self { products, orders, gateway, http, seen }
    }

    /// The contexts the order service saw so far.
    fn seen(&self) -> Vec<(&'static str, MessageContext)> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The context of the last request the order service saw.
    fn last_seen(&self) -> MessageContext {
        self.seen().pop().expect("the order service saw a request").1
    }

    /// `POST /orders` for `quantity` of `product`; checks the 201 and returns the order.
    async fn create(&self, product: &str, quantity: u32) -> Order {
        let answer = self.http.json(Method::POST, "/orders", &order_body(product, quantity)).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        let order: Order = serde_json::from_value(answer.json()).expect("the body is an order");
        assert_eq!(answer.header("location"), Some(format!("/orders/{}", order.id).as_str()));
        assert_eq!(answer.header("content-type"), Some("application/json"));
        order
    }

    async fn stop(self) {
        self.gateway.stop().await;
        self.orders.stop().await;
        self.products.stop().await;
    }
}

/// A `createOrder` body.
fn order_body(product: &str, quantity: u32) -> Value {
    json!({
        "customerId": "customer-7",
        "items": [{"productId": product, "quantity": quantity}],
        "shippingAddress": {
            "name": "Ada Lovelace", "street": "12 St James's Square", "city": "London",
            "state": "London", "postalCode": "SW1Y 4JH", "country": "UK",
        },
    })
}

/// Checks an error answer: status, code, and the body's shape; returns the `error` object.
fn expect_error(answer: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"), "{answer:?}");
    let error = answer.error();
    assert_eq!(error["code"], code, "{answer:?}");
    error
}

#[tokio::test]
async fn creates_reads_moves_and_cancels_orders() {
    let setup = Setup::start("gateway-routes").await;
    let order = setup.create("p-keyboard", 2).await;
    assert_eq!((order.status, order.items[0].quantity), (OrderStatus::Pending, 2));
    assert!((order.total_amount - 179.98).abs() < 1e-9, "{order:?}");

    let read = setup.http.get(&format!("/orders/{}", order.id)).await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(serde_json::from_value::<Order>(read.json()).expect("an order"), order);

    let path = format!("/orders/{}/status", order.id);
    let moved = setup.http.json(Method::PUT, &path, &json!({"status": "processing"})).await;
    assert_eq!((moved.status, moved.json()["status"].clone()), (200, json!("processing")));
    let tracking = json!({"trackingNumber": "TRK-1", "carrier": "DHL", "estimatedDelivery": 1});
    let body = json!({"status": "shipped", "trackingInfo": tracking});
    let shipped = setup.http.json(Method::PUT, &path, &body).await;
    assert_eq!((shipped.status, shipped.json()["status"].clone()), (200, json!("shipped")));

    let other = setup.create("p-mouse", 1).await;
    let cancel = format!("/orders/{}/cancel", other.id);
    let cancelled =
        setup.http.json(Method::POST, &cancel, &json!({"reason": "changed mind"})).await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(cancelled.json()["cancellationReason"], "changed mind");

    // The cancel body may be left out, as with the guide's `req.body.reason`.
    let third = setup.create("p-cable", 1).await;
    let path = format!("/orders/{}/cancel", third.id);
    let bare = setup.http.send(Method::POST, &path, &[], None).await;
    assert_eq!(
        (bare.status, bare.json()["cancellationReason"].clone()),
        (200, json!("Cancelled by user"))
    );

    let names: Vec<_> = setup.seen().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "createOrder",
            "getOrderById",
            "updateOrderStatus",
            "updateOrderStatus",
            "createOrder",
            "cancelOrder",
            "createOrder",
            "cancelOrder",
        ]
    );
    setup.stop().await;
}

#[tokio::test]
async fn contract_errors_answer_the_status_of_the_error_map() {
    let setup = Setup::start("gateway-contract-errors").await;
    let missing = setup.http.get("/orders/order-404").await;
    let error = expect_error(&missing, 404, "ORDER_NOT_FOUND");
    assert_eq!(error["message"], "Order with ID order-404 not found");
    assert_eq!(error["details"], json!({"orderId": "order-404"}));

    let order = setup.create("p-monitor", 1).await;
    let path = format!("/orders/{}/status", order.id);
    let skipped = setup.http.json(Method::PUT, &path, &json!({"status": "delivered"})).await;
    let error = expect_error(&skipped, 400, "INVALID_ORDER_STATUS_TRANSITION");
    assert_eq!(error["message"], "Cannot transition order from pending to delivered");
    assert_eq!(
        error["details"],
        json!({"currentStatus": "pending", "requestedStatus": "delivered"})
    );

    let too_many = setup.http.json(Method::POST, "/orders", &order_body("p-monitor", 50)).await;
    let error = expect_error(&too_many, 400, "PRODUCT_NOT_AVAILABLE");
    assert_eq!(error["details"], json!({"productId": "p-monitor", "requestedQuantity": 50}));
    let unknown = setup.http.json(Method::POST, "/orders", &order_body("p-unicorn", 1)).await;
    expect_error(&unknown, 400, "PRODUCT_NOT_AVAILABLE");

    let cancel = format!("/orders/{}/cancel", order.id);
    let first = setup.http.json(Method::POST, &cancel, &json!({})).await;
    assert_eq!(first.status, 200, "{first:?}");
    let again = setup.http.json(Method::POST, &cancel, &json!({})).await;
    let error = expect_error(&again, 400, "ORDER_ALREADY_CANCELLED");
    assert_eq!(error["message"], format!("Order with ID {} is already cancelled", order.id));
    let unknown_cancel =
        setup.http.json(Method::POST, "/orders/order-404/cancel", &json!({})).await;
    expect_error(&unknown_cancel, 404, "ORDER_NOT_FOUND");
    setup.stop().await;
}

#[tokio::test]
async fn malformed_bodies_answer_400_and_say_what_was_wrong() {
    let setup = Setup::start("gateway-bodies").await;
    let json_type = [("content-type", "application/json")];
    let post =
        |body: &'static str| setup.http.send(Method::POST, "/orders", &json_type, Some(body));

    let broken = post(r#"{"customerId": "c-1", "items": ["#).await;
    let error = expect_error(&broken, 400, "INVALID_JSON");
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.starts_with("the request body is not valid JSON: EOF while parsing"),
        "{message}"
    );
    assert_eq!(error["details"], json!({"line": 1, "column": 32}));
    expect_error(&post("customerId=c-1").await, 400, "INVALID_JSON");
    let empty = expect_error(&post("").await, 400, "INVALID_JSON");
    assert_eq!(empty["message"], "the request body is empty: expected a JSON object");

    let missing =
        expect_error(&post(r#"{"customerId": "c-1"}"#).await, 400, "INVALID_REQUEST_BODY");
    assert!(
        missing["message"].as_str().is_some_and(|m| m.contains("missing field `items`")),
        "{missing}"
    );
    let mut wrong = order_body("p-mouse", 1);
    wrong["items"][0]["quantity"] = json!("two");
    let wrong = setup.http.json(Method::POST, "/orders", &wrong).await;
    let error = expect_error(&wrong, 400, "INVALID_REQUEST_BODY");
    assert_eq!(error["details"]["path"], "items[0].quantity");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("invalid type: string \"two\"")));
    let status =
        setup.http.json(Method::PUT, "/orders/order-1/status", &json!({"state": "x"})).await;
    expect_error(&status, 400, "INVALID_REQUEST_BODY");

    let body = order_body("p-mouse", 1).to_string();
    let text = [("content-type", "text/plain")];
    let as_text = setup.http.send(Method::POST, "/orders", &text, Some(&body)).await;
    let error = expect_error(&as_text, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("application/json")));
    let untyped = setup.http.send(Method::POST, "/orders", &[], Some(&body)).await;
    expect_error(&untyped, 415, "UNSUPPORTED_MEDIA_TYPE");

    assert!(setup.seen().is_empty(), "nothing malformed reaches the order service");
    setup.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated_and_reach_the_service() {
    let setup = Setup::start("gateway-request-ids").await;
    let given = [("x-request-id", "req-from-client-42")];
    let answer = setup.http.send(Method::GET, "/orders/order-404", &given, None).await;
    assert_eq!(answer.header("x-request-id"), Some("req-from-client-42"));
    assert_eq!(setup.last_seen().metadata["requestId"], "req-from-client-42");

    let first = setup.http.get("/orders/order-404").await;
    let generated = first.header("x-request-id").expect("a generated id").to_owned();
    assert!(generated.starts_with("gw-"), "{generated}");
    assert_eq!(setup.last_seen().metadata["requestId"], generated.as_str());
    let second = setup.http.get("/orders/order-404").await;
    assert_ne!(second.header("x-request-id"), Some(generated.as_str()), "fresh ids differ");

    // Also on answers that never reach the order service.
    let unrouted = setup.http.get("/nowhere").await;
    assert!(unrouted.header("x-request-id").is_some_and(|id| id.starts_with("gw-")));
    let refused = setup.http.send(Method::POST, "/orders", &given, Some("{")).await;
    assert_eq!(refused.header("x-request-id"), Some("req-from-client-42"));
    setup.stop().await;
}

#[tokio::test]
async fn the_bearer_token_and_client_metadata_reach_the_order_service() {
    let setup = Setup::start("gateway-context").await;
    let headers = [("authorization", "Bearer secret-token-1"), ("user-agent", "gateway-test/1.0")];
    setup.http.send(Method::GET, "/orders/order-404", &headers, None).await;
    let cx = setup.last_seen();
    let auth = cx.auth.as_ref().expect("the token travels in `auth`");
    assert_eq!(auth.token.as_deref(), Some("secret-token-1"));
    assert_eq!(auth.actor, None, "the gateway makes up no actor");
    assert_eq!(cx.source.as_deref(), Some(gateway::SOURCE));
    assert_eq!(cx.target.as_deref(), Some(gateway::TARGET));
    assert_eq!(cx.metadata["ipAddress"], "127.0.0.1");
    assert_eq!(cx.metadata["userAgent"], "gateway-test/1.0");

    let order = setup.create("p-cable", 3).await;
    assert!(setup.last_seen().auth.is_none(), "no Authorization header, no auth");
    let basic = [("authorization", "Basic dXNlcjpwYXNz")];
    setup.http.send(Method::GET, &format!("/orders/{}", order.id), &basic, None).await;
    assert!(setup.last_seen().auth.is_none(), "only a bearer token is forwarded");
    setup.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let setup = Setup::start("gateway-routing").await;
    let nowhere = expect_error(&setup.http.get("/products").await, 404, "NOT_FOUND");
    assert_eq!(nowhere["message"], "no route for GET /products");
    let delete = setup.http.send(Method::DELETE, "/orders/order-1", &[], None).await;
    expect_error(&delete, 405, "METHOD_NOT_ALLOWED");
    setup.stop().await;
}

/// An order service that never answers.
struct Stalled;

impl OrderService for Stalled {
    async fn create_order(&self, _: CreateOrder, _: Context) -> Result<Order, OrderError> {
        std::future::pending().await
    }
    async fn get_order_by_id(&self, _: GetOrderById, _: Context) -> Result<Order, OrderError> {
        std::future::pending().await
    }
    async fn update_order_status(
        &self,
        _: UpdateOrderStatus,
        _: Context,
    ) -> Result<Order, OrderError> {
        std::future::pending().await
    }
    async fn cancel_order(&self, _: CancelOrder, _: Context) -> Result<Order, OrderError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_slow_order_service_is_504_and_a_gone_one_503() {
    let server = Server::bind("memory://gateway-stalled").await.expect("the address is free");
    let stalled = server.serve(OrderServiceServer::new(Stalled)).start().await.expect("starts");
    let options = GatewayOptions {
        timeout: Duration::from_millis(200),
        ..GatewayOptions::new("127.0.0.1:0", stalled.address())
    };
    let gateway = gateway::start(options).await.expect("the gateway starts");
    let http = Http::new(gateway.url());
    let slow = http.get("/orders/order-1").await;
    let error = expect_error(&slow, 504, "TIMEOUT");
    assert_eq!(error["message"], "the order service did not answer within 200 ms");

    stalled.stop().await;
    let gone = http.get("/orders/order-1").await;
    expect_error(&gone, 503, "SERVICE_UNAVAILABLE");
    gateway.stop().await;
}

#[tokio::test]
async fn start_names_what_it_could_not_reach() {
    let options = GatewayOptions::new("127.0.0.1:0", "memory://gateway-no-such-service");
    let error = gateway::start(options).await.expect_err("there is no order service");
    assert!(matches!(error, gateway::GatewayStartError::OrderService { .. }), "{error:?}");
    assert!(error.to_string().contains("memory://gateway-no-such-service"), "{error}");

    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = taken.local_addr().expect("its address").to_string();
    let options = GatewayOptions::new(address.clone(), "memory://gateway-no-such-service");
    let error = gateway::start(options).await.expect_err("the port is taken");
    assert!(matches!(error, gateway::GatewayStartError::Listen { .. }), "{error:?}");
    assert!(error.to_string().contains(&address), "{error}");
}
