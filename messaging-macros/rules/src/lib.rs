//! The rules both `messaging-macros` (at compile time) and `messaging-runtime` (at run time)
//! apply, in one tiny crate both depend on, so `#[permission("..")]` and `Permission` can
//! never disagree. Not meant to be used directly: the runtime re-exports what users need.

/// Rule: a permission is one or more `:`-separated segments, each `[a-z0-9_-]+` or exactly
/// `*`. Returns what is wrong, or `Ok` when `value` is a valid permission.
///
/// # Errors
///
/// A lower-case sentence naming the first problem found (empty string, empty segment, or the
/// offending segment).
pub fn check_permission(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("the permission is empty".to_owned());
    }
    for segment in value.split(':') {
        if segment.is_empty() {
            return Err(
                "it has an empty segment (check for a leading, trailing or doubled `:`)".to_owned()
            );
        }
        if segment == "*" {
            continue;
        }
        if segment.contains('*') {
            return Err(format!("segment `{segment}` mixes `*` with other characters"));
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')))
        {
            let what = if bad.is_ascii_uppercase() {
                format!("has the upper-case letter `{bad}`")
            } else if bad.is_whitespace() {
                "has whitespace".to_owned()
            } else {
                format!("has the character `{bad}`")
            };
            return Err(format!("segment `{segment}` {what}"));
        }
    }
    Ok(())
}
