//! The reply subject of a request this library's client sends, which names the request
//! instead of headers: `{inbox}.{number}`, the inbox ending with the client's id, then the
//! timing of the request's context, `.t{timestamp}` (ms since the Unix epoch) and
//! `.d{deadline}` (ms left), each only when the context has it. For example
//! `_INBOX.3f9a0c7e12b4d5a6.42.t1764806400000.d29998`.
//!
//! A request without headers is a cheaper message for the client, the broker and the
//! server alike: on this path it carries none unless its context has fields other than
//! its timing. A server reads the headers first (`Mb-Client`, `Mb-Request-Id`,
//! `Mb-Timestamp`, `Mb-Deadline-Ms`), so any NATS client can still send a request with
//! them, and reads the reply subject only for what they do not say.

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::subjects::check_token;
use crate::context::MessageContext;

/// What a reply subject of this library's shape names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Named<'a> {
    /// The client's id.
    pub(super) client: &'a str,
    /// The client's number for the request.
    pub(super) number: u64,
    /// The context's timestamp, ms since the Unix epoch.
    pub(super) timestamp: Option<u64>,
    /// How many ms were left to the context's deadline when the request was sent.
    pub(super) deadline_ms: Option<u64>,
}

/// The reply subject of request `number` sent with `context`, answered under `inbox`.
pub(super) fn reply_subject(inbox: &str, number: u64, context: &MessageContext) -> String {
    let mut subject = String::with_capacity(inbox.len() + 48);
    // Writing to a `String` does not fail.
    let _ = write!(subject, "{inbox}.{number}");
    if let Some(timestamp) = context.timestamp {
        let _ = write!(subject, ".t{timestamp}");
    }
    if let Some(deadline) = context.deadline {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis();
        let _ = write!(subject, ".d{left}");
    }
    subject
}

/// The request number a reply to `subject` answers, when `subject` is under `inbox`.
pub(super) fn number_of(inbox: &str, subject: &str) -> Option<u64> {
    let rest = subject.strip_prefix(inbox)?.strip_prefix('.')?;
    digits(rest.split('.').next()?)
}

/// What `reply` names, read from its end; `None` for another shape, such as a plain NATS
/// client's inbox.
pub(super) fn named_by(reply: &str) -> Option<Named<'_>> {
    let mut tokens = reply.rsplit('.');
    let mut token = tokens.next()?;
    let deadline_ms = tagged(token, 'd');
    if deadline_ms.is_some() {
        token = tokens.next()?;
    }
    let timestamp = tagged(token, 't');
    if timestamp.is_some() {
        token = tokens.next()?;
    }
    let number = digits(token)?;
    let client = tokens.next()?;
    check_token("client id", client).ok()?;
    Some(Named { client, number, timestamp, deadline_ms })
}

impl Named<'_> {
    /// Gives `context` the timing this reply subject carries, where its headers said none.
    pub(super) fn fill(&self, context: &mut MessageContext) {
        if context.timestamp.is_none() {
            context.timestamp = self.timestamp;
        }
        if context.deadline.is_none() {
            let left = self.deadline_ms.map(Duration::from_millis);
            context.deadline = left.and_then(|left| Instant::now().checked_add(left));
        }
    }
}

/// `token` as a number when it is `tag` followed by digits.
fn tagged(token: &str, tag: char) -> Option<u64> {
    digits(token.strip_prefix(tag)?)
}

/// `token` as a number when it is all ASCII digits (`u64::from_str` also takes a `+`).
fn digits(token: &str) -> Option<u64> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(
        client: &str,
        number: u64,
        timestamp: Option<u64>,
        deadline_ms: Option<u64>,
    ) -> Named<'_> {
        Named { client, number, timestamp, deadline_ms }
    }

    #[test]
    fn a_reply_subject_names_its_client_and_request_only_in_this_librarys_shape() {
        let plain = named("3f9a0c7e12b4d5a6", 42, None, None);
        assert_eq!(named_by("_INBOX.3f9a0c7e12b4d5a6.42"), Some(plain));
        assert_eq!(named_by("my.inbox.c-1.7"), Some(named("c-1", 7, None, None)), "any prefix");
        // A plain NATS client's inboxes: old style, and muxed with a token that is no number.
        assert_eq!(named_by("_INBOX.Ua2hWvjQnL7pd0Xq1x9Zs3"), None);
        assert_eq!(named_by("_INBOX.Ua2hWvjQnL7pd0Xq1x9Zs3.kT8b"), None);
        assert_eq!(named_by("7"), None, "a number alone names no client");
        assert_eq!(named_by("_INBOX.*.7"), None, "a wildcard is no client id");
        assert_eq!(named_by("_INBOX.c1.+7"), None, "a sign is no digit");
    }

    #[test]
    fn the_timing_follows_the_number_and_each_part_is_optional() {
        let both = named("c1", 42, Some(1_764_806_400_000), Some(29_998));
        assert_eq!(named_by("_INBOX.c1.42.t1764806400000.d29998"), Some(both));
        assert_eq!(named_by("_INBOX.c1.42.d5"), Some(named("c1", 42, None, Some(5))));
        assert_eq!(named_by("_INBOX.c1.42.t9"), Some(named("c1", 42, Some(9), None)));
        // Client ids that look like timing are still client ids where the shape says so.
        assert_eq!(named_by("_INBOX.d5.42"), Some(named("d5", 42, None, None)));
        assert_eq!(named_by("_INBOX.t5.42.t6"), Some(named("t5", 42, Some(6), None)));
        // Out of order, or malformed: not this library's shape.
        assert_eq!(named_by("_INBOX.c1.42.d5.t9"), None);
        assert_eq!(named_by("_INBOX.c1.42.dsoon"), None);
    }

    #[test]
    fn what_a_client_sends_is_what_a_server_reads() {
        let mut context = MessageContext::new();
        context.timestamp = Some(1_764_806_400_000);
        context.deadline = Instant::now().checked_add(Duration::from_secs(30));
        let subject = reply_subject("_INBOX.c1", 7, &context);
        assert_eq!(number_of("_INBOX.c1", &subject), Some(7), "the client finds its request");
        let read = named_by(&subject).expect("this library's shape");
        assert_eq!((read.client, read.number, read.timestamp), ("c1", 7, context.timestamp));
        let left = read.deadline_ms.expect("a deadline");
        assert!((29_000..=30_000).contains(&left), "about 30 s left, got {left} ms");

        let mut served = MessageContext::default();
        read.fill(&mut served);
        assert_eq!(served.timestamp, context.timestamp);
        assert!(served.deadline.is_some(), "the deadline is carried over");
        assert_eq!(number_of("_INBOX.c2", &subject), None, "another inbox's reply");
    }

    #[test]
    fn headers_win_over_the_reply_subject() {
        let deadline = Instant::now();
        let mut context = MessageContext {
            timestamp: Some(1),
            deadline: Some(deadline),
            ..MessageContext::default()
        };
        named("c1", 1, Some(2), Some(60_000)).fill(&mut context);
        assert_eq!(context.timestamp, Some(1));
        assert_eq!(context.deadline, Some(deadline));
    }
}
