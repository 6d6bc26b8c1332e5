//! What `#[contract]` costs at compile time: a generated contract of N methods (default 200)
//! with two events and an error enum, against the no-macro floor (the same request, event and
//! error types, and a hand-written trait of the same methods), built in one run.
//!
//! ```sh
//! cargo run --release -p examples --example compile_cost [-- --methods 200 --rounds 5]
//! ```
//!
//! It writes both crates to a temporary directory (outside the workspace, path dependency on
//! this `messaging-runtime`), checks each once to warm up, then prints: the expanded lines of
//! each (`-Zunpretty=expanded` through `RUSTC_BOOTSTRAP=1`, rustc's own pretty-printer) and
//! their difference per method; and the median time of `touch + cargo check` over the rounds,
//! the macro's overhead being the difference.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (methods, rounds) = arguments()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    let dir = std::env::temp_dir().join(format!("messaging-compile-cost-{}", std::process::id()));
    let target = root.join("target").join("compile-cost");
    let with_macro = write_crate(&dir, "with-macro", &source(methods, true), root)?;
    let floor = write_crate(&dir, "floor", &source(methods, false), root)?;
    for krate in [&with_macro, &floor] {
        check(krate, &target)?;
    }
    let lines_macro = expanded_lines(&with_macro, &target)?;
    let lines_floor = expanded_lines(&floor, &target)?;
    println!("{methods} methods, 2 events, 1 error enum; rustc {}", rustc_version());
    println!(
        "expanded lines: with #[contract] {lines_macro}, floor {lines_floor}: {:.0} lines per method",
        (lines_macro as f64 - lines_floor as f64) / methods as f64
    );
    let time_macro = median_check(&with_macro, &target, rounds)?;
    let time_floor = median_check(&floor, &target, rounds)?;
    println!(
        "touch + cargo check, median of {rounds}: with #[contract] {:.2} s, floor {:.2} s: overhead {:.2} s",
        time_macro.as_secs_f64(),
        time_floor.as_secs_f64(),
        time_macro.as_secs_f64() - time_floor.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn arguments() -> Result<(usize, usize), String> {
    let (mut methods, mut rounds) = (200, 5);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        let number = value.parse().map_err(|_| format!("`{flag} {value}`: expected a number"))?;
        match flag.as_str() {
            "--methods" if number > 0 => methods = number,
            "--rounds" if number > 0 => rounds = number,
            _ => {
                return Err(format!("unknown or zero `{flag}`: expected --methods N or --rounds N"))
            }
        }
    }
    Ok((methods, rounds))
}

/// The library: the shared types, then the contract (or the hand-written trait).
fn source(methods: usize, with_macro: bool) -> String {
    let mut s = String::from(
        "#![allow(missing_docs, dead_code)]\nuse messaging_runtime::prelude::*;\n\n\
         #[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Reply { pub value: u32 }\n\n\
         #[event]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Tick { pub n: u32 }\n\n\
         #[event]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Tock { pub n: u32 }\n\n\
         #[error_code]\n#[derive(Debug, Clone, PartialEq)]\npub enum BenchError {\n    \
         #[error(status = 404, message = \"no {id}\")]\n    Missing { id: u32 },\n}\n\n",
    );
    for i in 0..methods {
        s.push_str(&format!(
            "#[request(\"op{i}\", response = Reply)]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Op{i} {{ pub value: u32 }}\n\n"
        ));
    }
    if with_macro {
        s.push_str("#[contract(name = \"bench\", version = \"1.0.0\", error = BenchError, events(Tick, Tock))]\npub trait Bench {\n");
        for i in 0..methods {
            s.push_str(&format!(
                "    async fn op{i}(&self, req: Op{i}, cx: Context) -> Result<Reply, BenchError>;\n"
            ));
        }
    } else {
        s.push_str("pub trait Bench {\n");
        for i in 0..methods {
            s.push_str(&format!(
                "    fn op{i}(&self, req: Op{i}, cx: Context) -> impl std::future::Future<Output = Result<Reply, BenchError>> + Send;\n"
            ));
        }
    }
    s.push_str("}\n");
    s
}

fn write_crate(
    dir: &Path,
    name: &str,
    lib: &str,
    root: &Path,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let krate = dir.join(name);
    std::fs::create_dir_all(krate.join("src"))?;
    let runtime = root.join("messaging-runtime");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n\
         messaging-runtime = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n",
        runtime.to_string_lossy()
    );
    std::fs::write(krate.join("Cargo.toml"), manifest)?;
    std::fs::write(krate.join("src/lib.rs"), lib)?;
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock"))?;
    Ok(krate)
}

fn cargo(krate: &Path, target: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(krate).env("CARGO_TARGET_DIR", target).env_remove("RUSTFLAGS");
    command
}

fn check(krate: &Path, target: &Path) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let status = cargo(krate, target).args(["check", "--quiet", "--lib"]).status()?;
    if !status.success() {
        return Err(format!("cargo check failed in {}", krate.display()).into());
    }
    Ok(started.elapsed())
}

/// The median of `rounds` runs of: change the library's source (a comment), `cargo check`.
fn median_check(
    krate: &Path,
    target: &Path,
    rounds: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let lib = krate.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib)?;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        std::fs::write(&lib, format!("{source}// round {round}\n"))?;
        times.push(check(krate, target)?);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn expanded_lines(krate: &Path, target: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let output = cargo(krate, target)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustc", "--quiet", "--lib", "--profile", "check", "--", "-Zunpretty=expanded"])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "expanding {} failed: {}",
            krate.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().count())
}

fn rustc_version() -> String {
    let output = Command::new("rustc").arg("--version").output();
    output.map_or_else(|_| "?".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}
