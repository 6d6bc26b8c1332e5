//! proptest strategies for the contracts' types: arbitrary Unicode text, full-range
//! integers, any finite float, every enum variant.

use contracts::dashboard::{DashboardStats, OrderView, Shipment, StatusStep};
use contracts::order::{
    Address, CancelOrder, CreateOrder, Order, OrderCreated, OrderItem, OrderLine, OrderShipped,
    OrderStatus, OrderStatusChanged, TrackingInfo, UpdateOrderStatus,
};
use contracts::product::{Product, ProductStockChanged, ReleaseProduct, ReserveProduct};
use contracts::user::{CreateUser, User, UserCreated};
use proptest::prelude::*;

/// Any text, control characters and astral planes included.
pub(crate) fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

/// Any finite `f64` (serde_json writes the non-finite ones as `null`, which no side accepts).
pub(crate) fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

/// An address both `validator` and zod accept (zod's e-mail syntax is the narrower one).
pub(crate) fn email() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,12}(\\.[a-z0-9]{1,6})?@[a-z0-9]{1,12}\\.[a-z]{2,6}"
}

fn status() -> impl Strategy<Value = OrderStatus> {
    prop::sample::select(OrderStatus::ALL.to_vec())
}

fn address() -> impl Strategy<Value = Address> {
    (text(), text(), text(), text(), text(), text()).prop_map(
        |(name, street, city, state, postal_code, country)| Address {
            name,
            street,
            city,
            state,
            postal_code,
            country,
        },
    )
}

pub(crate) fn order() -> impl Strategy<Value = Order> {
    let item =
        (text(), text(), float(), any::<u32>()).prop_map(|(product_id, name, price, quantity)| {
            OrderItem { product_id, name, price, quantity }
        });
    (
        text(),
        text(),
        prop::collection::vec(item, 0..4),
        status(),
        float(),
        address(),
        any::<u64>(),
        any::<u64>(),
        prop::option::of(text()),
    )
        .prop_map(
            |(
                id,
                customer_id,
                items,
                status,
                total_amount,
                shipping_address,
                created_at,
                updated_at,
                cancellation_reason,
            )| Order {
                id,
                customer_id,
                items,
                status,
                total_amount,
                shipping_address,
                created_at,
                updated_at,
                cancellation_reason,
            },
        )
}

pub(crate) fn create_order() -> impl Strategy<Value = CreateOrder> {
    let line = (text(), any::<u32>())
        .prop_map(|(product_id, quantity)| OrderLine { product_id, quantity });
    // `items` holds 1 to `MAX_ORDER_LINES` lines (the contract's rule).
    (text(), prop::collection::vec(line, 1..4), address()).prop_map(
        |(customer_id, items, shipping_address)| CreateOrder {
            customer_id,
            items,
            shipping_address,
        },
    )
}

fn tracking() -> impl Strategy<Value = TrackingInfo> {
    (text(), text(), any::<u64>()).prop_map(|(tracking_number, carrier, estimated_delivery)| {
        TrackingInfo { tracking_number, carrier, estimated_delivery }
    })
}

pub(crate) fn update_order_status() -> impl Strategy<Value = UpdateOrderStatus> {
    (text(), status(), prop::option::of(tracking())).prop_map(
        |(order_id, status, tracking_info)| UpdateOrderStatus { order_id, status, tracking_info },
    )
}

pub(crate) fn cancel_order() -> impl Strategy<Value = CancelOrder> {
    (text(), prop::option::of(text()))
        .prop_map(|(order_id, reason)| CancelOrder { order_id, reason })
}

pub(crate) fn order_created() -> impl Strategy<Value = OrderCreated> {
    (text(), text(), float(), any::<u64>()).prop_map(
        |(order_id, customer_id, total_amount, timestamp)| OrderCreated {
            order_id,
            customer_id,
            total_amount,
            timestamp,
        },
    )
}

pub(crate) fn order_status_changed() -> impl Strategy<Value = OrderStatusChanged> {
    (text(), status(), status(), any::<u64>()).prop_map(
        |(order_id, previous_status, new_status, timestamp)| OrderStatusChanged {
            order_id,
            previous_status,
            new_status,
            timestamp,
        },
    )
}

pub(crate) fn order_shipped() -> impl Strategy<Value = OrderShipped> {
    (text(), text(), text(), any::<u64>(), any::<u64>()).prop_map(
        |(order_id, tracking_number, carrier, estimated_delivery, timestamp)| OrderShipped {
            order_id,
            tracking_number,
            carrier,
            estimated_delivery,
            timestamp,
        },
    )
}

pub(crate) fn product() -> impl Strategy<Value = Product> {
    (text(), text(), float(), any::<u32>()).prop_map(|(id, name, price, stock)| Product {
        id,
        name,
        price,
        stock,
    })
}

pub(crate) fn reserve_product() -> impl Strategy<Value = ReserveProduct> {
    (text(), any::<u32>(), text()).prop_map(|(product_id, quantity, order_id)| ReserveProduct {
        product_id,
        quantity,
        order_id,
    })
}

pub(crate) fn release_product() -> impl Strategy<Value = ReleaseProduct> {
    (text(), any::<u32>(), text()).prop_map(|(product_id, quantity, order_id)| ReleaseProduct {
        product_id,
        quantity,
        order_id,
    })
}

pub(crate) fn stock_changed() -> impl Strategy<Value = ProductStockChanged> {
    (text(), any::<u32>(), any::<u32>(), text(), any::<u64>()).prop_map(
        |(product_id, previous_stock, new_stock, order_id, timestamp)| ProductStockChanged {
            product_id,
            previous_stock,
            new_stock,
            order_id,
            timestamp,
        },
    )
}

/// A `createUser` request `validator` accepts: 3 to 50 characters, a valid e-mail, 8 or more.
pub(crate) fn create_user() -> impl Strategy<Value = CreateUser> {
    ("\\PC{3,50}", email(), "\\PC{8,40}").prop_map(|(username, email, password)| CreateUser {
        username,
        email,
        password,
    })
}

pub(crate) fn user() -> impl Strategy<Value = User> {
    (text(), text(), text(), any::<u64>()).prop_map(|(id, username, email, created_at)| User {
        id,
        username,
        email,
        created_at,
    })
}

pub(crate) fn user_created() -> impl Strategy<Value = UserCreated> {
    (text(), text(), email(), any::<u64>()).prop_map(|(id, username, email, created_at)| {
        UserCreated { id, username, email, created_at }
    })
}

pub(crate) fn order_view() -> impl Strategy<Value = OrderView> {
    let shipment = (text(), text(), any::<u64>()).prop_map(
        |(carrier, tracking_number, estimated_delivery)| Shipment {
            carrier,
            tracking_number,
            estimated_delivery,
        },
    );
    let step = (status(), any::<u64>()).prop_map(|(status, at)| StatusStep { status, at });
    (order(), prop::option::of(shipment), prop::collection::vec(step, 0..4))
        .prop_map(|(order, shipment, history)| OrderView { order, shipment, history })
}

pub(crate) fn stats() -> impl Strategy<Value = DashboardStats> {
    let counts =
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>());
    (counts, float(), float(), any::<u64>()).prop_map(
        |(
            (
                total_orders,
                pending_orders,
                processing_orders,
                shipped_orders,
                delivered_orders,
                cancelled_orders,
            ),
            total_revenue,
            average_order_value,
            updated_at,
        )| {
            DashboardStats {
                total_orders,
                pending_orders,
                processing_orders,
                shipped_orders,
                delivered_orders,
                cancelled_orders,
                total_revenue,
                average_order_value,
                updated_at,
            }
        },
    )
}
