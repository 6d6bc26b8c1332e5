//! The message template of an error variant: literal text with `{name}` / `{name:spec}`
//! placeholders, and `{{` / `}}` for literal braces (the `format!` escapes).

use std::fmt;

/// A parsed template, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    pub(super) pieces: Vec<Piece>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// Literal text, braces already unescaped.
    Text(String),
    /// `{name}` or `{name:spec}`.
    Placeholder(Placeholder),
}

/// A `{name}` or `{name:spec}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Placeholder {
    /// The field it names, as written: a Rust name, a lowerCamelCase name or a tuple index.
    pub(super) name: String,
    /// The format spec after `:`, passed to `format!` as written.
    pub(super) spec: Option<String>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TemplateError {
    /// A `{` with no `}` after it.
    Unclosed { placeholder: String },
    /// A `}` with no `{` before it.
    Unmatched,
    /// `{}` or `{:spec}`: a placeholder must name a field.
    Empty,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unclosed { placeholder } => write!(
                f,
                "unclosed `{{` in message template at `{placeholder}`: expected `}}` to end the \
                 placeholder, or write `{{{{` for a literal brace"
            ),
            Self::Unmatched => f.write_str(
                "unmatched `}` in message template: write `}}` for a literal brace, or open a \
                 placeholder with `{`",
            ),
            Self::Empty => f.write_str(
                "empty placeholder in message template: expected a field name, like `{order_id}` \
                 (or `{0}` for a tuple field)",
            ),
        }
    }
}

impl Template {
    /// The placeholders, in order.
    pub(super) fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Placeholder(p) => Some(p),
            Piece::Text(_) => None,
        })
    }

    /// The template as a `format!` string whose placeholders are positional (`{}` or
    /// `{:spec}`), to be given one argument per placeholder, in order.
    pub(super) fn format_string(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(&text.replace('{', "{{").replace('}', "}}")),
                Piece::Placeholder(Placeholder { spec: Some(spec), .. }) => {
                    out.push_str("{:");
                    out.push_str(spec);
                    out.push('}');
                }
                Piece::Placeholder(Placeholder { spec: None, .. }) => out.push_str("{}"),
            }
        }
        out
    }
}

/// Parses a message template.
pub(super) fn parse(template: &str) -> Result<Template, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.next_if(|&(_, next)| next == '{').is_some() => text.push('{'),
            '}' if chars.next_if(|&(_, next)| next == '}').is_some() => text.push('}'),
            '}' => return Err(TemplateError::Unmatched),
            '{' => {
                let rest = &template[at + 1..];
                let Some(end) = rest.find(['{', '}']).filter(|&end| rest[end..].starts_with('}'))
                else {
                    let placeholder = rest.split(['{', '}']).next().unwrap_or_default();
                    return Err(TemplateError::Unclosed {
                        placeholder: format!("{{{placeholder}"),
                    });
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Placeholder(placeholder(&rest[..end])?));
                // Skip the placeholder's characters and its closing `}`.
                for _ in rest[..=end].chars() {
                    chars.next();
                }
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(Template { pieces })
}

/// Splits the inside of `{...}` into the name and the optional spec.
fn placeholder(inside: &str) -> Result<Placeholder, TemplateError> {
    let (name, spec) = match inside.split_once(':') {
        Some((name, spec)) => (name, Some(spec.to_owned())),
        None => (inside, None),
    };
    if name.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    Ok(Placeholder { name: name.to_owned(), spec })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Piece {
        Piece::Text(s.to_owned())
    }

    fn field(name: &str, spec: Option<&str>) -> Piece {
        Piece::Placeholder(Placeholder { name: name.to_owned(), spec: spec.map(str::to_owned) })
    }

    fn pieces(template: &str) -> Vec<Piece> {
        match parse(template) {
            Ok(t) => t.pieces,
            Err(e) => panic!("`{template}` should parse, got: {e}"),
        }
    }

    #[test]
    fn parses_text_and_placeholders() {
        assert_eq!(
            pieces("Order with ID {orderId} not found"),
            vec![text("Order with ID "), field("orderId", None), text(" not found")]
        );
        assert_eq!(pieces("{a}{b}"), vec![field("a", None), field("b", None)]);
        assert_eq!(pieces("boom {0}"), vec![text("boom "), field("0", None)]);
        assert_eq!(pieces(""), vec![]);
        assert_eq!(pieces("plain"), vec![text("plain")]);
    }

    #[test]
    fn keeps_format_specs() {
        assert_eq!(pieces("{total:.2} due"), vec![field("total", Some(".2")), text(" due")]);
        assert_eq!(pieces("{id:>8}"), vec![field("id", Some(">8"))]);
        assert_eq!(pieces("{x:}"), vec![field("x", Some(""))]);
    }

    #[test]
    fn unescapes_doubled_braces() {
        assert_eq!(pieces("{{literal}}"), vec![text("{literal}")]);
        assert_eq!(pieces("a {{ {b} }}"), vec![text("a { "), field("b", None), text(" }")]);
        assert_eq!(pieces("{{{x}}}"), vec![text("{"), field("x", None), text("}")]);
    }

    #[test]
    fn handles_non_ascii_text() {
        assert_eq!(pieces("é {ü} ß"), vec![text("é "), field("ü", None), text(" ß")]);
    }

    #[test]
    fn rejects_unbalanced_braces() {
        assert_eq!(parse("oops {id"), Err(TemplateError::Unclosed { placeholder: "{id".into() }));
        assert_eq!(parse("a {b {c}"), Err(TemplateError::Unclosed { placeholder: "{b ".into() }));
        assert_eq!(parse("oops }"), Err(TemplateError::Unmatched));
        assert_eq!(parse("{a}}"), Err(TemplateError::Unmatched));
        assert_eq!(parse("{"), Err(TemplateError::Unclosed { placeholder: "{".into() }));
    }

    #[test]
    fn rejects_empty_placeholders() {
        assert_eq!(parse("a {} b"), Err(TemplateError::Empty));
        assert_eq!(parse("{:?}"), Err(TemplateError::Empty));
        assert_eq!(parse("{ }"), Err(TemplateError::Empty));
    }

    #[test]
    fn builds_a_positional_format_string() {
        let template = parse("{{x}} {a} and {b:>4} {{").map_err(|e| e.to_string());
        assert_eq!(template.map(|t| t.format_string()), Ok("{{x}} {} and {:>4} {{".to_owned()));
    }

    #[test]
    fn lists_placeholders_in_order() {
        let names: Vec<String> = parse("{b} {a} {b}")
            .map(|t| t.placeholders().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["b", "a", "b"]);
    }
}
