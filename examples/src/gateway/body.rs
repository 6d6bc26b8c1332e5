//! Request bodies: JSON, decoded by the gateway itself so that a refusal says what was
//! wrong (not JSON at all, or which field is missing or of the wrong type) in the same
//! error body as every other error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use contracts::order::{CreateOrder, OrderStatus, TrackingInfo};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::json;

use super::error::{gateway_codes, ApiError};

/// A body the gateway accepts as JSON.
pub(crate) trait JsonRequestBody: DeserializeOwned {
    /// What an empty body stands for; `None` refuses an empty body.
    fn when_empty() -> Option<Self> {
        None
    }
}

/// `POST /orders` takes the `createOrder` request as is.
impl JsonRequestBody for CreateOrder {}

/// `POST /login` takes the `$login` payload as is: `{"username", "password"}`.
impl JsonRequestBody for messaging_runtime::auth::Credentials {}

/// The body of `PUT /orders/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusBody {
    /// The status to move to.
    pub(crate) status: OrderStatus,
    /// How to follow the shipment, with `shipped`.
    #[serde(default)]
    pub(crate) tracking_info: Option<TrackingInfo>,
}

impl JsonRequestBody for StatusBody {}

/// The body of `POST /orders/{id}/cancel`; it may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelBody {
    /// Why the order is cancelled.
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

impl JsonRequestBody for CancelBody {
    fn when_empty() -> Option<Self> {
        Some(Self::default())
    }
}

/// Extractor: the body, decoded from JSON; refusals are [`ApiError`]s.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: JsonRequestBody> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            ApiError::new(rejection.status(), gateway_codes::UNREADABLE_BODY, rejection.body_text())
        })?;
        decode(content_type.as_ref(), &bytes).map(Self)
    }
}

/// Decodes a body: an empty one stands for [`JsonRequestBody::when_empty`]; any other
/// must be declared JSON and be JSON of the right shape.
pub(crate) fn decode<T: JsonRequestBody>(
    content_type: Option<&HeaderValue>,
    bytes: &[u8],
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return T::when_empty().ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                gateway_codes::INVALID_JSON,
                "the request body is empty: expected a JSON object",
            )
        });
    }
    check_content_type(content_type)?;
    let mut decoder = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
        let path = e.path().to_string();
        refusal(e.into_inner(), (path != ".").then_some(path))
    })?;
    decoder.end().map_err(|e| refusal(e, None))?;
    Ok(value)
}

/// `application/json`, or any `…/…+json`, with or without parameters.
fn check_content_type(content_type: Option<&HeaderValue>) -> Result<(), ApiError> {
    let declared = content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = declared
        .as_deref()
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(e) if e == "application/json" || (e.contains('/') && e.ends_with("+json")) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            gateway_codes::UNSUPPORTED_MEDIA_TYPE,
            match declared {
                Some(declared) => format!(
                    "the request body must be JSON (`Content-Type: application/json`), \
                     not `{declared}`"
                ),
                None => "the request body must be JSON: send `Content-Type: application/json`"
                    .to_owned(),
            },
        )),
    }
}

/// Why a body did not decode: not JSON at all, or JSON of the wrong shape at `path`.
fn refusal(error: serde_json::Error, path: Option<String>) -> ApiError {
    let (line, column) = (error.line(), error.column());
    match error.classify() {
        Category::Data => {
            let message = match &path {
                Some(path) => format!("invalid request body at `{path}`: {error}"),
                None => format!("invalid request body: {error}"),
            };
            ApiError::new(StatusCode::BAD_REQUEST, gateway_codes::INVALID_REQUEST_BODY, message)
                .with_details(json!({ "path": path, "reason": error.to_string() }))
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            gateway_codes::INVALID_JSON,
            format!("the request body is not valid JSON: {error}"),
        )
        .with_details(json!({ "line": line, "column": column })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = "application/json";

    fn refused<T: JsonRequestBody + std::fmt::Debug>(
        content_type: Option<&str>,
        body: &str,
    ) -> ApiError {
        let content_type = content_type.map(|v| HeaderValue::from_str(v).expect("a header value"));
        decode::<T>(content_type.as_ref(), body.as_bytes()).expect_err("the body is refused")
    }

    #[test]
    fn not_json_names_where_it_broke() {
        let error = refused::<StatusBody>(Some(JSON), r#"{"status": "shipped""#);
        assert_eq!((error.status, error.code.as_str()), (StatusCode::BAD_REQUEST, "INVALID_JSON"));
        assert!(error.message.starts_with("the request body is not valid JSON: EOF"), "{error:?}");
        assert_eq!(error.details, Some(json!({"line": 1, "column": 20})));
        let trailing = refused::<StatusBody>(Some(JSON), r#"{"status": "shipped"} x"#);
        assert_eq!(trailing.code, "INVALID_JSON");
        let empty = refused::<StatusBody>(Some(JSON), " \n");
        assert_eq!(empty.message, "the request body is empty: expected a JSON object");
    }

    #[test]
    fn the_wrong_shape_names_the_field() {
        let error = refused::<CreateOrder>(Some(JSON), r#"{"items": []}"#);
        assert_eq!(error.code, "INVALID_REQUEST_BODY");
        assert!(error.message.contains("missing field `customerId`"), "{error:?}");
        let error = refused::<StatusBody>(Some(JSON), r#"{"status": "lost"}"#);
        assert!(error.message.starts_with("invalid request body at `status`: unknown variant"));
        assert_eq!(error.details.as_ref().map(|d| d["path"].clone()), Some(json!("status")));
    }

    #[test]
    fn only_json_is_accepted_and_an_empty_cancel_is_fine() {
        let error = refused::<StatusBody>(None, r#"{"status": "shipped"}"#);
        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let error = refused::<StatusBody>(Some("text/plain"), r#"{"status": "shipped"}"#);
        assert!(error.message.contains("not `text/plain`"), "{error:?}");
        let with_charset = HeaderValue::from_static("Application/JSON; charset=utf-8");
        let body: StatusBody =
            decode(Some(&with_charset), br#"{"status": "shipped"}"#).expect("JSON");
        assert_eq!(body.status, OrderStatus::Shipped);
        assert_eq!(decode::<CancelBody>(None, b""), Ok(CancelBody::default()));
    }
}
