//! The dashboard's own view of the orders: every order it has seen, the order it saw them
//! in, their shipments and status histories, and the figures computed from them.

use std::collections::HashMap;

use contracts::dashboard::{DashboardStats, OrderView, Shipment, StatusStep};
use contracts::order::{Order, OrderStatus};

/// Every order the dashboard has seen.
#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    orders: HashMap<String, OrderView>,
    /// Order ids in the order they were first seen, oldest first.
    seen: Vec<String>,
    /// The time of the last change, milliseconds since the Unix epoch.
    updated_at: u64,
}

impl OrderBook {
    /// Takes in the order service's current copy of an order. A copy older than the one
    /// held (by `updatedAt`) is ignored; the status history is kept.
    pub(crate) fn upsert(&mut self, order: Order) {
        self.updated_at = self.updated_at.max(order.updated_at);
        match self.orders.get_mut(&order.id) {
            Some(view) if view.order.updated_at > order.updated_at => {}
            Some(view) => view.order = order,
            None => {
                self.seen.push(order.id.clone());
                let view = OrderView { order, shipment: None, history: Vec::new() };
                self.orders.insert(view.order.id.clone(), view);
            }
        }
    }

    /// Records that an order reached `status` at `at` (from its events); a repeat of the
    /// last status is not recorded twice. Unknown orders are ignored.
    pub(crate) fn record_status(&mut self, order_id: &str, status: OrderStatus, at: u64) {
        let Some(view) = self.orders.get_mut(order_id) else { return };
        if view.history.last().map(|step| step.status) != Some(status) {
            view.history.push(StatusStep { status, at });
        }
        self.updated_at = self.updated_at.max(at);
    }

    /// Records how an order was shipped. Unknown orders are ignored.
    pub(crate) fn record_shipment(&mut self, order_id: &str, shipment: Shipment, at: u64) {
        if let Some(view) = self.orders.get_mut(order_id) {
            view.shipment = Some(shipment);
            self.updated_at = self.updated_at.max(at);
        }
    }

    /// One order.
    pub(crate) fn get(&self, order_id: &str) -> Option<OrderView> {
        self.orders.get(order_id).cloned()
    }

    /// The `limit` most recently created orders, newest first (ties broken by the order in
    /// which the dashboard first saw them).
    pub(crate) fn recent(&self, limit: usize) -> Vec<OrderView> {
        let mut newest: Vec<(u64, usize, &OrderView)> = self
            .seen
            .iter()
            .enumerate()
            .filter_map(|(seen, id)| self.orders.get(id).map(|v| (v.order.created_at, seen, v)))
            .collect();
        newest.sort_by_key(|&(created_at, seen, _)| std::cmp::Reverse((created_at, seen)));
        newest.into_iter().take(limit).map(|(_, _, view)| view.clone()).collect()
    }

    /// The figures over every order seen.
    pub(crate) fn stats(&self) -> DashboardStats {
        let mut stats = DashboardStats { updated_at: self.updated_at, ..DashboardStats::default() };
        let mut billable = 0_u64;
        for view in self.orders.values() {
            let order = &view.order;
            stats.total_orders += 1;
            let count = match order.status {
                OrderStatus::Pending => &mut stats.pending_orders,
                OrderStatus::Processing => &mut stats.processing_orders,
                OrderStatus::Shipped => &mut stats.shipped_orders,
                OrderStatus::Delivered => &mut stats.delivered_orders,
                OrderStatus::Cancelled => &mut stats.cancelled_orders,
            };
            *count += 1;
            if order.status != OrderStatus::Cancelled {
                billable += 1;
                stats.total_revenue += order.total_amount;
            }
        }
        // Cents, so that sums of prices such as 0.1 + 0.2 read as money.
        stats.total_revenue = round_cents(stats.total_revenue);
        if billable > 0 {
            #[allow(clippy::cast_precision_loss, reason = "order counts stay far below 2^52")]
            let average = stats.total_revenue / billable as f64;
            stats.average_order_value = round_cents(average);
        }
        stats
    }
}

fn round_cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use contracts::order::Address;

    use super::*;

    fn order(id: &str, total: f64, status: OrderStatus, created_at: u64, updated_at: u64) -> Order {
        Order {
            id: id.to_owned(),
            customer_id: "c-ada".to_owned(),
            items: Vec::new(),
            status,
            total_amount: total,
            shipping_address: Address {
                name: "Ada".into(),
                street: "1 Analytical Way".into(),
                city: "London".into(),
                state: "LDN".into(),
                postal_code: "N1".into(),
                country: "UK".into(),
            },
            created_at,
            updated_at,
            cancellation_reason: None,
        }
    }

    #[test]
    fn stats_count_statuses_and_leave_cancelled_orders_out_of_revenue() {
        let mut book = OrderBook::default();
        assert_eq!(book.stats(), DashboardStats::default());
        book.upsert(order("order-1", 10.10, OrderStatus::Pending, 1, 1));
        book.upsert(order("order-2", 20.20, OrderStatus::Shipped, 2, 5));
        book.upsert(order("order-3", 99.0, OrderStatus::Cancelled, 3, 6));
        let stats = book.stats();
        assert_eq!(stats.total_orders, 3);
        assert_eq!(
            OrderStatus::ALL.map(|s| stats.count(s)),
            [1, 0, 1, 0, 1],
            "pending, processing, shipped, delivered, cancelled"
        );
        assert_eq!(stats.total_revenue, 30.30);
        assert_eq!(stats.average_order_value, 15.15);
        assert_eq!(stats.updated_at, 6);
    }

    #[test]
    fn an_older_copy_does_not_overwrite_a_newer_one() {
        let mut book = OrderBook::default();
        book.upsert(order("order-1", 1.0, OrderStatus::Processing, 1, 9));
        book.upsert(order("order-1", 1.0, OrderStatus::Pending, 1, 1));
        assert_eq!(book.get("order-1").map(|v| v.order.status), Some(OrderStatus::Processing));
        book.upsert(order("order-1", 1.0, OrderStatus::Shipped, 1, 10));
        assert_eq!(book.get("order-1").map(|v| v.order.status), Some(OrderStatus::Shipped));
        assert_eq!(book.stats().total_orders, 1);
    }

    #[test]
    fn recent_orders_are_newest_first_and_limited() {
        let mut book = OrderBook::default();
        book.upsert(order("order-1", 1.0, OrderStatus::Pending, 5, 5));
        book.upsert(order("order-2", 1.0, OrderStatus::Pending, 7, 7));
        book.upsert(order("order-3", 1.0, OrderStatus::Pending, 7, 7));
        let ids = |limit| book.recent(limit).into_iter().map(|v| v.order.id).collect::<Vec<_>>();
        assert_eq!(ids(10), ["order-3", "order-2", "order-1"]);
        assert_eq!(ids(2), ["order-3", "order-2"]);
    }

    #[test]
    fn history_records_each_status_once() {
        let mut book = OrderBook::default();
        book.record_status("order-1", OrderStatus::Pending, 1);
        assert!(book.get("order-1").is_none(), "unknown orders are not invented");
        book.upsert(order("order-1", 1.0, OrderStatus::Pending, 1, 1));
        book.record_status("order-1", OrderStatus::Pending, 1);
        book.record_status("order-1", OrderStatus::Pending, 1);
        book.record_status("order-1", OrderStatus::Processing, 2);
        let history = book.get("order-1").map(|v| v.history).unwrap_or_default();
        let statuses: Vec<_> = history.iter().map(|s| s.status).collect();
        assert_eq!(statuses, [OrderStatus::Pending, OrderStatus::Processing]);
    }
}
