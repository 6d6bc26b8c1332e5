//! Walks two snapshots side by side: the messages, then each message's schema (following
//! `$ref`s into the definitions of its own snapshot), recording each change under its rule.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::keywords::{core, join, nullable, ref_name, required, resolve, show, types, variants};
use super::{Change, Rule};
use crate::contract::snapshot::Snapshot;

/// Which way a value travels, as seen from a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    /// Clients send it (request payloads).
    Sent,
    /// Clients receive it (responses, events, error details).
    Received,
}

use Direction::{Received, Sent};

/// Compares the messages of two snapshots.
pub(super) fn top_level(old: &Snapshot, new: &Snapshot, changes: &mut Vec<Change>) {
    let mut walker = Walker { old, new, changes, seen: HashSet::new() };
    walker.requests();
    for event in &old.events {
        let path = format!("event {}", event.name);
        match new.events.iter().find(|e| e.name == event.name) {
            None => walker.push(Rule::EventRemoved, path, "the event is gone".into()),
            Some(now) => walker.schema(&event.payload, &now.payload, Received, &path),
        }
    }
    for event in new.events.iter().filter(|e| !old.events.iter().any(|o| o.name == e.name)) {
        walker.push(Rule::EventAdded, format!("event {}", event.name), "a new event".into());
    }
    walker.errors();
}

struct Walker<'a> {
    old: &'a Snapshot,
    new: &'a Snapshot,
    changes: &'a mut Vec<Change>,
    /// The definition pairs already compared in a direction (recursive types end here).
    seen: HashSet<(String, String, Direction)>,
}

impl Walker<'_> {
    fn push(&mut self, rule: Rule, path: String, detail: String) {
        self.changes.push(Change { severity: rule.severity(), rule, path, detail });
    }

    fn requests(&mut self) {
        let (old, new) = (self.old, self.new);
        for request in &old.requests {
            let path = format!("request {}", request.name);
            let Some(now) = new.requests.iter().find(|r| r.name == request.name) else {
                self.push(Rule::RequestRemoved, path, "the request is gone".into());
                continue;
            };
            match (&request.permission, &now.permission) {
                (a, b) if a == b => {}
                (Some(a), None) => self.push(
                    Rule::PermissionRemoved,
                    path.clone(),
                    format!("no longer requires `{a}`"),
                ),
                (a, Some(b)) => self.push(
                    Rule::PermissionChanged,
                    path.clone(),
                    format!(
                        "requires `{b}` (was {})",
                        a.as_deref().map_or("none".into(), |a| format!("`{a}`"))
                    ),
                ),
                (None, None) => {}
            }
            self.schema(&request.request, &now.request, Sent, &path);
            self.schema(
                &request.response,
                &now.response,
                Received,
                &format!("response of {}", request.name),
            );
        }
        for request in
            new.requests.iter().filter(|r| !old.requests.iter().any(|o| o.name == r.name))
        {
            self.push(
                Rule::RequestAdded,
                format!("request {}", request.name),
                "a new request".into(),
            );
        }
    }

    fn errors(&mut self) {
        let (old, new) = (self.old, self.new);
        for error in &old.errors {
            let path = format!("error {}", error.code);
            let Some(now) = new.errors.iter().find(|e| e.code == error.code) else {
                self.push(Rule::ErrorRemoved, path, "the error code is gone".into());
                continue;
            };
            if error.status != now.status {
                let detail = format!("status {} (was {})", now.status, error.status);
                self.push(Rule::ErrorStatusChanged, path.clone(), detail);
            }
            if error.template != now.template {
                let detail = format!("template {:?} (was {:?})", now.template, error.template);
                self.push(Rule::ErrorTemplateChanged, path.clone(), detail);
            }
            self.schema(&error.details, &now.details, Received, &format!("{path} details"));
        }
        for error in new.errors.iter().filter(|e| !old.errors.iter().any(|o| o.code == e.code)) {
            self.push(Rule::ErrorAdded, format!("error {}", error.code), "a new error code".into());
        }
    }

    /// Compares one schema of the old snapshot with its counterpart in the new one.
    fn schema(&mut self, old: &Value, new: &Value, dir: Direction, path: &str) {
        if let (Some(a), Some(b)) = (ref_name(old), ref_name(new)) {
            if !self.seen.insert((a.to_owned(), b.to_owned(), dir)) {
                return;
            }
        }
        let (old, new) = (resolve(old, self.old), resolve(new, self.new));
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else { return };
        if old.is_empty() || new.is_empty() {
            return; // `{}` accepts anything: nothing to compare against.
        }
        if old.get("description") != new.get("description") {
            self.push(Rule::DocumentationChanged, path.into(), "the description changed".into());
        }
        self.nullability(old, new, dir, path);
        let (old_core, new_core) = (core(old, self.old), core(new, self.new));
        let (old, new) = (&old_core, &new_core);
        let (old_types, new_types) = (types(old), types(new));
        if !old_types.is_empty() && !new_types.is_empty() && old_types != new_types {
            let detail = format!("{} (was {})", join(&new_types), join(&old_types));
            self.push(Rule::TypeChanged, path.into(), detail);
            return;
        }
        self.variants(old, new, dir, path);
        self.constraints(old, new, dir, path);
        self.properties(old, new, dir, path);
        for key in ["items", "additionalProperties"] {
            if let (Some(a), Some(b)) = (old.get(key), new.get(key)) {
                let inner =
                    if key == "items" { format!("{path}[]") } else { format!("{path}{{}}") };
                self.schema(a, b, dir, &inner);
            }
        }
    }

    fn nullability(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        dir: Direction,
        path: &str,
    ) {
        match (nullable(old), nullable(new), dir) {
            (true, false, Sent) => {
                self.push(Rule::SentNullRemoved, path.into(), "no longer accepts null".into())
            }
            (false, true, Sent) => {
                self.push(Rule::SentNullAdded, path.into(), "now accepts null".into())
            }
            (false, true, Received) => {
                self.push(Rule::ReceivedFieldBecameOptional, path.into(), "may now be null".into())
            }
            _ => {}
        }
    }

    fn variants(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        dir: Direction,
        path: &str,
    ) {
        let (Some(a), Some(b)) = (variants(old, self.old), variants(new, self.new)) else { return };
        for (key, schema) in &a {
            match b.iter().find(|(k, _)| k == key) {
                Some((_, now)) => {
                    let (schema, now) = (schema.clone(), now.clone());
                    self.schema(&schema, &now, dir, &format!("{path}::{key}"));
                }
                None => {
                    let rule = if dir == Sent {
                        Rule::SentVariantRemoved
                    } else {
                        Rule::ReceivedVariantRemoved
                    };
                    self.push(rule, path.into(), format!("variant {key} is gone"));
                }
            }
        }
        for (key, _) in b.iter().filter(|(k, _)| !a.iter().any(|(o, _)| o == k)) {
            let rule =
                if dir == Sent { Rule::SentVariantAdded } else { Rule::ReceivedVariantAdded };
            self.push(rule, path.into(), format!("new variant {key}"));
        }
    }

    fn constraints(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        dir: Direction,
        path: &str,
    ) {
        // (keyword, whether a larger value is stricter)
        const BOUNDS: [(&str, bool); 6] = [
            ("minLength", true),
            ("maxLength", false),
            ("minimum", true),
            ("maximum", false),
            ("minItems", true),
            ("maxItems", false),
        ];
        for (keyword, larger_is_stricter) in BOUNDS {
            let (a, b) = (
                old.get(keyword).and_then(Value::as_f64),
                new.get(keyword).and_then(Value::as_f64),
            );
            let tighter = match (a, b) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) if a != b => (b > a) == larger_is_stricter,
                _ => continue,
            };
            let detail =
                format!("{keyword} {} (was {})", show(new.get(keyword)), show(old.get(keyword)));
            self.constraint(tighter, dir, path, detail);
        }
        for keyword in ["pattern", "format"] {
            let (a, b) = (old.get(keyword), new.get(keyword));
            if a == b {
                continue;
            }
            let detail = format!("{keyword} {} (was {})", show(b), show(a));
            match (a, b) {
                (None, Some(_)) => self.constraint(true, dir, path, detail),
                (Some(_), None) => self.constraint(false, dir, path, detail),
                // Another pattern or format is both stricter and looser.
                _ => {
                    let rule = if dir == Sent {
                        Rule::SentConstraintTightened
                    } else {
                        Rule::ReceivedConstraintLoosened
                    };
                    self.push(rule, path.into(), detail);
                }
            }
        }
    }

    fn constraint(&mut self, tighter: bool, dir: Direction, path: &str, detail: String) {
        let rule = match (dir, tighter) {
            (Sent, true) => Rule::SentConstraintTightened,
            (Sent, false) => Rule::SentConstraintLoosened,
            (Received, true) => Rule::ReceivedConstraintTightened,
            (Received, false) => Rule::ReceivedConstraintLoosened,
        };
        self.push(rule, path.into(), detail);
    }

    fn properties(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        dir: Direction,
        path: &str,
    ) {
        let props =
            |s: &Map<String, Value>| s.get("properties").and_then(Value::as_object).cloned();
        let (Some(a), Some(b)) = (props(old), props(new)) else { return };
        let (req_a, req_b) = (required(old), required(new));
        let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, schema) in &a {
            let field = format!("{path}.{name}");
            let Some(now) = b.get(name) else {
                let rule = match dir {
                    Sent if closed => Rule::SentFieldRejected,
                    Sent => Rule::SentFieldRemoved,
                    Received if req_a.contains(name) => Rule::ReceivedFieldRemoved,
                    Received => continue, // An optional field clients receive may go.
                };
                self.push(rule, field, "the field is gone".into());
                continue;
            };
            match (req_a.contains(name), req_b.contains(name), dir) {
                (true, false, Sent) => {
                    self.push(Rule::SentFieldBecameOptional, field.clone(), "now optional".into())
                }
                (false, true, Sent) => {
                    self.push(Rule::SentFieldBecameRequired, field.clone(), "now required".into())
                }
                (true, false, Received) => self.push(
                    Rule::ReceivedFieldBecameOptional,
                    field.clone(),
                    "now optional".into(),
                ),
                (false, true, Received) => self.push(
                    Rule::ReceivedFieldBecameRequired,
                    field.clone(),
                    "now always present".into(),
                ),
                _ => {}
            }
            self.schema(schema, now, dir, &field);
        }
        for (name, _) in b.iter().filter(|(n, _)| !a.contains_key(*n)) {
            let field = format!("{path}.{name}");
            let rule = match (dir, req_b.contains(name)) {
                (Sent, true) => Rule::RequiredFieldAdded,
                (Sent, false) => Rule::OptionalFieldAdded,
                (Received, _) => Rule::ReceivedFieldAdded,
            };
            self.push(rule, field, "a new field".into());
        }
    }
}
