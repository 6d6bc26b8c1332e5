//! What an HTTP request becomes on the way to the order service: its `x-request-id` (taken
//! from the request or generated) and the message context built from its headers.

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use messaging_runtime::MessageContext;

/// The header that names a request, read from the request and echoed on the response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The `source` of every message the gateway sends.
pub const SOURCE: &str = "api-gateway";

/// The `target` of every message the gateway sends.
pub const TARGET: &str = "order-service";

/// The longest `x-request-id` taken from a request; a longer one is replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one HTTP request, as the middleware settled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    /// The request's own `x-request-id`, when it is one usable as is: 1 to 128 visible
    /// ASCII characters.
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let id = headers.get(&REQUEST_ID_HEADER)?.to_str().ok()?.trim();
        let usable = !id.is_empty()
            && id.len() <= MAX_REQUEST_ID_LEN
            && id.bytes().all(|b| b.is_ascii_graphic());
        usable.then(|| Self(id.to_owned()))
    }

    /// A fresh id, `gw-…` (see [`fresh_id`]).
    pub(crate) fn generate() -> Self {
        Self(fresh_id("gw"))
    }
}

/// A fresh id: the prefix, a process-wide counter, then 16 hex digits of a randomly keyed
/// hash of the counter and the time, so ids differ across restarts too.
fn fresh_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("{prefix}-{n}-{:016x}", hasher.finish())
}

/// Middleware: settles the request id (the request's own or a fresh one), hands it to the
/// handlers as an extension and echoes it on the response, errors included.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId::from_headers(request.headers()).unwrap_or_else(RequestId::generate);
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The bearer token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive); `None` for no header, another scheme or an empty token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The message context the gateway sends a request with, as the guide builds it: source
/// `api-gateway`, target `order-service`, the bearer token in `auth.token`, and metadata
/// `requestId`, `ipAddress` (the peer's address) and `userAgent` (when sent).
///
/// Unlike the guide, it makes up no actor: who the caller is, the order service decides
/// from the token.
pub fn message_context(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    request_id: &str,
) -> MessageContext {
    let mut cx = MessageContext::new()
        .with_source(SOURCE)
        .with_target(TARGET)
        .with_metadata("requestId", request_id);
    cx.id = Some(fresh_id("msg"));
    if let Some(token) = bearer_token(headers) {
        cx = cx.with_token(token);
    }
    if let Some(peer) = peer {
        cx = cx.with_metadata("ipAddress", peer.to_string());
    }
    if let Some(agent) = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        cx = cx.with_metadata("userAgent", agent);
    }
    cx
}

/// Extractor: the message context for this request (see [`message_context`]).
#[derive(Debug, Clone)]
pub(crate) struct Forwarded(pub(crate) MessageContext);

impl<S: Send + Sync> FromRequestParts<S> for Forwarded {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = match parts.extensions.get::<RequestId>() {
            Some(id) => id.clone(),
            None => RequestId::generate(),
        };
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        Ok(Self(message_context(&parts.headers, peer, &request_id.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn the_context_carries_token_request_id_peer_and_agent() {
        let sent = headers(&[("authorization", "Bearer t0k3n"), ("user-agent", "curl/8.0")]);
        let cx = message_context(&sent, Some([10, 0, 0, 7].into()), "req-1");
        assert_eq!(cx.auth.as_ref().and_then(|a| a.token.as_deref()), Some("t0k3n"));
        assert!(cx.auth.as_ref().is_some_and(|a| a.actor.is_none()), "no made-up actor");
        assert_eq!((cx.source.as_deref(), cx.target.as_deref()), (Some(SOURCE), Some(TARGET)));
        assert_eq!(cx.metadata["requestId"], "req-1");
        assert_eq!(cx.metadata["ipAddress"], "10.0.0.7");
        assert_eq!(cx.metadata["userAgent"], "curl/8.0");
        assert!(cx.id.is_some() && cx.timestamp.is_some());
    }

    #[test]
    fn only_a_bearer_token_counts() {
        let token = |value: &'static str| {
            bearer_token(&headers(&[("authorization", value)])).map(str::to_owned)
        };
        assert_eq!(token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("BEARER  abc ").as_deref(), Some("abc"));
        assert_eq!(token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearer"), None);
        let cx = message_context(&HeaderMap::new(), None, "req-2");
        assert!(cx.auth.is_none());
        assert!(!cx.metadata.contains_key("ipAddress") && !cx.metadata.contains_key("userAgent"));
    }

    #[test]
    fn usable_request_ids_are_kept_and_fresh_ones_differ() {
        let kept = RequestId::from_headers(&headers(&[("x-request-id", "abc-123")]));
        assert_eq!(kept, Some(RequestId("abc-123".into())));
        assert_eq!(RequestId::from_headers(&headers(&[("x-request-id", "a b")])), None);
        assert_eq!(RequestId::from_headers(&headers(&[("x-request-id", "")])), None);
        let long = HeaderValue::from_str(&"x".repeat(MAX_REQUEST_ID_LEN + 1)).expect("ascii");
        let mut too_long = HeaderMap::new();
        too_long.insert(REQUEST_ID_HEADER, long);
        assert_eq!(RequestId::from_headers(&too_long), None);
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert!(a.0.starts_with("gw-") && a.0.len() > 20, "{a:?}");
    }
}
