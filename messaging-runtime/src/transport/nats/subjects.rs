//! The subjects of `nats://`, decided in one place (the README's table documents them).
//! `{p}` is the subject prefix ([`super::NatsTransport::prefix`], `mb` by default):
//!
//! | what                              | subject                          | subscribed by            |
//! |-----------------------------------|----------------------------------|--------------------------|
//! | a request                         | `{p}.{contract}.{request}`       | every replica, group `q` |
//! | a request to every replica        | `{p}._all.{contract}.{request}`  | every replica            |
//! | a broadcast event                 | `{p}.{contract}.event.{event}`   | every client             |
//! | an event a client emits           | `{p}.{contract}.emit.{event}`    | every replica, group `q` |
//! | an event to one client            | `{p}._client.{client}.{event}`   | that client              |
//! | a client stops waiting (cancel)   | `{p}._cancel.{client}`           | every replica            |
//! | a client leaves                   | `{p}._bye.{client}`              | every replica            |
//!
//! Tokens that begin with `_` are the runtime's own, so a contract name may not begin with
//! one.

/// The subjects of one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    prefix: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    pub(crate) fn request(&self, contract: &str, request: &str) -> String {
        format!("{}.{contract}.{request}", self.prefix)
    }

    pub(crate) fn request_all(&self, contract: &str, request: &str) -> String {
        format!("{}._all.{contract}.{request}", self.prefix)
    }

    pub(crate) fn event(&self, contract: &str, event: &str) -> String {
        format!("{}.{contract}.event.{event}", self.prefix)
    }

    pub(crate) fn events_of(&self, contract: &str) -> String {
        format!("{}.{contract}.event.*", self.prefix)
    }

    pub(crate) fn emit(&self, contract: &str, event: &str) -> String {
        format!("{}.{contract}.emit.{event}", self.prefix)
    }

    pub(crate) fn emits_of(&self, contract: &str) -> String {
        format!("{}.{contract}.emit.*", self.prefix)
    }

    pub(crate) fn to_client(&self, client: &str, event: &str) -> String {
        format!("{}._client.{client}.{event}", self.prefix)
    }

    pub(crate) fn client_inbox(&self, client: &str) -> String {
        format!("{}._client.{client}.*", self.prefix)
    }

    pub(crate) fn cancel(&self, client: &str) -> String {
        format!("{}._cancel.{client}", self.prefix)
    }

    pub(crate) fn cancels(&self) -> String {
        format!("{}._cancel.*", self.prefix)
    }

    pub(crate) fn bye(&self, client: &str) -> String {
        format!("{}._bye.{client}", self.prefix)
    }

    pub(crate) fn byes(&self) -> String {
        format!("{}._bye.*", self.prefix)
    }

    /// The last token of `subject`: the request or event name of a subject above.
    pub(crate) fn last_token(subject: &str) -> &str {
        subject.rsplit('.').next().unwrap_or(subject)
    }
}

/// Checks that `value` can be one token of a subject: not empty, and none of `.`, `*`, `>`
/// or whitespace (which split or widen a subject).
pub(crate) fn check_token(what: &str, value: &str) -> Result<(), String> {
    let bad = value.chars().find(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace());
    match bad {
        _ if value.is_empty() => Err(format!("{what} is empty; a subject token needs at least one character")),
        Some(c) => Err(format!(
            "{what} `{value}` contains {c:?}, which cannot be part of a NATS subject token (expected no `.`, `*`, `>` or whitespace)"
        )),
        None => Ok(()),
    }
}

/// Checks a subject prefix: one or more tokens joined by `.`.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), String> {
    prefix.split('.').try_for_each(|token| check_token("a token of the subject prefix", token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_documented_table() {
        let s = Subjects::new("mb");
        assert_eq!(s.request("order-service", "createOrder"), "mb.order-service.createOrder");
        assert_eq!(s.request_all("order-service", "ping"), "mb._all.order-service.ping");
        assert_eq!(s.event("order-service", "orderPlaced"), "mb.order-service.event.orderPlaced");
        assert_eq!(s.emit("chat", "typing"), "mb.chat.emit.typing");
        assert_eq!(s.to_client("c1", "x"), "mb._client.c1.x");
        assert_eq!(Subjects::last_token("mb.order-service.event.orderPlaced"), "orderPlaced");
    }

    #[test]
    fn tokens_that_would_split_a_subject_are_refused() {
        assert!(check_token("request", "createOrder").is_ok());
        assert!(check_token("request", "$login").is_ok());
        for bad in ["", "a.b", "a*", ">", "a b"] {
            assert!(check_token("request", bad).is_err(), "{bad:?}");
        }
        assert!(check_prefix("acme.prod").is_ok());
        assert!(check_prefix("acme..prod").is_err());
    }
}
