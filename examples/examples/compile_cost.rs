//! What `#[contract]` costs at compile time: a generated contract of N methods (default 200)
//! with two events and an error enum, against the no-macro floor (the same request, event and
//! error types, and a hand-written trait of the same methods) and against tarpc's
//! `#[tarpc::service]` over the same types, all built in one run.
//!
//! ```sh
//! cargo run --release -p examples --example compile_cost [-- --methods 200 --rounds 5]
//! ```
//!
//! It writes the three crates to a temporary directory (outside the workspace, a path
//! dependency on this `messaging-runtime`; tarpc 0.38 from crates.io), checks each once to warm
//! up, then prints for each: the expanded lines (`-Zunpretty=expanded` through
//! `RUSTC_BOOTSTRAP=1`, rustc's own pretty-printer), per method over the floor; and the median
//! time of `touch + cargo check` over the rounds, the macro's overhead being the difference.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (methods, rounds) = arguments()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?;
    let dir = std::env::temp_dir().join(format!("messaging-compile-cost-{}", std::process::id()));
    let target = root.join("target").join("compile-cost");
    let kinds = [Kind::Floor, Kind::Contract, Kind::Tarpc];
    let mut crates = Vec::new();
    for kind in kinds {
        let krate = write_crate(&dir, kind, methods, root)?;
        // Warm up: the dependencies (tarpc's too) are built once, before anything is timed.
        check(&krate, &target)?;
        crates.push(krate);
    }
    println!("{methods} methods, 2 events, 1 error enum; rustc {}", rustc_version());
    let floor_lines = expanded_lines(&crates[0], &target)?;
    let floor_time = median_check(&crates[0], &target, rounds)?;
    println!(
        "{:<18} {floor_lines:>7} expanded lines; touch + cargo check {:.2} s (median of {rounds})",
        Kind::Floor.label(),
        floor_time.as_secs_f64()
    );
    for (kind, krate) in kinds.iter().zip(&crates).skip(1) {
        let lines = expanded_lines(krate, &target)?;
        let time = median_check(krate, &target, rounds)?;
        println!(
            "{:<18} {lines:>7} expanded lines, {:.0} per method over the floor; touch + cargo check {:.2} s, +{:.2} s",
            kind.label(),
            (lines as f64 - floor_lines as f64) / methods as f64,
            time.as_secs_f64(),
            time.as_secs_f64() - floor_time.as_secs_f64()
        );
    }
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

/// What a crate declares beside the shared types.
#[derive(Clone, Copy)]
enum Kind {
    /// A hand-written trait of the same methods: the floor.
    Floor,
    /// `#[contract]`.
    Contract,
    /// `#[tarpc::service]`.
    Tarpc,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Floor => "floor (no macro)",
            Self::Contract => "#[contract]",
            Self::Tarpc => "#[tarpc::service]",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Contract => "with-contract",
            Self::Tarpc => "with-tarpc",
        }
    }
}

/// The library: the shared types, then the trait of `kind`.
fn source(methods: usize, kind: Kind) -> String {
    let mut s = String::from(
        "#![allow(missing_docs, dead_code)]\nuse messaging_runtime::prelude::*;\n\n\
         #[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Reply { pub value: u32 }\n\n\
         #[event]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Tick { pub n: u32 }\n\n\
         #[event]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Tock { pub n: u32 }\n\n\
         #[error_code]\n#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub enum BenchError {\n    \
         #[error(status = 404, message = \"no {id}\")]\n    Missing { id: u32 },\n}\n\n",
    );
    for i in 0..methods {
        s.push_str(&format!(
            "#[request(\"op{i}\", response = Reply)]\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Op{i} {{ pub value: u32 }}\n\n"
        ));
    }
    let method = |i: usize| {
        match kind {
        Kind::Contract => {
            format!("    async fn op{i}(&self, req: Op{i}, cx: Context) -> Result<Reply, BenchError>;\n")
        }
        Kind::Floor => format!(
            "    fn op{i}(&self, req: Op{i}, cx: Context) -> impl std::future::Future<Output = Result<Reply, BenchError>> + Send;\n"
        ),
        Kind::Tarpc => format!("    async fn op{i}(req: Op{i}) -> Result<Reply, BenchError>;\n"),
    }
    };
    s.push_str(match kind {
        Kind::Contract => "#[contract(name = \"bench\", version = \"1.0.0\", error = BenchError, events(Tick, Tock))]\npub trait Bench {\n",
        Kind::Floor => "pub trait Bench {\n",
        Kind::Tarpc => "#[tarpc::service]\npub trait Bench {\n",
    });
    for i in 0..methods {
        s.push_str(&method(i));
    }
    s.push_str("}\n");
    s
}

fn write_crate(
    dir: &Path,
    kind: Kind,
    methods: usize,
    root: &Path,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let name = kind.name();
    let krate = dir.join(name);
    std::fs::create_dir_all(krate.join("src"))?;
    let runtime = root.join("messaging-runtime");
    let tarpc = match kind {
        Kind::Tarpc => "tarpc = { version = \"0.38\", features = [\"serde1\"] }\n",
        _ => "",
    };
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n\
         messaging-runtime = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n{tarpc}",
        runtime.to_string_lossy()
    );
    std::fs::write(krate.join("Cargo.toml"), manifest)?;
    std::fs::write(krate.join("src/lib.rs"), source(methods, kind))?;
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
