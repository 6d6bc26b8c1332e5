//! JSON Schema (as `schemars` writes it) to zod 3 expressions, constraints included.

use serde_json::{Map, Value};

/// A JSON value as TypeScript source (JSON is valid TypeScript for literals).
pub(super) fn literal(value: &Value) -> String {
    value.to_string()
}

/// A definition name as a TypeScript identifier: letters, digits and `_`, not starting
/// with a digit.
pub(super) fn ident(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// The zod expression of `schema`. `lazy` names the definitions that must be referred to
/// through `z.lazy` (those in a reference cycle).
pub(super) fn zod(schema: &Value, lazy: &[String]) -> String {
    let Some(object) = schema.as_object() else {
        // `true` or anything that is not an object: any value.
        return "z.unknown()".into();
    };
    if let Some(name) =
        object.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let name = ident(name);
        return if lazy.contains(&name) { format!("z.lazy(() => {name})") } else { name };
    }
    if let Some(value) = object.get("const") {
        return format!("z.literal({})", literal(value));
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        return enumeration(values);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = object.get(key).and_then(Value::as_array) {
            return union(branches, lazy);
        }
    }
    if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
        let parts: Vec<String> = parts.iter().map(|p| zod(p, lazy)).collect();
        return parts
            .into_iter()
            .reduce(|a, b| format!("z.intersection({a}, {b})"))
            .unwrap_or_else(|| "z.unknown()".into());
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable = types.contains(&"null");
    let rest: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let base = match rest.as_slice() {
        [] if nullable => return "z.null()".into(),
        [] => return "z.unknown()".into(),
        [only] => typed(only, object, lazy),
        many => {
            let each: Vec<String> = many.iter().map(|t| typed(t, object, lazy)).collect();
            format!("z.union([{}])", each.join(", "))
        }
    };
    if nullable {
        format!("{base}.nullable()")
    } else {
        base
    }
}

/// `z.enum` for string values, a union of literals otherwise.
fn enumeration(values: &[Value]) -> String {
    if !values.is_empty() && values.iter().all(Value::is_string) {
        let items: Vec<String> = values.iter().map(literal).collect();
        return format!("z.enum([{}])", items.join(", "));
    }
    let items: Vec<String> = values.iter().map(|v| format!("z.literal({})", literal(v))).collect();
    match items.as_slice() {
        [] => "z.never()".into(),
        [one] => one.clone(),
        _ => format!("z.union([{}])", items.join(", ")),
    }
}

/// `anyOf` / `oneOf`: `X | null` as `.nullable()`, string constants as `z.enum`, anything
/// else as `z.union`.
fn union(branches: &[Value], lazy: &[String]) -> String {
    let is_null = |b: &Value| b.get("type") == Some(&Value::String("null".into()));
    let rest: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
    let nullable = rest.len() < branches.len();
    let consts: Option<Vec<Value>> =
        rest.iter().map(|b| b.get("const").filter(|c| c.is_string()).cloned()).collect();
    let base = match (rest.as_slice(), consts) {
        ([], _) => "z.null()".to_owned(),
        ([one], _) => zod(one, lazy),
        (_, Some(values)) => enumeration(&values),
        (many, None) => {
            let each: Vec<String> = many.iter().map(|b| zod(b, lazy)).collect();
            format!("z.union([{}])", each.join(", "))
        }
    };
    if nullable && !rest.is_empty() {
        format!("{base}.nullable()")
    } else {
        base
    }
}

fn typed(ty: &str, schema: &Map<String, Value>, lazy: &[String]) -> String {
    match ty {
        "string" => string(schema),
        "integer" => number(schema, true),
        "number" => number(schema, false),
        "boolean" => "z.boolean()".into(),
        "array" => array(schema, lazy),
        "object" => object(schema, lazy),
        _ => "z.unknown()".into(),
    }
}

/// A string with its format and constraints. Lengths count Unicode scalar values, as
/// `validator` and JSON Schema do (zod's `.min`/`.max` would count UTF-16 units), through
/// the generated file's `chars` helper.
fn string(schema: &Map<String, Value>) -> String {
    let mut out = String::from("z.string()");
    match schema.get("format").and_then(Value::as_str) {
        Some("email") => out.push_str(".email()"),
        Some("uri") => out.push_str(".url()"),
        Some("ipv4") => out.push_str(".ip({ version: \"v4\" })"),
        Some("ipv6") => out.push_str(".ip({ version: \"v6\" })"),
        Some("ip") => out.push_str(".ip()"),
        _ => {}
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        out.push_str(&format!(
            ".refine((s) => chars(s) >= {min}, {{ message: \"must be at least {min} characters\" }})"
        ));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        out.push_str(&format!(
            ".refine((s) => chars(s) <= {max}, {{ message: \"must be at most {max} characters\" }})"
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        out.push_str(&format!(
            ".regex(new RegExp({}, \"u\"))",
            literal(&Value::String(pattern.into()))
        ));
    }
    out
}

/// The bounds a Rust integer type implies, from `schemars`' `format`.
fn format_bounds(format: Option<&str>) -> (Option<f64>, Option<f64>) {
    match format {
        Some("uint8") => (Some(0.0), Some(255.0)),
        Some("uint16") => (Some(0.0), Some(65_535.0)),
        Some("uint32") => (Some(0.0), Some(4_294_967_295.0)),
        Some("uint64" | "uint") => (Some(0.0), Some(18_446_744_073_709_551_615.0)),
        Some("int8") => (Some(-128.0), Some(127.0)),
        Some("int16") => (Some(-32_768.0), Some(32_767.0)),
        Some("int32") => (Some(-2_147_483_648.0), Some(2_147_483_647.0)),
        Some("int64" | "int") => {
            (Some(-9_223_372_036_854_775_808.0), Some(9_223_372_036_854_775_807.0))
        }
        _ => (None, None),
    }
}

fn number(schema: &Map<String, Value>, integer: bool) -> String {
    let mut out = String::from(if integer { "z.number().int()" } else { "z.number()" });
    let (format_min, format_max) = if integer {
        format_bounds(schema.get("format").and_then(Value::as_str))
    } else {
        (None, None)
    };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    // Rust prints an `f64` in full decimal (`18446744073709552000`, `0`), valid TypeScript.
    let num = |v: f64| v.to_string();
    if let Some(min) = bound("minimum").map(|m| format_min.map_or(m, |f| m.max(f))).or(format_min) {
        out.push_str(&format!(".gte({})", num(min)));
    }
    if let Some(max) = bound("maximum").map(|m| format_max.map_or(m, |f| m.min(f))).or(format_max) {
        out.push_str(&format!(".lte({})", num(max)));
    }
    if let Some(min) = bound("exclusiveMinimum") {
        out.push_str(&format!(".gt({})", num(min)));
    }
    if let Some(max) = bound("exclusiveMaximum") {
        out.push_str(&format!(".lt({})", num(max)));
    }
    out
}

fn array(schema: &Map<String, Value>, lazy: &[String]) -> String {
    if let Some(items) = schema.get("prefixItems").and_then(Value::as_array) {
        let each: Vec<String> = items.iter().map(|i| zod(i, lazy)).collect();
        return format!("z.tuple([{}])", each.join(", "));
    }
    let item = schema.get("items").map_or_else(|| "z.unknown()".into(), |i| zod(i, lazy));
    let mut out = format!("z.array({item})");
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
        out.push_str(&format!(".min({min})"));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
        out.push_str(&format!(".max({max})"));
    }
    out
}

/// An object: `z.object` with optional fields for those not required (unknown keys are
/// stripped, so fields a newer server adds do not break an older client), `.strict()` for
/// `additionalProperties: false`, `z.record` for a map.
fn object(schema: &Map<String, Value>, lazy: &[String]) -> String {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let extra = schema.get("additionalProperties");
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return match extra {
            Some(Value::Object(values)) => {
                format!("z.record(z.string(), {})", zod(&Value::Object(values.clone()), lazy))
            }
            Some(Value::Bool(false)) => "z.object({}).strict()".into(),
            _ => "z.record(z.string(), z.unknown())".into(),
        };
    };
    let fields: Vec<String> = properties
        .iter()
        .map(|(name, field)| {
            let optional = if required.contains(&name.as_str()) { "" } else { ".optional()" };
            format!("{}: {}{optional}", literal(&Value::String(name.clone())), zod(field, lazy))
        })
        .collect();
    let mut out = format!("z.object({{ {} }})", fields.join(", "));
    match extra {
        Some(Value::Bool(false)) => out.push_str(".strict()"),
        Some(Value::Object(values)) => {
            out.push_str(&format!(".catchall({})", zod(&Value::Object(values.clone()), lazy)));
        }
        _ => {}
    }
    out
}
