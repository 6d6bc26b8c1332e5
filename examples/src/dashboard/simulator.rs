//! A small order simulator, so the dashboard shows traffic with nothing else running: on
//! every tick it may place an order, and it moves one open order a step along
//! `pending → processing → shipped → delivered` (now and then cancelling one instead).
//!
//! Delivered stock is put back through the product service when one is given (the
//! warehouse restocks), so the demo can run for hours on the seeded catalogue.

use std::time::Duration;

use crate::clock::now_millis;
use contracts::order::{
    Address, CancelOrder, CreateOrder, Order, OrderLine, OrderServiceClient, OrderStatus,
    TrackingInfo, UpdateOrderStatus,
};
use contracts::product::{ProductServiceClient, ReleaseProduct};
use tokio::task::JoinHandle;

/// The customers the simulator orders for: id, name, street, city, state, postal code.
const CUSTOMERS: [(&str, &str, &str, &str, &str, &str); 6] = [
    ("c-ada", "Ada Lovelace", "12 St James's Square", "London", "LDN", "SW1Y 4JH"),
    ("c-grace", "Grace Hopper", "1 Navy Yard", "Arlington", "VA", "22202"),
    ("c-alan", "Alan Turing", "78 High Street", "Wilmslow", "CHS", "SK9 1AB"),
    ("c-edsger", "Edsger Dijkstra", "5 Plantage", "Nuenen", "NB", "5671"),
    ("c-barbara", "Barbara Liskov", "32 Vassar St", "Cambridge", "MA", "02139"),
    ("c-ken", "Ken Thompson", "600 Mountain Ave", "Murray Hill", "NJ", "07974"),
];

/// The seeded products, with the most of each an order takes.
const PRODUCTS: [(&str, u32); 4] =
    [("p-keyboard", 2), ("p-mouse", 3), ("p-monitor", 1), ("p-cable", 4)];

/// The carriers shipments go with.
const CARRIERS: [&str; 3] = ["UPS", "FedEx", "DHL"];

/// Below this many open orders, the simulator places one on every tick.
const MIN_OPEN: usize = 4;

/// How many orders the simulator keeps open at most.
const MAX_OPEN: usize = 8;

/// A running simulator. Dropping it (or [`Simulator::stop`]) stops it.
#[derive(Debug)]
pub struct Simulator {
    task: JoinHandle<()>,
}

impl Simulator {
    /// Starts acting on `orders` every `every`; `restock` puts delivered units back.
    pub fn start(
        orders: OrderServiceClient,
        restock: Option<ProductServiceClient>,
        every: Duration,
    ) -> Self {
        let mut state = State { orders, restock, open: Vec::new(), rng: Rng::seeded() };
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                state.step().await;
            }
        });
        Self { task }
    }

    /// Stops the simulator.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    orders: OrderServiceClient,
    restock: Option<ProductServiceClient>,
    /// Orders placed and not yet delivered or cancelled.
    open: Vec<Order>,
    rng: Rng,
}

impl State {
    async fn step(&mut self) {
        let open = self.open.len();
        if open < MIN_OPEN || (open < MAX_OPEN && self.rng.below(3) == 0) {
            self.place().await;
        }
        if open > 0 {
            let i = self.rng.below(open);
            self.advance(i).await;
        }
    }

    async fn place(&mut self) {
        let (customer_id, name, street, city, state, postal_code) =
            CUSTOMERS[self.rng.below(CUSTOMERS.len())];
        let mut items: Vec<OrderLine> = Vec::new();
        for _ in 0..=self.rng.below(2) {
            let (product_id, most) = PRODUCTS[self.rng.below(PRODUCTS.len())];
            if items.iter().all(|line| line.product_id != product_id) {
                let quantity = 1 + u32::try_from(self.rng.below(most as usize)).unwrap_or(0);
                items.push(OrderLine { product_id: product_id.to_owned(), quantity });
            }
        }
        let shipping_address = Address {
            name: name.to_owned(),
            street: street.to_owned(),
            city: city.to_owned(),
            state: state.to_owned(),
            postal_code: postal_code.to_owned(),
            country: if state.len() == 2 { "US" } else { "UK" }.to_owned(),
        };
        let request = CreateOrder { customer_id: customer_id.to_owned(), items, shipping_address };
        match self.orders.create_order(request).await {
            Ok(order) => self.open.push(order),
            // Out of stock until something is cancelled or restocked: try again later.
            Err(e) => eprintln!("simulator: could not place an order: {e}"),
        }
    }

    async fn advance(&mut self, i: usize) {
        let order = &self.open[i];
        let (id, status) = (order.id.clone(), order.status);
        let roll = self.rng.below(100);
        let moved = match status {
            OrderStatus::Pending if roll < 12 => {
                self.cancel(&id, "Customer changed their mind").await
            }
            OrderStatus::Processing if roll < 6 => self.cancel(&id, "Payment declined").await,
            OrderStatus::Pending => self.update(&id, OrderStatus::Processing, None).await,
            OrderStatus::Processing => {
                let tracking = TrackingInfo {
                    tracking_number: format!("1Z{:010}", self.rng.next() % 10_000_000_000),
                    carrier: CARRIERS[self.rng.below(CARRIERS.len())].to_owned(),
                    estimated_delivery: now_millis() + 3 * 24 * 60 * 60 * 1000,
                };
                self.update(&id, OrderStatus::Shipped, Some(tracking)).await
            }
            OrderStatus::Shipped => self.update(&id, OrderStatus::Delivered, None).await,
            OrderStatus::Delivered | OrderStatus::Cancelled => None,
        };
        match moved {
            Some(order) if order.status == OrderStatus::Delivered => {
                self.open.remove(i);
                self.put_back(&order).await;
            }
            Some(order) if order.status == OrderStatus::Cancelled => {
                self.open.remove(i);
            }
            Some(order) => self.open[i] = order,
            // Moved on by someone else, or gone: stop tracking it.
            None => {
                self.open.remove(i);
            }
        }
    }

    async fn update(
        &self,
        order_id: &str,
        status: OrderStatus,
        tracking_info: Option<TrackingInfo>,
    ) -> Option<Order> {
        let request = UpdateOrderStatus { order_id: order_id.to_owned(), status, tracking_info };
        self.orders
            .update_order_status(request)
            .await
            .map_err(|e| eprintln!("simulator: could not move {order_id} to {status}: {e}"))
            .ok()
    }

    async fn cancel(&self, order_id: &str, reason: &str) -> Option<Order> {
        let request = CancelOrder { order_id: order_id.to_owned(), reason: Some(reason.into()) };
        self.orders
            .cancel_order(request)
            .await
            .map_err(|e| eprintln!("simulator: could not cancel {order_id}: {e}"))
            .ok()
    }

    /// The warehouse restocks what was delivered.
    async fn put_back(&self, order: &Order) {
        let Some(products) = &self.restock else { return };
        for item in &order.items {
            let request = ReleaseProduct {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
                order_id: format!("restock-{}", order.id),
            };
            if let Err(e) = products.release_product(request).await {
                eprintln!("simulator: could not restock {}: {e}", item.product_id);
            }
        }
    }
}

/// xorshift64*, seeded through splitmix64: plenty for picking customers and products.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let mut z = now_millis().wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0), from the high bits, which are the good ones.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from((self.next() >> 32) % n.max(1) as u64).unwrap_or(0)
    }
}
