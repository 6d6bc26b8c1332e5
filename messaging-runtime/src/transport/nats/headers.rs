//! The message context in NATS headers, and the form of an error reply. One header per
//! field, so that `nats req` and any NATS client can read and write them:
//!
//! | header                 | what it carries                       |
//! |------------------------|---------------------------------------|
//! | `Mb-Client`            | the client's id (see the module docs) |
//! | `Mb-Request-Id`        | the client's number for the request   |
//!
//! (This library's clients name a request's client and number, and its context's timestamp
//! and deadline, in its reply subject (`reply_to.rs`), and send these headers only on their
//! other messages: a request whose context has nothing else needs no headers at all.)
//!
//! | header                 | context field                         |
//! |------------------------|---------------------------------------|
//! | `Mb-Message-Id`        | `id`                                  |
//! | `Mb-Timestamp`         | `timestamp` (ms since the Unix epoch) |
//! | `Mb-Source`            | `source`                              |
//! | `Mb-Target`            | `target`                              |
//! | `Mb-Trace-Id`          | `traceId`                             |
//! | `Mb-Span-Id`           | `spanId`                              |
//! | `Mb-Parent-Span-Id`    | `parentSpanId`                        |
//! | `Mb-Deadline-Ms`       | the deadline, as milliseconds left    |
//! | `Mb-Auth-Token`        | `auth.token`                          |
//! | `Mb-Metadata`          | `metadata`, as one JSON object        |
//!
//! An actor never travels: the server decides who is calling from the token. A message
//! with no headers at all has an empty context.

use std::time::{Duration, Instant};

use async_nats::header::HeaderName;
use async_nats::HeaderMap;

use crate::context::{Auth, MessageContext};
use crate::wire::{codes, WireError};

/// The headers' names, as text: what [`Known::of`] matches on.
mod names {
    pub(super) const CLIENT: &str = "Mb-Client";
    pub(super) const REQUEST_ID: &str = "Mb-Request-Id";
    pub(super) const MESSAGE_ID: &str = "Mb-Message-Id";
    pub(super) const TIMESTAMP: &str = "Mb-Timestamp";
    pub(super) const SOURCE: &str = "Mb-Source";
    pub(super) const TARGET: &str = "Mb-Target";
    pub(super) const TRACE_ID: &str = "Mb-Trace-Id";
    pub(super) const SPAN_ID: &str = "Mb-Span-Id";
    pub(super) const PARENT_SPAN_ID: &str = "Mb-Parent-Span-Id";
    pub(super) const DEADLINE_MS: &str = "Mb-Deadline-Ms";
    pub(super) const AUTH_TOKEN: &str = "Mb-Auth-Token";
    pub(super) const AUTH_FORWARDED: &str = "Mb-Auth-Forwarded";
    pub(super) const METADATA: &str = "Mb-Metadata";
}

pub(crate) const CLIENT: HeaderName = HeaderName::from_static(names::CLIENT);
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static(names::REQUEST_ID);
const MESSAGE_ID: HeaderName = HeaderName::from_static(names::MESSAGE_ID);
const TIMESTAMP: HeaderName = HeaderName::from_static(names::TIMESTAMP);
const SOURCE: HeaderName = HeaderName::from_static(names::SOURCE);
const TARGET: HeaderName = HeaderName::from_static(names::TARGET);
const TRACE_ID: HeaderName = HeaderName::from_static(names::TRACE_ID);
const SPAN_ID: HeaderName = HeaderName::from_static(names::SPAN_ID);
const PARENT_SPAN_ID: HeaderName = HeaderName::from_static(names::PARENT_SPAN_ID);
const DEADLINE_MS: HeaderName = HeaderName::from_static(names::DEADLINE_MS);
const AUTH_TOKEN: HeaderName = HeaderName::from_static(names::AUTH_TOKEN);
/// `true` when the token is a caller's, passed on by a service (`auth.forwarded`).
const AUTH_FORWARDED: HeaderName = HeaderName::from_static(names::AUTH_FORWARDED);
const METADATA: HeaderName = HeaderName::from_static(names::METADATA);
/// ADR-32's error headers: the error's message and its status.
pub(crate) const SERVICE_ERROR: HeaderName = HeaderName::from_static("Nats-Service-Error");
pub(crate) const SERVICE_ERROR_CODE: HeaderName =
    HeaderName::from_static("Nats-Service-Error-Code");

/// Writes `context` into `headers`.
///
/// # Errors
/// `BAD_MESSAGE` naming the field when a text field holds a line break or another control
/// character, which a header cannot carry.
pub(crate) fn write_context(
    headers: &mut HeaderMap,
    context: &MessageContext,
) -> Result<(), WireError> {
    write_fields(headers, context)?;
    write_timing(headers, context);
    Ok(())
}

/// Writes `context` into `headers`, but for its timing ([`write_timing`]).
///
/// # Errors
/// As [`write_context`].
pub(crate) fn write_fields(
    headers: &mut HeaderMap,
    context: &MessageContext,
) -> Result<(), WireError> {
    let texts = [
        (MESSAGE_ID, "id", &context.id),
        (SOURCE, "source", &context.source),
        (TARGET, "target", &context.target),
        (TRACE_ID, "traceId", &context.trace_id),
        (SPAN_ID, "spanId", &context.span_id),
        (PARENT_SPAN_ID, "parentSpanId", &context.parent_span_id),
    ];
    for (header, field, value) in texts {
        if let Some(value) = value {
            insert_text(headers, header, field, value)?;
        }
    }
    if let Some(auth) = &context.auth {
        if let Some(token) = &auth.token {
            insert_text(headers, AUTH_TOKEN, "auth.token", token)?;
        }
        if auth.forwarded {
            headers.insert(AUTH_FORWARDED, "true");
        }
    }
    if !context.metadata.is_empty() {
        // JSON escapes every control character, so the object is always one line.
        let json = serde_json::to_string(&context.metadata).map_err(|e| {
            WireError::new(codes::BAD_MESSAGE, 400, format!("metadata is not JSON: {e}"))
        })?;
        headers.insert(METADATA, json);
    }
    Ok(())
}

/// Writes the timing of `context` into `headers`: its timestamp, and the milliseconds left
/// to its deadline.
pub(crate) fn write_timing(headers: &mut HeaderMap, context: &MessageContext) {
    if let Some(timestamp) = context.timestamp {
        headers.insert(TIMESTAMP, timestamp.to_string());
    }
    if let Some(deadline) = context.deadline {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis();
        headers.insert(DEADLINE_MS, left.to_string());
    }
}

fn insert_text(
    headers: &mut HeaderMap,
    header: HeaderName,
    field: &str,
    value: &str,
) -> Result<(), WireError> {
    if value.chars().any(char::is_control) {
        let message = format!(
            "context field `{field}` contains a control character (a line break?), which a NATS \
             header cannot carry; expected printable text"
        );
        return Err(WireError::new(codes::BAD_MESSAGE, 400, message));
    }
    headers.insert(header, value);
    Ok(())
}

/// The values of the headers this library reads, found in one pass over a message's
/// headers: a lookup per header hashes its name, which was a dozen hashes per request.
/// Each is the header's first value, as [`HeaderMap::get`] gives it.
#[derive(Debug, Default)]
pub(crate) struct Known<'a> {
    /// `Mb-Client`.
    pub(crate) client: Option<&'a str>,
    /// `Mb-Request-Id`.
    pub(crate) request_id: Option<&'a str>,
    message_id: Option<&'a str>,
    timestamp: Option<&'a str>,
    source: Option<&'a str>,
    target: Option<&'a str>,
    trace_id: Option<&'a str>,
    span_id: Option<&'a str>,
    parent_span_id: Option<&'a str>,
    deadline_ms: Option<&'a str>,
    auth_token: Option<&'a str>,
    auth_forwarded: Option<&'a str>,
    metadata: Option<&'a str>,
}

impl<'a> Known<'a> {
    /// The known headers of a message (none when it has no headers).
    pub(crate) fn of(headers: Option<&'a HeaderMap>) -> Self {
        let mut known = Self::default();
        for (name, values) in headers.into_iter().flat_map(HeaderMap::iter) {
            let Some(value) = values.first().map(|v| v.as_str()) else { continue };
            let name: &str = name.as_ref();
            let slot = match name {
                names::CLIENT => &mut known.client,
                names::REQUEST_ID => &mut known.request_id,
                names::MESSAGE_ID => &mut known.message_id,
                names::TIMESTAMP => &mut known.timestamp,
                names::SOURCE => &mut known.source,
                names::TARGET => &mut known.target,
                names::TRACE_ID => &mut known.trace_id,
                names::SPAN_ID => &mut known.span_id,
                names::PARENT_SPAN_ID => &mut known.parent_span_id,
                names::DEADLINE_MS => &mut known.deadline_ms,
                names::AUTH_TOKEN => &mut known.auth_token,
                names::AUTH_FORWARDED => &mut known.auth_forwarded,
                names::METADATA => &mut known.metadata,
                _ => continue,
            };
            *slot = Some(value);
        }
        known
    }

    /// The message context these headers carry.
    ///
    /// # Errors
    /// `BAD_MESSAGE` naming the header when one holds a value of the wrong form.
    pub(crate) fn context(&self) -> Result<MessageContext, WireError> {
        let text = |value: Option<&str>| value.map(str::to_owned);
        let mut context = MessageContext {
            id: text(self.message_id),
            source: text(self.source),
            target: text(self.target),
            trace_id: text(self.trace_id),
            span_id: text(self.span_id),
            parent_span_id: text(self.parent_span_id),
            ..MessageContext::default()
        };
        if let Some(token) = self.auth_token {
            // Any value but `false` counts as forwarded: refusing by mistake is the safe side.
            let forwarded = self.auth_forwarded.is_some_and(|v| v != "false");
            let token = Some(token.to_owned());
            context.auth = Some(Box::new(Auth { token, actor: None, forwarded }));
        }
        if let Some(value) = self.timestamp {
            context.timestamp = Some(number(TIMESTAMP, value)?);
        }
        if let Some(value) = self.deadline_ms {
            let left = Duration::from_millis(number(DEADLINE_MS, value)?);
            context.deadline = Instant::now().checked_add(left);
        }
        if let Some(value) = self.metadata {
            context.metadata = serde_json::from_str(value)
                .map_err(|e| bad_header(METADATA, &format!("{e}; expected one JSON object")))?;
        }
        Ok(context)
    }
}

/// Reads the context out of `headers` (`None`: an empty context).
///
/// # Errors
/// `BAD_MESSAGE` naming the header when one holds a value of the wrong form.
pub(crate) fn read_context(headers: Option<&HeaderMap>) -> Result<MessageContext, WireError> {
    Known::of(headers).context()
}

fn number(header: HeaderName, value: &str) -> Result<u64, WireError> {
    value.trim().parse().map_err(|_| {
        bad_header(header, &format!("`{value}` is not a whole number of milliseconds"))
    })
}

fn bad_header(header: HeaderName, reason: &str) -> WireError {
    WireError::new(codes::BAD_MESSAGE, 400, format!("header `{header}` is malformed: {reason}"))
}

/// The headers of an error reply: ADR-32's `Nats-Service-Error` (the message, on one line)
/// and `Nats-Service-Error-Code` (the status, 500 when the error has none).
pub(crate) fn error_headers(error: &WireError) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let message: String =
        error.message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    headers.insert(SERVICE_ERROR, message);
    headers.insert(SERVICE_ERROR_CODE, error.status.unwrap_or(500).to_string());
    headers
}

/// Reads an error reply: the wire error in the body, or, from a service that is not ours,
/// one made of ADR-32's headers. `None` when the reply is not an error.
pub(crate) fn read_error(headers: Option<&HeaderMap>, body: &[u8]) -> Option<WireError> {
    let code = headers?.get(SERVICE_ERROR_CODE)?;
    if let Ok(error) = serde_json::from_slice::<WireError>(body) {
        return Some(error);
    }
    let message = headers
        .and_then(|h| h.get(SERVICE_ERROR))
        .map_or_else(|| "the service answered an error".to_owned(), |v| v.as_str().to_owned());
    let status = code.as_str().trim().parse().ok();
    Some(WireError {
        code: codes::INTERNAL_ERROR.into(),
        message,
        status,
        details: None,
        severity: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_survives_the_headers() {
        let mut context = MessageContext {
            source: Some("tests".into()),
            trace_id: Some("t-1".into()),
            span_id: Some("s-1".into()),
            timestamp: Some(42),
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            ..MessageContext::default()
        };
        context.metadata.insert("tenant".into(), serde_json::json!({"id": 7}));
        context.auth =
            Some(Box::new(Auth { token: Some("tok".into()), actor: None, forwarded: false }));
        let mut headers = HeaderMap::new();
        write_context(&mut headers, &context).expect("writes");
        let read = read_context(Some(&headers)).expect("reads");
        assert_eq!(read.source, context.source);
        assert_eq!(read.trace_id, context.trace_id);
        assert_eq!(read.metadata, context.metadata);
        assert_eq!(read.auth, context.auth);
        assert_eq!(read.timestamp, Some(42));
        let left = read.deadline.expect("deadline").duration_since(Instant::now());
        assert!(left > Duration::from_secs(3) && left <= Duration::from_secs(5), "{left:?}");
    }

    #[test]
    fn bad_headers_and_fields_are_named() {
        let mut headers = HeaderMap::new();
        headers.insert(DEADLINE_MS, "soon");
        let err = read_context(Some(&headers)).expect_err("refused");
        assert!(err.message.contains("`Mb-Deadline-Ms`"), "{}", err.message);
        let context =
            MessageContext { trace_id: Some("a\r\nX-Evil: 1".into()), ..MessageContext::default() };
        let err = write_context(&mut HeaderMap::new(), &context).expect_err("refused");
        assert!(err.message.contains("`traceId`"), "{}", err.message);
        assert_eq!(read_context(None).expect("empty"), MessageContext::default());
    }

    #[test]
    fn error_replies_read_back_as_sent_or_from_adr32_headers() {
        let error = WireError::new("ORDER_NOT_FOUND", 404, "order o-1 not found\nat all");
        let headers = error_headers(&error);
        assert_eq!(headers.get(SERVICE_ERROR_CODE).map(|v| v.as_str()), Some("404"));
        assert_eq!(
            headers.get(SERVICE_ERROR).map(|v| v.as_str()),
            Some("order o-1 not found at all")
        );
        let body = serde_json::to_vec(&error).expect("json");
        assert_eq!(read_error(Some(&headers), &body), Some(error));
        let foreign = read_error(Some(&headers), b"").expect("an error");
        assert_eq!((foreign.status, foreign.code.as_str()), (Some(404), codes::INTERNAL_ERROR));
        assert_eq!(read_error(None, b"{}"), None);
    }
}
