//! The guide's microservices scenario in one process over `memory://`: an order service
//! that checks and reserves stock in a product service, and a notification service that
//! e-mails customers about every order event.
//!
//! Both services ask for a login as the separate processes do (`examples::auth`): the demo's
//! client logs in as `alice`, the order service to the product service as `order-service`,
//! and the notification service to the order service as `notification-service`.
//!
//! Run with `cargo run -p examples --example microservices`.

use std::error::Error;
use std::time::Duration;

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderLine,
    OrderServiceClient, OrderStatus, TrackingInfo, UpdateOrderStatus,
};
use contracts::product::{GetProductById, ProductServiceClient};
use examples::auth::{DemoAuth, ALICE_PASSWORD};
use examples::clock::now_millis;
use examples::NotificationService;
use messaging_runtime::auth::Credentials;
use messaging_runtime::{CallError, ErrorCode};

type Outcome<T = ()> = Result<T, Box<dyn Error>>;

/// How long the demo waits for the notification service to catch up after each step.
const NOTIFICATION_WAIT: Duration = Duration::from_secs(5);

/// The demo's clients, and how many e-mails it expects so far.
struct Demo {
    orders: OrderServiceClient,
    products: ProductServiceClient,
    notifications: NotificationService,
    expected: usize,
}

#[tokio::main]
async fn main() -> Outcome {
    println!("Magic Button Messaging: microservices in one process");
    let auth = DemoAuth::new()?;
    let services = examples::start_all_with("demo", Some(&auth)).await?;
    println!(
        "1. Product service on {}, order service on {}",
        services.products.address(),
        services.orders.address()
    );
    let orders = OrderServiceClient::connect(services.orders.address()).await?;
    let alice = orders.inner().login(Credentials::new("alice", ALICE_PASSWORD)).await?;
    println!("   Logged in to the order service as {}", alice.actor.id);
    let mut demo = Demo {
        orders,
        products: ProductServiceClient::connect(services.products.address()).await?,
        notifications: NotificationService::connect_logged_in(services.orders.address()).await?,
        expected: 0,
    };
    println!(
        "2. Notification service subscribed to orderCreated, orderStatusChanged, orderShipped"
    );
    let first = demo.lifecycle().await?;
    let second = demo.cancellation().await?;
    demo.errors(&first, &second).await?;
    println!("13. {} e-mails sent; stopping", demo.notifications.sent().len());
    demo.notifications.stop();
    services.stop().await;
    Ok(())
}

impl Demo {
    /// Creates an order and drives it through every status up to delivered.
    async fn lifecycle(&mut self) -> Outcome<Order> {
        self.show_stock("3. Stock before", "p-keyboard").await?;
        println!("4. Customer c-ada orders 2 x p-keyboard and 1 x p-mouse");
        let order = self.create("c-ada", &[("p-keyboard", 2), ("p-mouse", 1)]).await?;
        self.settle(1).await?;
        println!("   -> {} is {}, total {:.2}", order.id, order.status, order.total_amount);
        self.show_stock("5. Stock after the reservation", "p-keyboard").await?;
        println!("6. {}: pending -> processing", order.id);
        self.update(&order.id, OrderStatus::Processing, None).await?;
        self.settle(1).await?;
        println!("7. {}: processing -> shipped, with tracking", order.id);
        let tracking = TrackingInfo {
            tracking_number: "1Z999AA10123456784".into(),
            carrier: "UPS".into(),
            estimated_delivery: now_millis() + 3 * 24 * 60 * 60 * 1000,
        };
        self.update(&order.id, OrderStatus::Shipped, Some(tracking)).await?;
        self.settle(2).await?;
        println!("8. {}: shipped -> delivered", order.id);
        let order = self.update(&order.id, OrderStatus::Delivered, None).await?;
        self.settle(1).await?;
        Ok(order)
    }

    /// Creates a second order and cancels it with a reason: the stock comes back.
    async fn cancellation(&mut self) -> Outcome<Order> {
        println!("9. Customer c-grace orders 1 x p-monitor");
        let order = self.create("c-grace", &[("p-monitor", 1)]).await?;
        self.settle(1).await?;
        println!("   -> {} is {}, total {:.2}", order.id, order.status, order.total_amount);
        self.show_stock("   Stock after the reservation", "p-monitor").await?;
        println!("10. c-grace cancels {}", order.id);
        let request =
            CancelOrder { order_id: order.id.clone(), reason: Some("Found a better deal".into()) };
        let order = self.orders.cancel_order(request).await?;
        self.settle(1).await?;
        let reason = order.cancellation_reason.as_deref().unwrap_or_default();
        println!("   -> {} is {} ({reason})", order.id, order.status);
        self.show_stock("   Stock after the release", "p-monitor").await?;
        Ok(order)
    }

    /// Triggers every error of the order contract and prints it.
    async fn errors(&mut self, delivered: &Order, cancelled: &Order) -> Outcome {
        println!("11. Every error of the order contract:");
        let missing = GetOrderById { order_id: "order-404".into() };
        expect_error("a. get an unknown order", self.orders.get_order_by_id(missing).await)?;
        let request = UpdateOrderStatus {
            order_id: delivered.id.clone(),
            status: OrderStatus::Processing,
            tracking_info: None,
        };
        let result = self.orders.update_order_status(request).await;
        expect_error("b. move a delivered order back to processing", result)?;
        let result = self.create_raw("c-ada", &[("p-monitor", 50)]).await;
        expect_error("c. order 50 monitors", result)?;
        let request = CancelOrder { order_id: cancelled.id.clone(), reason: None };
        expect_error("d. cancel a cancelled order", self.orders.cancel_order(request).await)?;
        println!("12. Failed requests publish no events, so no e-mails went out for them");
        Ok(())
    }

    async fn create(&self, customer: &str, lines: &[(&str, u32)]) -> Outcome<Order> {
        Ok(self.create_raw(customer, lines).await?)
    }

    async fn create_raw(
        &self,
        customer: &str,
        lines: &[(&str, u32)],
    ) -> Result<Order, CallError<OrderError>> {
        let items = lines
            .iter()
            .map(|(id, quantity)| OrderLine { product_id: (*id).into(), quantity: *quantity })
            .collect();
        let request = CreateOrder {
            customer_id: customer.into(),
            items,
            shipping_address: address(customer),
        };
        self.orders.create_order(request).await
    }

    async fn update(
        &self,
        order_id: &str,
        status: OrderStatus,
        tracking_info: Option<TrackingInfo>,
    ) -> Outcome<Order> {
        let request = UpdateOrderStatus { order_id: order_id.into(), status, tracking_info };
        Ok(self.orders.update_order_status(request).await?)
    }

    async fn show_stock(&self, label: &str, product_id: &str) -> Outcome {
        let product = self
            .products
            .get_product_by_id(GetProductById { product_id: product_id.into() })
            .await?;
        println!("{label}: {} ({}) has {} in stock", product.id, product.name, product.stock);
        Ok(())
    }

    /// Waits until the notification service has sent `more` further e-mails.
    async fn settle(&mut self, more: usize) -> Outcome {
        self.expected += more;
        self.notifications.wait_for(self.expected, NOTIFICATION_WAIT).await?;
        Ok(())
    }
}

/// Prints the contract error a request failed with; anything else ends the demo.
fn expect_error(label: &str, result: Result<Order, CallError<OrderError>>) -> Outcome {
    match result {
        Err(CallError::Contract(error)) => {
            println!("   {label}: {} ({}) \"{error}\"", error.code(), error.status());
            Ok(())
        }
        Err(other) => Err(format!("{label}: expected a contract error, got: {other}").into()),
        Ok(order) => Err(format!("{label}: expected an error, got order {}", order.id).into()),
    }
}

fn address(name: &str) -> Address {
    Address {
        name: name.into(),
        street: "1 Analytical Engine Way".into(),
        city: "London".into(),
        state: "Greater London".into(),
        postal_code: "N1 9GU".into(),
        country: "UK".into(),
    }
}
