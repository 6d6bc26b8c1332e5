//! The data both sides serve (~600-byte orders in a map), and ours: the generated client and
//! server.

use std::collections::HashMap;
use std::sync::Arc;

use contracts::order::{
    Address, CancelOrder, CreateOrder, GetOrderById, Order, OrderError, OrderItem, OrderService,
    OrderServiceClient, OrderServiceServer, OrderStatus, UpdateOrderStatus,
};
use messaging_runtime::{Context, RunningServer, Server};

use crate::ORDERS;

// ---------------------------------------------------------------------------------------
// The data: ~600-byte orders in a map
// ---------------------------------------------------------------------------------------

/// The `n`th order: three items, a full address, about 600 bytes as JSON.
pub(crate) fn sample_order(n: usize) -> Order {
    let item = |sku: &str, name: &str, price: f64, quantity: u32| OrderItem {
        product_id: format!("prod-{sku}-{n:04}"),
        name: name.to_owned(),
        price,
        quantity,
    };
    let items = vec![
        item("kbd", "Mechanical Keyboard, US layout", 129.99, 1),
        item("mouse", "Wireless Ergonomic Mouse", 59.5, 2),
        item("cable", "Braided USB-C Cable, 2 m", 14.25, 3),
    ];
    let total_amount = items.iter().map(|i| i.price * f64::from(i.quantity)).sum();
    Order {
        id: format!("order-{n:06}"),
        customer_id: format!("customer-{:06}", n * 7 % 10_000),
        items,
        status: OrderStatus::Processing,
        total_amount,
        shipping_address: Address {
            name: "Ada Lovelace".to_owned(),
            street: "12 St James's Square, Flat 4".to_owned(),
            city: "London".to_owned(),
            state: "Greater London".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            country: "United Kingdom".to_owned(),
        },
        created_at: 1_717_000_000_000 + n as u64,
        updated_at: 1_717_000_360_000 + n as u64,
        cancellation_reason: None,
    }
}

/// The `ORDERS` orders a server holds, by id.
pub(crate) fn sample_orders() -> HashMap<String, Order> {
    (0..ORDERS).map(sample_order).map(|o| (o.id.clone(), o)).collect()
}

/// The ids the clients ask for, in the order they ask.
pub(crate) fn request_ids() -> Arc<Vec<String>> {
    // A stride that is coprime with ORDERS walks every order without a predictable pattern.
    Arc::new((0..ORDERS).map(|i| format!("order-{:06}", i * 389 % ORDERS)).collect())
}

// ---------------------------------------------------------------------------------------
// Ours: the generated client and server
// ---------------------------------------------------------------------------------------

/// The benchmark's order service: `get_order_by_id` looks the order up and clones it.
struct BenchOrders {
    orders: HashMap<String, Order>,
}

fn not_here() -> OrderError {
    OrderError::ProductServiceUnavailable { reason: "not part of the benchmark".to_owned() }
}

impl OrderService for BenchOrders {
    async fn create_order(&self, _req: CreateOrder, _cx: Context) -> Result<Order, OrderError> {
        Err(not_here())
    }

    async fn get_order_by_id(&self, req: GetOrderById, _cx: Context) -> Result<Order, OrderError> {
        match self.orders.get(&req.order_id) {
            Some(order) => Ok(order.clone()),
            None => Err(OrderError::OrderNotFound { order_id: req.order_id }),
        }
    }

    async fn update_order_status(
        &self,
        _req: UpdateOrderStatus,
        _cx: Context,
    ) -> Result<Order, OrderError> {
        Err(not_here())
    }

    async fn cancel_order(&self, _req: CancelOrder, _cx: Context) -> Result<Order, OrderError> {
        Err(not_here())
    }
}

/// Starts the generated server on `address` and returns it with `clients` clients of it.
pub(crate) async fn start_ours(
    address: &str,
    clients: usize,
) -> (RunningServer, Vec<OrderServiceClient>) {
    let service = BenchOrders { orders: sample_orders() };
    let server = Server::bind(address)
        .await
        .unwrap_or_else(|e| panic!("{address} binds: {e}"))
        .serve(OrderServiceServer::new(service))
        .start()
        .await
        .expect("the order server starts");
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = OrderServiceClient::connect(server.address())
            .await
            .unwrap_or_else(|e| panic!("a client connects to {}: {e}", server.address()));
        connected.push(client);
    }
    (server, connected)
}
