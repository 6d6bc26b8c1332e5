//! Command-line plumbing for the examples that run as separate processes: hand-parsed
//! flags with a `--help`, the first line of output that announces an address, and waiting
//! for a stop signal.
//!
//! ```
//! use examples::cli::{Flag, Parsed, Spec};
//!
//! const SPEC: Spec = Spec {
//!     name: "product-service",
//!     about: "Serves the product service.",
//!     flags: &[Flag::value("--listen", "URL", "where to listen").required()],
//! };
//! let args = ["--listen", "ws://127.0.0.1:0"].map(String::from);
//! let Ok(Parsed::Run(parsed)) = SPEC.parse(args) else { panic!("valid arguments") };
//! assert_eq!(parsed.value("--listen"), Some("ws://127.0.0.1:0"));
//! assert!(SPEC.parse(["--port".to_owned()]).is_err());
//! ```

use std::collections::HashMap;
use std::io::Write as _;

/// One flag a program takes.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The flag, with its dashes: `--listen`.
    pub name: &'static str,
    /// What its value is, for the usage text (`URL`); `None` for a switch without a value.
    pub value: Option<&'static str>,
    /// One line of help.
    pub help: &'static str,
    /// Whether the program refuses to run without it.
    pub required: bool,
}

impl Flag {
    /// An optional flag that takes a value: `--name VALUE` or `--name=VALUE`.
    pub const fn value(name: &'static str, value: &'static str, help: &'static str) -> Self {
        Self { name, value: Some(value), help, required: false }
    }

    /// An optional switch without a value.
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        Self { name, value: None, help, required: false }
    }

    /// The same flag, required.
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// A program's name, purpose and flags.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The program's name, as `cargo run --example` knows it.
    pub name: &'static str,
    /// What it does, for the usage text.
    pub about: &'static str,
    /// The flags it takes (`--help` is implied).
    pub flags: &'static [Flag],
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with these arguments.
    Run(Args),
    /// Print the usage text and exit.
    Help,
}

/// The flags given, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    values: HashMap<&'static str, Option<String>>,
}

impl Args {
    /// The value of a flag that takes one, if it was given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Option::as_deref)
    }

    /// The value of a required flag ([`Spec::parse`] already refused a command line without it).
    pub fn required(&self, name: &str) -> &str {
        self.value(name).unwrap_or_default()
    }

    /// Whether a switch was given.
    pub fn switch(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

impl Spec {
    /// Parses the arguments after the program name.
    pub fn parse(&self, args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Ok(Parsed::Help);
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let Some(flag) = self.flags.iter().find(|f| f.name == name) else {
                return Err(if name.starts_with('-') {
                    format!("unknown flag `{name}`")
                } else {
                    format!("unexpected argument `{arg}`: every argument is a `--flag`")
                });
            };
            let value = match (flag.value, inline) {
                (None, None) => None,
                (None, Some(_)) => return Err(format!("`{name}` takes no value")),
                (Some(_), Some(value)) => Some(value),
                (Some(placeholder), None) => match args.next() {
                    Some(value) if !value.starts_with("--") => Some(value),
                    _ => return Err(format!("`{name}` needs a value: `{name} {placeholder}`")),
                },
            };
            if values.insert(flag.name, value).is_some() {
                return Err(format!("`{name}` is given more than once"));
            }
        }
        if let Some(missing) =
            self.flags.iter().find(|f| f.required && !values.contains_key(f.name))
        {
            let placeholder = missing.value.unwrap_or_default();
            return Err(format!("missing `{} {placeholder}`", missing.name));
        }
        Ok(Parsed::Run(Args { values }))
    }

    /// The usage text.
    pub fn usage(&self) -> String {
        let mut text =
            format!("{}\n\nUsage: cargo run -p examples --example {} --", self.about, self.name);
        for flag in self.flags {
            let shown = match flag.value {
                Some(value) => format!("{} {value}", flag.name),
                None => flag.name.to_owned(),
            };
            if flag.required {
                text.push_str(&format!(" {shown}"));
            } else {
                text.push_str(&format!(" [{shown}]"));
            }
        }
        text.push_str("\n\nFlags:\n");
        for flag in self.flags {
            let shown = format!("{} {}", flag.name, flag.value.unwrap_or_default());
            text.push_str(&format!("  {shown:<28} {}\n", flag.help));
        }
        text.push_str(&format!("  {:<28} print this help\n", "--help"));
        text
    }

    /// Parses the process's arguments; prints the usage and exits on `--help` (status 0) or
    /// on a mistake (status 2, with the mistake on stderr).
    pub fn parse_or_exit(&self) -> Args {
        match self.parse(std::env::args().skip(1)) {
            Ok(Parsed::Run(args)) => args,
            Ok(Parsed::Help) => {
                print!("{}", self.usage());
                std::process::exit(0);
            }
            Err(mistake) => {
                eprintln!("{}: {mistake}\n\n{}", self.name, self.usage());
                std::process::exit(2);
            }
        }
    }
}

/// Prints one line on stdout and flushes it, so a parent process reading the pipe sees it
/// at once.
pub fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    // A parent that closed the pipe has stopped listening; there is no one left to tell.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Waits for a reason to stop: Ctrl-C (SIGINT), SIGTERM on Unix, or, when `stdin_lifeline`
/// is set, stdin reaching its end (the parent closed the pipe or died). Returns the reason.
pub async fn stop_signal(stdin_lifeline: bool) -> &'static str {
    let stdin_closed = async {
        if stdin_lifeline {
            stdin_closed().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        () = terminated() => "terminated",
        () = stdin_closed => "stdin closed",
    }
}

#[cfg(unix)]
async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminated() {
    std::future::pending().await
}

/// Resolves when stdin reaches its end. The read runs on a plain thread: a blocking read on
/// tokio's blocking pool would hold up the runtime's shutdown until the next line.
async fn stdin_closed() {
    let (closed, on_closed) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new().name("stdin-lifeline".into()).spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed.send(());
    });
    match spawned {
        Ok(_) => {
            let _ = on_closed.await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        name: "order-service",
        about: "Serves orders.",
        flags: &[
            Flag::value("--listen", "URL", "where to listen").required(),
            Flag::value("--products", "URL", "the product service").required(),
            Flag::switch("--quiet", "say less"),
        ],
    };

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        SPEC.parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn reads_values_both_ways_and_switches() {
        let Ok(Parsed::Run(args)) =
            parse(&["--listen", "ws://a:1/", "--products=ws://b:2/", "--quiet"])
        else {
            panic!("valid arguments must parse");
        };
        assert_eq!(args.required("--listen"), "ws://a:1/");
        assert_eq!(args.value("--products"), Some("ws://b:2/"));
        assert!(args.switch("--quiet"));
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse(&["--listen", "x", "--help"]), Ok(Parsed::Help));
        assert!(SPEC.usage().contains("--products URL"));
    }

    #[test]
    fn mistakes_are_named() {
        let mistake = |args: &[&str]| parse(args).expect_err("the arguments are wrong");
        assert_eq!(mistake(&["--port", "1"]), "unknown flag `--port`");
        assert!(mistake(&["serve"]).starts_with("unexpected argument `serve`"));
        assert_eq!(mistake(&["--listen"]), "`--listen` needs a value: `--listen URL`");
        assert_eq!(
            mistake(&["--listen", "--products", "x"]),
            "`--listen` needs a value: `--listen URL`"
        );
        assert_eq!(
            mistake(&["--listen", "a", "--listen", "b"]),
            "`--listen` is given more than once"
        );
        assert_eq!(mistake(&["--listen", "a"]), "missing `--products URL`");
        assert_eq!(mistake(&["--quiet=yes"]), "`--quiet` takes no value");
    }
}
