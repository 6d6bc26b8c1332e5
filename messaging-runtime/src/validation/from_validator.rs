//! `validator`'s `ValidationErrors` turned into a [`ValidationFailure`]: nested structs and
//! lists flattened into field paths, each rule's message rendered.

use std::borrow::Cow;

use serde_json::{Map, Value};
use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use super::{FieldFailure, ValidationFailure};

impl From<ValidationErrors> for ValidationFailure {
    fn from(errors: ValidationErrors) -> Self {
        Self::from(&errors)
    }
}

impl From<&ValidationErrors> for ValidationFailure {
    fn from(errors: &ValidationErrors) -> Self {
        let mut found = Vec::new();
        flatten(errors, &mut Vec::new(), &mut found);
        // Sorted by path (list indices numerically); a field's own rules keep their order.
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Self { fields: found.into_iter().map(|(_, failure)| failure).collect() }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Field(String),
    Index(usize),
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(name) if out.is_empty() => out.push_str(name),
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn flatten(
    errors: &ValidationErrors,
    path: &mut Vec<Step>,
    out: &mut Vec<(Vec<Step>, FieldFailure)>,
) {
    for (name, kind) in errors.errors() {
        path.push(Step::Field(name.to_string()));
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    out.push((path.clone(), field_failure(render(path), error)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    path.push(Step::Index(*index));
                    flatten(inner, path, out);
                    path.pop();
                }
            }
        }
        path.pop();
    }
}

fn field_failure(field: String, error: &ValidationError) -> FieldFailure {
    let params: Map<String, Value> = error
        .params
        .iter()
        .filter(|(k, _)| k.as_ref() != "value")
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let message = match &error.message {
        Some(m) => m.to_string(),
        None => default_message(&error.code, &params),
    };
    FieldFailure { field, rule: error.code.to_string(), message, params }
}

/// A param as text: strings without quotes.
fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

/// The message of a built-in rule that has no `message = "..."` of its own.
fn default_message(code: &str, params: &Map<String, Value>) -> String {
    let p = |key: &str| params.get(key).map(text);
    match code {
        "length" => match (p("equal"), p("min"), p("max")) {
            (Some(n), _, _) => format!("length must be exactly {n}"),
            (None, Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (None, Some(min), None) => format!("length must be at least {min}"),
            (None, None, Some(max)) => format!("length must be at most {max}"),
            (None, None, None) => "length is out of range".into(),
        },
        "range" => {
            let mut bounds = Vec::new();
            if let Some(v) = p("min") {
                bounds.push(format!("at least {v}"));
            }
            if let Some(v) = p("exclusive_min") {
                bounds.push(format!("greater than {v}"));
            }
            if let Some(v) = p("max") {
                bounds.push(format!("at most {v}"));
            }
            if let Some(v) = p("exclusive_max") {
                bounds.push(format!("less than {v}"));
            }
            if bounds.is_empty() {
                "value is out of range".into()
            } else {
                format!("must be {}", bounds.join(" and "))
            }
        }
        "email" => "must be a valid email address".into(),
        "url" => "must be a valid URL".into(),
        "required" => "is required".into(),
        "regex" => "does not match the required pattern".into(),
        "credit_card" => "must be a valid credit card number".into(),
        "non_control_character" => "must not contain control characters".into(),
        "ip" => "must be a valid IP address".into(),
        "ipv4" => "must be a valid IPv4 address".into(),
        "ipv6" => "must be a valid IPv6 address".into(),
        "must_match" => match p("other") {
            Some(other) => format!("must match `{other}`"),
            None => "must match the other field".into(),
        },
        "contains" => match p("needle") {
            Some(needle) => format!("must contain `{needle}`"),
            None => "does not contain the required text".into(),
        },
        "does_not_contain" => match p("needle") {
            Some(needle) => format!("must not contain `{needle}`"),
            None => "contains forbidden text".into(),
        },
        other => format!("failed the `{other}` rule"),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::wire::WireError;

    fn error(code: &'static str, params: &[(&'static str, Value)]) -> ValidationError {
        let mut e = ValidationError::new(code);
        for (k, v) in params {
            e.add_param(Cow::Borrowed(*k), v);
        }
        e
    }

    #[test]
    fn flattens_nested_and_list_paths_in_order() {
        let mut first = ValidationErrors::new();
        first.add("quantity", error("range", &[("min", 1.into()), ("value", 0.into())]));
        let mut tenth = ValidationErrors::new();
        tenth.add("quantity", error("range", &[("min", 1.into())]));
        let mut address = ValidationErrors::new();
        address.add("zip", error("length", &[("equal", 5.into())]));
        let mut root = ValidationErrors::new();
        let items = [(10, Box::new(tenth)), (1, Box::new(first))].into_iter().collect();
        root.errors_mut().insert(Cow::Borrowed("items"), ValidationErrorsKind::List(items));
        root.errors_mut()
            .insert(Cow::Borrowed("address"), ValidationErrorsKind::Struct(Box::new(address)));
        let failure = ValidationFailure::from(root);
        let paths: Vec<_> = failure.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(paths, ["address.zip", "items[1].quantity", "items[10].quantity"]);
        assert_eq!(failure.fields()[1].message, "must be at least 1");
        assert!(!failure.fields()[1].params.contains_key("value"), "the value never travels");
        assert_eq!(failure.fields()[0].message, "length must be exactly 5");
    }

    #[test]
    fn message_groups_rules_per_field_and_round_trips() {
        let failure = ValidationFailure::new(vec![
            FieldFailure::new("a", "length", "x"),
            FieldFailure::new("a", "regex", "y"),
            FieldFailure::new("b", "email", "z"),
        ]);
        assert_eq!(failure.to_string(), "validation failed: a (length, regex), b (email)");
        let wire = failure.to_wire();
        assert_eq!(wire.status, Some(400));
        assert_eq!(ValidationFailure::from_wire(&wire), Some(failure));
        assert_eq!(ValidationFailure::from_wire(&WireError::internal("x")), None);
    }
}
