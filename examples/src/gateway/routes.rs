//! The routes: one per order-service request, each forwarding through the typed
//! [`OrderServiceClient`] with the request's message context.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use contracts::order::{
    CancelOrder, CreateOrder, GetOrderById, OrderServiceClient, UpdateOrderStatus,
};
use messaging_runtime::auth::{AuthError, Credentials, LogoutRequest, Session};
use messaging_runtime::error::codes;
use messaging_runtime::{Client, MessageContext};

use super::body::{CancelBody, JsonBody, StatusBody};
use super::context::{self, Forwarded};
use super::error::{gateway_codes, json_response, ApiError};

/// What every handler shares: the order service's client, how long a call may take, and,
/// when the order service asks for a login, the link that `POST /login` and `POST /logout`
/// go through (apart from `orders`, whose connection stays logged in as the gateway).
#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    pub(crate) orders: OrderServiceClient,
    pub(crate) timeout: Duration,
    pub(crate) logins: Option<Client>,
}

impl Gateway {
    /// Refuses a request that changes orders with 401 when the order service asks for a
    /// login and the HTTP request brings no bearer token: the gateway's own login is for
    /// reading only, a change is made by a logged-in caller.
    fn require_caller(&self, cx: &MessageContext) -> Result<(), ApiError> {
        let has_token = cx.auth.as_ref().is_some_and(|auth| auth.token.is_some());
        if self.logins.is_none() || has_token {
            return Ok(());
        }
        Err(missing_token("this request changes orders"))
    }

    /// The login link, or 404 when the order service asks for no login.
    fn logins(&self, uri: &Uri) -> Result<&Client, ApiError> {
        self.logins.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                gateway_codes::NOT_FOUND,
                format!("no route for {}: this gateway's order service needs no login", uri.path()),
            )
        })
    }
}

/// The gateway's routes, with the request-id middleware around all of them (fallbacks
/// included, so every answer carries `x-request-id`).
pub(crate) fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{order_id}", get(get_order))
        .route("/orders/{order_id}/status", put(update_status))
        .route("/orders/{order_id}/cancel", post(cancel_order))
        .route("/login", post(login))
        .route("/logout", post(logout))
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
    gateway.require_caller(&cx)?;
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
    gateway.require_caller(&cx)?;
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
    gateway.require_caller(&cx)?;
    let request = CancelOrder { order_id, reason: body.reason };
    let order = gateway.orders.cancel_order(request).context(cx).timeout(gateway.timeout).await?;
    Ok(json_response(StatusCode::OK, &order))
}

/// `POST /login` with `{"username", "password"}`: `$login` at the order service; answers
/// 200 with `{"token", "actor", "expiresAt"}`, or 401 `UNAUTHENTICATED` for wrong
/// credentials (429 `TOO_MANY_ATTEMPTS` after repeated failures).
async fn login(
    State(gateway): State<Gateway>,
    uri: Uri,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let logins = gateway.logins(&uri)?;
    let session: Session =
        logins.call::<Credentials, AuthError>(credentials).timeout(gateway.timeout).await?;
    Ok(json_response(StatusCode::OK, &session))
}

/// `POST /logout` with `Authorization: Bearer <token>`: `$logout` of that token; answers 204.
async fn logout(
    State(gateway): State<Gateway>,
    uri: Uri,
    Forwarded(cx): Forwarded,
) -> Result<Response, ApiError> {
    let logins = gateway.logins(&uri)?;
    // Never without a token: the login link's own session is whoever logged in last.
    let Some(token) = cx.auth.and_then(|auth| auth.token) else {
        return Err(missing_token("logging out"));
    };
    let request = LogoutRequest { token: Some(token) };
    logins.call::<LogoutRequest, AuthError>(request).timeout(gateway.timeout).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 401 `UNAUTHENTICATED`: `what` needs a bearer token and the request has none.
fn missing_token(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHENTICATED,
        format!(
            "{what} needs a login: POST /login with {{\"username\", \"password\"}}, then send \
             `Authorization: Bearer <token>`"
        ),
    )
    .with_details(serde_json::json!({ "reason": "missingToken" }))
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
