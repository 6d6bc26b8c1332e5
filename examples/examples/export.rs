//! Prints an artifact of one of this repository's contracts, or compares it with an older
//! snapshot:
//!
//! ```text
//! cargo run -p examples --example export -- <contract-name> <artifact>
//!   contract-name   order-service, product-service, user-service, dashboard-service
//!   artifact        json-schema | asyncapi | typescript | snapshot | diff OLD.json
//! ```
//!
//! `diff OLD.json` lists every change since that snapshot with its severity and rule, and
//! exits with status 1 when the current version does not allow them (a breaking change
//! without a major bump, a compatible one without a minor bump). Bad arguments exit with 2.

use std::process::ExitCode;

use messaging_runtime::contract::compat;
use messaging_runtime::contract::snapshot::Snapshot;
use messaging_runtime::contract::{asyncapi, schema, typescript};

const USAGE: &str =
    "usage: export <contract-name> <json-schema|asyncapi|typescript|snapshot|diff OLD.json>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (name, artifact, rest) = match args {
        [name, artifact, rest @ ..] => (name.as_str(), artifact.as_str(), rest),
        _ => return Err("expected a contract name and an artifact".into()),
    };
    let descriptor = contracts::by_name(name).ok_or_else(|| {
        let known: Vec<&str> = contracts::ALL.iter().map(|d| d.name).collect();
        format!("unknown contract `{name}`: expected one of {}", known.join(", "))
    })?;
    let snapshot = Snapshot::of_descriptor(descriptor).map_err(|e| e.to_string())?;
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
    match (artifact, rest) {
        ("json-schema", []) => println!("{}", pretty(&schema::json_schema_of(&snapshot))),
        ("asyncapi", []) => println!("{}", pretty(&asyncapi::asyncapi_of(&snapshot))),
        ("typescript", []) => print!("{}", typescript::typescript_of(&snapshot)),
        ("snapshot", []) => print!("{}", snapshot.to_pretty_json()),
        ("diff", [old]) => return diff(old, &snapshot),
        ("diff", _) => return Err("`diff` takes one argument: the older snapshot's file".into()),
        (other, []) => return Err(format!("unknown artifact `{other}`")),
        (_, extra) => {
            return Err(format!("unexpected arguments after the artifact: {}", extra.join(" ")))
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Compares `snapshot` with the one in file `old`.
fn diff(old: &str, snapshot: &Snapshot) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(old).map_err(|e| format!("cannot read `{old}`: {e}"))?;
    let before = Snapshot::from_json(&text).map_err(|e| format!("`{old}`: {e}"))?;
    let report = compat::check(&before, snapshot);
    println!(
        "{} {} → {}: {} change(s)",
        snapshot.name,
        before.version,
        snapshot.version,
        report.changes.len()
    );
    for change in &report.changes {
        println!("  {change}");
    }
    if report.is_ok() {
        println!("ok: version {} allows every change", snapshot.version);
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        println!("error: {problem}");
    }
    Ok(ExitCode::FAILURE)
}
