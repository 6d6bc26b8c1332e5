//! The message context: who sent a message, on whose behalf, and within which trace.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Travels with every request and event, in the shape the TypeScript clients send
/// (`camelCase`, every field optional on the wire).
///
/// # Examples
///
/// ```
/// use messaging_runtime::MessageContext;
///
/// let clients_own = MessageContext::new().with_source("billing").with_metadata("tenant", "acme");
/// let per_call = MessageContext::default().with_trace_id("t-1").with_metadata("tenant", "globex");
/// // What a call's `.context(..)` sends: its fields win, the client's fill the rest.
/// let sent = per_call.merged_over(clients_own);
/// assert_eq!(sent.source.as_deref(), Some("billing"));
/// assert_eq!(sent.trace_id.as_deref(), Some("t-1"));
/// assert_eq!(sent.metadata["tenant"], "globex");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageContext {
    /// A unique id for this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Milliseconds since the Unix epoch when the message was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Who sent the message (as the sender says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who the message is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Credentials and the acting principal. Boxed: most messages carry none, and a
    /// context travels by value through every layer, so its size is paid on every move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Box<Auth>>,
    /// Free-form metadata (request id, ip address, user agent, ...), in key order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The distributed trace this message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// This message's span within the trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The span that caused this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// When the sender stops waiting. On the wire it travels as the remaining budget in
    /// milliseconds (`deadlineMs`), so clock skew between machines does not matter.
    #[serde(
        default,
        rename = "deadlineMs",
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_deadline",
        deserialize_with = "deserialize_deadline"
    )]
    pub deadline: Option<Instant>,
}

/// Credentials and the acting principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// A bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The principal the message acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// Whether `token` is a caller's token that a service passed on
    /// ([`crate::server::Context::forward_with_credentials`]) rather than the sender's own. A
    /// server accepts such a token only when it opted in
    /// ([`crate::Server::accept_forwarded_credentials`]). On the wire: `"forwarded": true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarded: bool,
}

/// A principal: a user, a service, a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// The principal's id.
    pub id: String,
    /// The kind of principal, e.g. `user` or `service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Roles held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Permissions held directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

impl MessageContext {
    /// A fresh context stamped with the current time.
    pub fn new() -> Self {
        Self { timestamp: Some(now_millis()), ..Self::default() }
    }

    /// Sets the source.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the target.
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the bearer token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.auth.get_or_insert_with(Box::default).token = Some(token.into());
        self
    }

    /// Adds one metadata entry.
    #[must_use]
    pub fn with_metadata(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the trace id.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// This context laid over `base`: every field this one sets wins, the others come from
    /// `base`; metadata is merged, this one's keys winning; a token or actor this one leaves
    /// unset comes from `base`. What a call's `.context(..)` does with the client's own
    /// context, so that a per-call context keeps the client's login and source.
    #[must_use]
    pub fn merged_over(self, base: MessageContext) -> MessageContext {
        let mut metadata = base.metadata;
        metadata.extend(self.metadata);
        let auth = match (self.auth, base.auth) {
            (Some(mine), Some(theirs)) => Some(Box::new(Auth {
                // Whether a token was forwarded goes with the token that wins.
                forwarded: if mine.token.is_some() { mine.forwarded } else { theirs.forwarded },
                token: mine.token.or(theirs.token),
                actor: mine.actor.or(theirs.actor),
            })),
            (mine, theirs) => mine.or(theirs),
        };
        MessageContext {
            id: self.id.or(base.id),
            timestamp: self.timestamp.or(base.timestamp),
            source: self.source.or(base.source),
            target: self.target.or(base.target),
            auth,
            metadata,
            trace_id: self.trace_id.or(base.trace_id),
            span_id: self.span_id.or(base.span_id),
            parent_span_id: self.parent_span_id.or(base.parent_span_id),
            deadline: self.deadline.or(base.deadline),
        }
    }

    /// The time left before the deadline, `None` when there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn serialize_deadline<S: Serializer>(deadline: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
    let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let millis = remaining.map(|r| u64::try_from(r.as_millis()).unwrap_or(u64::MAX));
    millis.serialize(s)
}

fn deserialize_deadline<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
    let millis = Option::<u64>::deserialize(d)?;
    Ok(millis.and_then(|m| Instant::now().checked_add(Duration::from_millis(m))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_context_a_typescript_client_sends() {
        let sent = r#"{
            "id": "m-1", "timestamp": 1700000000000, "source": "web", "target": "orders",
            "auth": {"token": "t0k", "actor": {"id": "u-1", "type": "user", "roles": ["admin"], "permissions": ["orders:*"]}},
            "metadata": {"requestId": "r-9", "ipAddress": "10.0.0.1"},
            "traceId": "tr", "spanId": "sp", "parentSpanId": "pa"
        }"#;
        let cx: MessageContext = serde_json::from_str(sent).expect("the TypeScript shape decodes");
        let actor = cx.auth.as_ref().and_then(|a| a.actor.as_ref()).expect("actor");
        assert_eq!((actor.id.as_str(), actor.kind.as_str()), ("u-1", "user"));
        assert_eq!(actor.permissions, ["orders:*"]);
        assert_eq!(cx.metadata["requestId"], "r-9");
        assert_eq!(cx.parent_span_id.as_deref(), Some("pa"));
        let back = serde_json::to_value(&cx).expect("serialises");
        let original: serde_json::Value = serde_json::from_str(sent).expect("valid json");
        assert_eq!(back, original, "round trip keeps every field and its camelCase name");
    }

    #[test]
    fn empty_fields_stay_off_the_wire_and_deadline_travels_as_remaining_millis() {
        assert_eq!(serde_json::to_string(&MessageContext::default()).expect("ok"), "{}");
        let cx = MessageContext {
            deadline: Instant::now().checked_add(Duration::from_secs(5)),
            ..MessageContext::default()
        };
        let json = serde_json::to_value(&cx).expect("serialises");
        let millis = json["deadlineMs"].as_u64().expect("deadlineMs is a number");
        assert!((4000..=5000).contains(&millis), "remaining budget, got {millis}");
        let back: MessageContext = serde_json::from_value(json).expect("decodes");
        let left = back.remaining().expect("deadline restored");
        assert!(left <= Duration::from_secs(5));
    }
}
