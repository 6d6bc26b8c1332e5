// The rule of what a permission string may be, as one function with no dependencies: the
// runtime compiles it as a module, and `messaging-macros` (which cannot depend on the runtime)
// `include!`s this very file, so `#[permission("..")]` at compile time and `Permission` at run
// time can never disagree.

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
