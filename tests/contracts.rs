//! The worked contracts, without a server: wire names, JSON shapes, the transition table,
//! error templates and the lossless round trip of every error through its wire form.

use contracts::order::{
    CancelOrder, CreateOrder, GetOrderById, Order, OrderCreated, OrderError, OrderServiceContract,
    OrderShipped, OrderStatus, OrderStatusChanged, UpdateOrderStatus,
};
use contracts::product::{
    GetProductById, ProductError, ProductServiceContract, ProductStockChanged, ReleaseProduct,
    ReserveProduct,
};
use contracts::user::{CreateUser, GetUserById, UserCreated, UserError, UserServiceContract};
use messaging_runtime::prelude::*;
use messaging_runtime::ContractDescriptor;
use serde_json::json;

#[test]
fn wire_names_are_the_guides() {
    assert_eq!(CreateOrder::NAME, "createOrder");
    assert_eq!(GetOrderById::NAME, "getOrderById");
    assert_eq!(UpdateOrderStatus::NAME, "updateOrderStatus");
    assert_eq!(CancelOrder::NAME, "cancelOrder");
    assert_eq!(OrderCreated::NAME, "orderCreated");
    assert_eq!(OrderStatusChanged::NAME, "orderStatusChanged");
    assert_eq!(OrderShipped::NAME, "orderShipped");
    assert_eq!(GetProductById::NAME, "getProductById");
    assert_eq!(ReserveProduct::NAME, "reserveProduct");
    assert_eq!(ReleaseProduct::NAME, "releaseProduct");
    assert_eq!(ProductStockChanged::NAME, "productStockChanged");
    assert_eq!(CreateUser::NAME, "createUser");
    assert_eq!(GetUserById::NAME, "getUserById");
    assert_eq!(UserCreated::NAME, "userCreated");
}

#[test]
fn descriptors_list_names_version_requests_events_and_errors() {
    let orders = <OrderServiceContract as Contract>::DESCRIPTOR;
    assert_eq!((orders.name, orders.version), ("order-service", "2.0.0"));
    let requests: Vec<_> = orders.requests.iter().map(|r| r.name).collect();
    assert_eq!(requests, ["createOrder", "getOrderById", "updateOrderStatus", "cancelOrder"]);
    let events: Vec<_> = orders.events.iter().map(|e| e.name).collect();
    assert_eq!(events, ["orderCreated", "orderStatusChanged", "orderShipped"]);
    let codes: Vec<_> = orders.errors.iter().map(|e| (e.code, e.status)).collect();
    assert_eq!(
        codes,
        [
            ("ORDER_NOT_FOUND", 404),
            ("INVALID_ORDER_STATUS_TRANSITION", 400),
            ("PRODUCT_NOT_AVAILABLE", 400),
            ("ORDER_ALREADY_CANCELLED", 400),
            ("PRODUCT_SERVICE_UNAVAILABLE", 503),
        ]
    );
    assert_eq!(orders.request("cancelOrder").map(|r| r.method), Some("cancel_order"));

    let products = <ProductServiceContract as Contract>::DESCRIPTOR;
    assert_eq!((products.name, products.version), ("product-service", "2.0.0"));
    assert_eq!(products.error("INSUFFICIENT_STOCK").map(|e| e.status), Some(400));
    let users = <UserServiceContract as Contract>::DESCRIPTOR;
    assert_eq!((users.name, users.version), ("user-service", "1.0.0"));
    assert_eq!(users.error("USERNAME_TAKEN").map(|e| e.status), Some(409));
    assert_eq!(users.error("USER_NOT_FOUND").map(|e| e.status), Some(404));
}

#[test]
fn descriptors_carry_each_requests_declared_permission() {
    let permissions = |d: &ContractDescriptor| -> Vec<(&str, Option<&str>)> {
        d.requests.iter().map(|r| (r.name, r.permission)).collect()
    };
    assert_eq!(
        permissions(<OrderServiceContract as Contract>::DESCRIPTOR),
        [
            ("createOrder", Some("orders:write")),
            ("getOrderById", Some("orders:read")),
            ("updateOrderStatus", Some("orders:write")),
            ("cancelOrder", Some("orders:write")),
        ]
    );
    assert_eq!(
        permissions(<UserServiceContract as Contract>::DESCRIPTOR),
        [("createUser", Some("users:write")), ("getUserById", Some("users:read"))]
    );
    assert_eq!(
        permissions(<ProductServiceContract as Contract>::DESCRIPTOR),
        [
            ("getProductById", None),
            ("reserveProduct", Some("products:write")),
            ("releaseProduct", Some("products:write")),
        ]
    );
}

#[test]
fn order_status_is_lowercase_on_the_wire_and_in_text() {
    for status in OrderStatus::ALL {
        let json = serde_json::to_value(status).expect("a status serialises");
        assert_eq!(json, json!(status.to_string()));
        let back: OrderStatus = serde_json::from_value(json).expect("a status deserialises");
        assert_eq!(back, status);
    }
    assert_eq!(OrderStatus::Processing.to_string(), "processing");
}

#[test]
fn transition_table_is_the_guides() {
    use OrderStatus::{Cancelled, Delivered, Pending, Processing, Shipped};
    let allowed = [
        (Pending, Processing),
        (Pending, Cancelled),
        (Processing, Shipped),
        (Processing, Cancelled),
        (Shipped, Delivered),
    ];
    for from in OrderStatus::ALL {
        for to in OrderStatus::ALL {
            let expected = allowed.contains(&(from, to));
            assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
        }
    }
}

#[test]
fn requests_decode_from_the_guides_json() {
    let create: CreateOrder = serde_json::from_value(json!({
        "customerId": "c-1",
        "items": [{ "productId": "p-keyboard", "quantity": 2 }],
        "shippingAddress": {
            "name": "Ada", "street": "1 Main St", "city": "London",
            "state": "LDN", "postalCode": "N1", "country": "UK"
        }
    }))
    .expect("the guide's createOrder payload decodes");
    assert_eq!(create.items[0].product_id, "p-keyboard");
    assert_eq!(create.shipping_address.postal_code, "N1");

    let update: UpdateOrderStatus = serde_json::from_value(json!({
        "orderId": "order-1", "status": "shipped",
        "trackingInfo": { "trackingNumber": "1Z", "carrier": "UPS", "estimatedDelivery": 5 }
    }))
    .expect("updateOrderStatus with tracking decodes");
    assert_eq!(update.tracking_info.map(|t| t.tracking_number).as_deref(), Some("1Z"));

    let cancel: CancelOrder =
        serde_json::from_value(json!({ "orderId": "order-1" })).expect("reason is optional");
    assert_eq!(cancel.reason, None);
}

#[test]
fn orders_encode_in_camel_case_without_an_absent_reason() {
    let order: Order = serde_json::from_value(json!({
        "id": "order-1", "customerId": "c-1",
        "items": [{ "productId": "p-mouse", "name": "Mouse", "price": 29.5, "quantity": 1 }],
        "status": "pending", "totalAmount": 29.5,
        "shippingAddress": {
            "name": "Ada", "street": "1 Main St", "city": "London",
            "state": "LDN", "postalCode": "N1", "country": "UK"
        },
        "createdAt": 1, "updatedAt": 2
    }))
    .expect("an order decodes");
    let json = serde_json::to_value(&order).expect("an order encodes");
    assert!(json.get("cancellationReason").is_none());
    assert_eq!(json["shippingAddress"]["postalCode"], json!("N1"));
    assert_eq!(json["items"][0]["productId"], json!("p-mouse"));
    assert_eq!(json["totalAmount"], json!(29.5));
}

#[test]
fn order_error_templates_render_the_guides_messages() {
    let cases = [
        (OrderError::order_not_found("order-7"), "Order with ID order-7 not found"),
        (
            OrderError::invalid_order_status_transition(
                OrderStatus::Delivered,
                OrderStatus::Pending,
            ),
            "Cannot transition order from delivered to pending",
        ),
        (
            OrderError::product_not_available("p-monitor", 50_u32),
            "Product p-monitor is not available in requested quantity 50",
        ),
        (
            OrderError::order_already_cancelled("order-2"),
            "Order with ID order-2 is already cancelled",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
    let error = ProductError::insufficient_stock("p-mouse", 5_u32, 2_u32);
    assert_eq!(
        error.to_string(),
        "Insufficient stock for product p-mouse: requested 5, available 2"
    );
    assert_eq!(ProductError::product_not_found("p-x").to_string(), "Product p-x not found");
    assert_eq!(UserError::user_not_found("u-1").code(), "USER_NOT_FOUND");
    assert_eq!(UserError::username_taken("ada").status(), 409);
}

#[test]
fn wire_errors_carry_camel_case_params() {
    let wire =
        OrderError::invalid_order_status_transition(OrderStatus::Shipped, OrderStatus::Cancelled)
            .to_wire();
    assert_eq!(wire.code, "INVALID_ORDER_STATUS_TRANSITION");
    assert_eq!(wire.status, Some(400));
    assert_eq!(wire.message, "Cannot transition order from shipped to cancelled");
    assert_eq!(
        wire.details,
        Some(json!({ "currentStatus": "shipped", "requestedStatus": "cancelled" }))
    );
    let json = serde_json::to_value(&wire).expect("a wire error encodes");
    assert_eq!(json["details"]["currentStatus"], json!("shipped"));
}

#[test]
fn every_error_round_trips_through_the_wire_and_json() {
    let errors = [
        OrderError::order_not_found("order-7"),
        OrderError::invalid_order_status_transition(OrderStatus::Pending, OrderStatus::Delivered),
        OrderError::product_not_available("p-monitor", 4_u32),
        OrderError::order_already_cancelled("order-2"),
        OrderError::product_service_unavailable("connection closed"),
    ];
    for error in errors {
        let text = serde_json::to_string(&error.to_wire()).expect("a wire error encodes");
        let wire: WireError = serde_json::from_str(&text).expect("a wire error decodes");
        assert_eq!(OrderError::from_wire(&wire), Some(error.clone()), "{text}");
        let call = CallError::<OrderError>::from_wire(wire);
        assert_eq!(call.into_contract(), Some(error));
    }
    let product = ProductError::insufficient_stock("p-mouse", 5_u32, 2_u32);
    assert_eq!(ProductError::from_wire(&product.to_wire()), Some(product));
    let user = UserError::username_taken("ada");
    assert_eq!(UserError::from_wire(&user.to_wire()), Some(user));
}

#[test]
fn foreign_or_malformed_wire_errors_are_not_contract_errors() {
    let foreign = WireError::new("SOMETHING_ELSE", 418, "teapot");
    assert_eq!(OrderError::from_wire(&foreign), None);
    assert!(matches!(CallError::<OrderError>::from_wire(foreign), CallError::Internal(_)));
    let wrong_details = WireError::new("ORDER_NOT_FOUND", 404, "Order with ID 7 not found")
        .with_details(json!({ "orderId": 7 }));
    assert_eq!(OrderError::from_wire(&wrong_details), None);
    let unknown = WireError::unknown_request_type("shipToMoon");
    assert!(matches!(
        CallError::<OrderError>::from_wire(unknown),
        CallError::UnknownRequestType(m) if m.contains("shipToMoon")
    ));
}
