//! The microservices as separate processes over `ws://`: the `product-service`,
//! `order-service` and `notification-service` examples run as child processes on ephemeral
//! ports; an order runs through its lifecycle through a Rust client, and the notification
//! service's output shows an e-mail for every event. The services ask for a login: the
//! clients here log in as the demo user `alice`, the services as their own accounts.

#[path = "support/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use contracts::order::{
    Address, CreateOrder, Order, OrderError, OrderLine, OrderServiceClient, OrderStatus,
    TrackingInfo, UpdateOrderStatus, MAX_ORDER_LINES,
};
use contracts::product::{GetProductById, ProductServiceClient, ReserveProduct};
use examples::auth::{ALICE_PASSWORD, BOB_PASSWORD};
use messaging_runtime::auth::{AuthError, Credentials};
use messaging_runtime::{CallError, Client};
use process::ChildProcess;
use tokio::sync::OnceCell;

/// Bounds every wait on a service: its first line, an e-mail, a call, its exit.
const WAIT: Duration = Duration::from_secs(20);

/// Bounds building the examples (a no-op after `cargo test --workspace` built them).
const BUILD: Duration = Duration::from_secs(600);

const EXAMPLES: [&str; 3] = ["product-service", "order-service", "notification-service"];

/// Builds the three examples once per test binary and returns the directory they are in.
async fn examples_dir() -> &'static Path {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT.get_or_init(build_examples).await
}

/// Builds the three examples once per test binary.
async fn build_examples() -> PathBuf {
    process::build_examples(&EXAMPLES, BUILD).await
}

/// Starts example `name` with `args`, stopping when its stdin closes.
async fn start(name: &str, args: &[&str]) -> ChildProcess {
    let binary = examples_dir().await.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(binary);
    command.args(args).arg("--exit-on-stdin-close");
    ChildProcess::spawn(name, command)
}

/// Starts a service with `--listen ws://127.0.0.1:0` and reads the address it bound from
/// its first line.
async fn start_listening(name: &str, args: &[&str]) -> (ChildProcess, String) {
    let mut service = start(name, &[&["--listen", "ws://127.0.0.1:0"], args].concat()).await;
    let address = service.next_line(WAIT).await;
    let port = address
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|port| port.parse::<u16>().ok());
    assert!(
        port.is_some_and(|port| port != 0),
        "{name}'s first line must be the bound address, like ws://127.0.0.1:43521/, not {address:?}"
    );
    (service, address)
}

async fn connect(address: &str) -> Client {
    Client::builder().timeout(WAIT).connect(address).await.expect("the service accepts clients")
}

/// A client of the order service at `address`, logged in as `alice`.
async fn alice(address: &str) -> OrderServiceClient {
    let client = connect(address).await;
    client.login(Credentials::new("alice", ALICE_PASSWORD)).await.expect("alice logs in");
    OrderServiceClient::from_client(client)
}

/// Creates an order for `customer` and moves it through processing, shipped (with
/// `tracking`) and delivered.
async fn lifecycle(orders: &OrderServiceClient, customer: &str, tracking: &TrackingInfo) -> Order {
    let request = CreateOrder {
        customer_id: customer.into(),
        items: vec![OrderLine { product_id: "p-keyboard".into(), quantity: 2 }],
        shipping_address: Address {
            name: "Ada Lovelace".into(),
            street: "1 Analytical Engine Way".into(),
            city: "London".into(),
            state: "Greater London".into(),
            postal_code: "N1 9GU".into(),
            country: "UK".into(),
        },
    };
    let order = orders.create_order(request).await.expect("the order is created");
    assert_eq!(order.status, OrderStatus::Pending);
    let steps = [
        (OrderStatus::Processing, None),
        (OrderStatus::Shipped, Some(tracking.clone())),
        (OrderStatus::Delivered, None),
    ];
    for (status, tracking_info) in steps {
        let request = UpdateOrderStatus { order_id: order.id.clone(), status, tracking_info };
        let updated = orders.update_order_status(request).await.expect("the transition is valid");
        assert_eq!(updated.status, status);
    }
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_runs_through_services_in_separate_processes() {
    let (mut products, products_url) = start_listening("product-service", &[]).await;
    let (mut orders, orders_url) =
        start_listening("order-service", &["--products", &products_url]).await;
    let mut notifications = start("notification-service", &["--orders", &orders_url]).await;
    let ready = notifications.next_line(WAIT).await;
    assert!(
        ready.starts_with("notification-service: subscribed"),
        "unexpected first line {ready:?}"
    );

    let client = alice(&orders_url).await;
    let tracking = TrackingInfo {
        tracking_number: "1Z999AA10123456784".into(),
        carrier: "UPS".into(),
        estimated_delivery: 1_900_000_000_000,
    };
    let order = lifecycle(&client, "c-processes", &tracking).await;
    let id = &order.id;

    let products_client = ProductServiceClient::from_client(connect(&products_url).await);
    let keyboard = GetProductById { product_id: "p-keyboard".into() };
    let stock = products_client.get_product_by_id(keyboard).await.expect("the product exists");
    assert_eq!(stock.stock, 8, "the order service reserved 2 of 10 keyboards in the other process");

    // One e-mail per event: orderCreated, three orderStatusChanged, orderShipped. Handlers
    // run concurrently, so the lines may come in any order.
    let mut expected = vec![
        format!("Sending order confirmation email to customer c-processes for order {id} (1 item"),
        format!("Order {id} is now processing (was pending)"),
        format!("Order {id} is now shipped (was processing)"),
        format!("for order {id}: tracking number 1Z999AA10123456784, carrier UPS"),
        format!("Order {id} is now delivered (was shipped)"),
    ];
    for _ in 0..expected.len() {
        let line = notifications
            .line_where(
                "an e-mail still expected",
                |l| expected.iter().any(|e| l.contains(e)),
                WAIT,
            )
            .await;
        expected.retain(|e| !line.contains(e));
    }
    assert!(expected.is_empty(), "e-mails missing: {expected:?}\n{}", notifications.transcript());

    drop((client, products_client));
    notifications.stop(WAIT).await;
    let last = notifications.seen().last().cloned().unwrap_or_default();
    assert_eq!(last, "notification-service: 5 e-mails sent", "{}", notifications.transcript());
    orders.stop(WAIT).await;
    products.stop(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_with_a_clear_message() {
    let cases: [(&str, &[&str], &str); 4] = [
        ("order-service", &["--listen", "ws://127.0.0.1:0"], "missing `--products URL`"),
        ("product-service", &["--port", "80"], "unknown flag `--port`"),
        ("product-service", &["--listen"], "`--listen` needs a value: `--listen URL`"),
        ("notification-service", &["--orders", "ws://nowhere"], "invalid address"),
    ];
    for (name, args, message) in cases {
        let mut service = start(name, args).await;
        let status = service.wait_exit(WAIT).await.expect("a bad command line ends the program");
        assert!(!status.success(), "{name} {args:?} must fail\n{}", service.transcript());
        let transcript = service.transcript();
        assert!(transcript.contains(message), "{name} {args:?} must say {message:?}\n{transcript}");
    }
    let mut help = start("order-service", &["--help"]).await;
    let status = help.wait_exit(WAIT).await.expect("--help prints and exits");
    assert!(status.success(), "{}", help.transcript());
    assert!(help.seen().iter().any(|l| l.contains("--products URL")), "{}", help.transcript());
}

/// An order of one keyboard for `customer`.
fn one_keyboard(customer: &str) -> CreateOrder {
    CreateOrder {
        customer_id: customer.into(),
        items: vec![OrderLine { product_id: "p-keyboard".into(), quantity: 1 }],
        shipping_address: Address {
            name: "Grace Hopper".into(),
            street: "1 Compiler Lane".into(),
            city: "Arlington".into(),
            state: "VA".into(),
            postal_code: "22201".into(),
            country: "US".into(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_succeed_again_once_a_killed_product_service_is_back() {
    let (products, products_url) = start_listening("product-service", &[]).await;
    let (mut orders, orders_url) =
        start_listening("order-service", &["--products", &products_url]).await;
    let client = alice(&orders_url).await;
    client.create_order(one_keyboard("c-before")).await.expect("served while all is up");

    drop(products);
    // While the product service is down, an order fails at once, naming the dependency.
    let down = tokio::time::timeout(WAIT, async {
        loop {
            match client.create_order(one_keyboard("c-during")).await {
                Err(CallError::Contract(OrderError::ProductServiceUnavailable { reason })) => {
                    break reason
                }
                Ok(_) => panic!("an order went through with the product service killed"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    });
    let reason = down.await.expect("the order service notices the product service is gone");
    assert!(reason.contains(&products_url) && reason.contains("unreachable"), "{reason}");

    // The product service comes back on the same address: orders go through again.
    let mut products = start("product-service", &["--listen", &products_url]).await;
    let first = products.next_line(WAIT).await;
    assert_eq!(first, products_url, "listening on the same address again");
    let back = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match client.create_order(one_keyboard("c-after")).await {
                Ok(order) => break order,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let order = back.await.expect("orders succeed again within seconds");
    assert_eq!(order.status, OrderStatus::Pending);
    orders.stop(WAIT).await;
    products.stop(WAIT).await;
}

/// The keyboards in stock, as the product service says.
async fn keyboards(products: &ProductServiceClient) -> u32 {
    let request = GetProductById { product_id: "p-keyboard".into() };
    products.get_product_by_id(request).await.expect("looking a product up is open").stock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_orders_or_stock_needs_a_login_on_the_multi_process_demo() {
    let (mut products, products_url) = start_listening("product-service", &[]).await;
    let (mut orders, orders_url) =
        start_listening("order-service", &["--products", &products_url]).await;
    let stock = ProductServiceClient::from_client(connect(&products_url).await);
    let before = keyboards(&stock).await;

    // No login: refused before the handler runs, and no stock moves.
    let client = connect(&orders_url).await;
    let anonymous = OrderServiceClient::from_client(client.clone());
    match anonymous.create_order(one_keyboard("c-anonymous")).await {
        Err(CallError::Unauthenticated(wire)) => {
            assert_eq!((wire.code.as_str(), wire.status), ("UNAUTHENTICATED", Some(401)));
        }
        other => panic!("an anonymous createOrder must be UNAUTHENTICATED, got {other:?}"),
    }
    let reserve = ReserveProduct {
        product_id: "p-keyboard".into(),
        quantity: 1,
        order_id: "order-anonymous".into(),
    };
    let direct = stock.reserve_product(reserve).await;
    assert!(matches!(direct, Err(CallError::Unauthenticated(_))), "{direct:?}");
    assert_eq!(keyboards(&stock).await, before, "no stock was reserved");

    // A wrong password opens no session; a viewer may read but not order.
    let wrong = client.login(Credentials::new("alice", "not-alices-password")).await;
    assert!(matches!(wrong, Err(CallError::Contract(AuthError::InvalidCredentials))), "{wrong:?}");
    let viewer = connect(&orders_url).await;
    viewer.login(Credentials::new("bob", BOB_PASSWORD)).await.expect("bob logs in");
    let viewer = OrderServiceClient::from_client(viewer);
    match viewer.create_order(one_keyboard("c-bob")).await {
        Err(CallError::Forbidden(wire)) => {
            let permission = wire.details.as_ref().map(|d| d["permission"].clone());
            assert_eq!(permission, Some("orders:write".into()));
        }
        other => panic!("bob (viewer) must be FORBIDDEN to create orders, got {other:?}"),
    }
    assert_eq!(keyboards(&stock).await, before, "no stock was reserved");

    // Logged in as alice, the same request on the same connection goes through: the order
    // service reserves the stock under its own login.
    client.login(Credentials::new("alice", ALICE_PASSWORD)).await.expect("alice logs in");
    let order = anonymous.create_order(one_keyboard("c-alice")).await.expect("alice orders");
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(keyboards(&stock).await, before - 1, "one keyboard reserved for {}", order.id);

    drop((client, anonymous, viewer, stock));
    orders.stop(WAIT).await;
    products.stop(WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_service_takes_at_most_max_order_lines_lines() {
    let (mut products, products_url) = start_listening("product-service", &[]).await;
    let (mut orders, orders_url) =
        start_listening("order-service", &["--products", &products_url]).await;
    // This client does not check before sending: the order service refuses on its own.
    let client = Client::builder()
        .timeout(WAIT)
        .validate(false)
        .connect(&orders_url)
        .await
        .expect("the service accepts clients");
    client.login(Credentials::new("alice", ALICE_PASSWORD)).await.expect("alice logs in");
    let client = OrderServiceClient::from_client(client);
    let cables = |lines: u64| CreateOrder {
        items: vec![
            OrderLine { product_id: "p-cable".into(), quantity: 1 };
            usize::try_from(lines).expect("a small count")
        ],
        ..one_keyboard("c-many")
    };
    match client.create_order(cables(MAX_ORDER_LINES + 1)).await {
        Err(CallError::Validation(failure)) => {
            let fields: Vec<_> = failure.fields().iter().map(|f| (&*f.field, &*f.rule)).collect();
            assert_eq!(fields, [("items", "length")]);
        }
        other => panic!("101 lines must be a VALIDATION_ERROR naming items, got {other:?}"),
    }
    let order = client.create_order(cables(MAX_ORDER_LINES)).await.expect("100 lines are fine");
    assert_eq!(order.items.len(), 100);
    drop(client);
    orders.stop(WAIT).await;
    products.stop(WAIT).await;
}
