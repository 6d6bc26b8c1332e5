//! The routes: one per order-service request, each forwarding through the typed
//! [`OrderServiceClient`] with the request's message context.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use contracts::order::{
    CancelOrder, CreateOrder, GetOrderById, OrderServiceClient, UpdateOrderStatus,
};

use super::body::{CancelBody, JsonBody, StatusBody};
use super::context::{self, Forwarded};
use super::error::{gateway_codes, json_response, ApiError};

/// What every handler shares: the order service's client and how long a call may take.
#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    pub(crate) orders: OrderServiceClient,
    pub(crate) timeout: Duration,
}

/// The gateway's routes, with the request-id middleware around all of them (fallbacks
/// included, so every answer carries `x-request-id`).
pub(crate) fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{order_id}", get(get_order))
        .route("/orders/{order_id}/status", put(update_status))
        .route("/orders/{order_id}/cancel", post(cancel_order))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(gateway)
        .layer(axum::middleware::from_fn(context::request_id))
}

/// `POST /orders`: `createOrder`; answers 201 with the order and its `Location`.
async fn create_order(
    State(gateway): State<Gateway>,
    Forwarded(cx): Forwarded,
    JsonBody(request): JsonBody<CreateOrder>,
) -> Result<Response, ApiError> {
    let order = gateway.orders.create_order(request).context(cx).timeout(gateway.timeout).await?;
    let mut response = json_response(StatusCode::CREATED, &order);
    if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", order.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// `GET /orders/{id}`: `getOrderById`.
async fn get_order(
    State(gateway): State<Gateway>,
    OrderId(order_id): OrderId,
    Forwarded(cx): Forwarded,
) -> Result<Response, ApiError> {
    let request = GetOrderById { order_id };
    let order =
        gateway.orders.get_order_by_id(request).context(cx).timeout(gateway.timeout).await?;
    Ok(json_response(StatusCode::OK, &order))
}

/// `PUT /orders/{id}/status` with `{"status", "trackingInfo"?}`: `updateOrderStatus`.
async fn update_status(
    State(gateway): State<Gateway>,
    OrderId(order_id): OrderId,
    Forwarded(cx): Forwarded,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Response, ApiError> {
    let request =
        UpdateOrderStatus { order_id, status: body.status, tracking_info: body.tracking_info };
    let order =
        gateway.orders.update_order_status(request).context(cx).timeout(gateway.timeout).await?;
    Ok(json_response(StatusCode::OK, &order))
}

/// `POST /orders/{id}/cancel` with `{"reason"?}` or no body: `cancelOrder`.
async fn cancel_order(
    State(gateway): State<Gateway>,
    OrderId(order_id): OrderId,
    Forwarded(cx): Forwarded,
    JsonBody(body): JsonBody<CancelBody>,
) -> Result<Response, ApiError> {
    let request = CancelOrder { order_id, reason: body.reason };
    let order = gateway.orders.cancel_order(request).context(cx).timeout(gateway.timeout).await?;
    Ok(json_response(StatusCode::OK, &order))
}

/// Any path without a route: 404 in the gateway's error shape.
async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        gateway_codes::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// A path with routes, none for this method: 405 in the gateway's error shape.
async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        gateway_codes::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

/// Extractor: the `{order_id}` of the path, refused in the gateway's error shape.
#[derive(Debug)]
struct OrderId(String);

impl<S: Send + Sync> FromRequestParts<S> for OrderId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                gateway_codes::INVALID_PATH,
                rejection.body_text(),
            )),
        }
    }
}
