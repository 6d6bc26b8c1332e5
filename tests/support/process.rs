//! Child processes for the tests: stdout read line by line on a thread of its own (so every
//! wait can be bounded by a timeout), stderr kept for the failure messages, and the child
//! killed when its handle drops, also when the test panics.

#![allow(
    dead_code,
    reason = "each test target that includes this module uses a different part of it"
)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// How often a wait for a child's exit looks again.
const POLL: Duration = Duration::from_millis(20);

/// At most this many lines are read while looking for one.
const MAX_LINES: usize = 10_000;

/// A running child process.
pub(crate) struct ChildProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ChildProcess {
    /// Starts `command` with piped stdin, stdout and stderr; fails the test if it cannot.
    pub(crate) fn spawn(name: &str, command: Command) -> Self {
        let shown = format!("{command:?}");
        Self::try_spawn(name, command)
            .unwrap_or_else(|e| panic!("cannot start {name} ({shown}): {e}"))
    }

    /// Starts `command` with piped stdin, stdout and stderr.
    pub(crate) fn try_spawn(name: &str, mut command: Command) -> std::io::Result<Self> {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let (lines, stdout) = mpsc::unbounded_channel();
        let out = child.stdout.take().expect("stdout is piped");
        read_lines(name, "stdout", out, move |line| {
            let _ = lines.send(line);
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        read_lines(name, "stderr", err, move |line| lock(&sink).push(line));
        let stdin = child.stdin.take();
        Ok(Self { name: name.to_owned(), child, stdin, stdout, seen: Vec::new(), stderr })
    }

    /// The next line of stdout, waiting at most `timeout`.
    pub(crate) async fn next_line(&mut self, timeout: Duration) -> String {
        match tokio::time::timeout(timeout, self.stdout.recv()).await {
            Ok(Some(line)) => {
                self.seen.push(line.clone());
                line
            }
            Ok(None) => panic!("{} closed its stdout\n{}", self.name, self.transcript()),
            Err(_) => {
                panic!("{} printed no line within {timeout:?}\n{}", self.name, self.transcript())
            }
        }
    }

    /// Reads stdout until a line satisfies `wanted`, within `timeout`; returns that line.
    pub(crate) async fn line_where(
        &mut self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        for _ in 0..MAX_LINES {
            let next = tokio::time::timeout_at(deadline, self.stdout.recv()).await;
            let Ok(Some(line)) = next else {
                panic!(
                    "{} never printed {what} (within {timeout:?})\n{}",
                    self.name,
                    self.transcript()
                );
            };
            self.seen.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
        panic!("{} printed {MAX_LINES} lines without {what}\n{}", self.name, self.transcript())
    }

    /// Every stdout line read so far.
    pub(crate) fn seen(&self) -> &[String] {
        &self.seen
    }

    /// What the child printed so far (stdout as read, and stderr), for failure messages.
    pub(crate) fn transcript(&self) -> String {
        let stderr = lock(&self.stderr).join("\n  ");
        format!(
            "--- {} stdout:\n  {}\n--- {} stderr:\n  {stderr}",
            self.name,
            self.seen.join("\n  "),
            self.name
        )
    }

    /// Closes the child's stdin.
    pub(crate) fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits at most `timeout` for the child to exit, then reads the rest of its stdout.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Ok(None) => return None,
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        };
        // The reader sees the end of the pipe right after the exit; bounded all the same.
        let rest = tokio::time::Instant::now() + Duration::from_secs(5);
        for _ in 0..MAX_LINES {
            match tokio::time::timeout_at(rest, self.stdout.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        Some(status)
    }

    /// Kills the process (SIGKILL, as a crash) and reaps it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin (the services run with `--exit-on-stdin-close`) and waits at most
    /// `timeout` for a successful exit.
    pub(crate) async fn stop(&mut self, timeout: Duration) {
        self.close_stdin();
        match self.wait_exit(timeout).await {
            Some(status) if status.success() => {}
            Some(status) => panic!("{} exited with {status}\n{}", self.name, self.transcript()),
            None => panic!("{} did not stop within {timeout:?}\n{}", self.name, self.transcript()),
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(POLL),
                Ok(Some(_)) | Err(_) => return,
            }
        }
        eprintln!("{} did not exit within 5 s of being killed", self.name);
    }
}

/// Reads `pipe` line by line on a thread until it ends, handing each line to `each`.
fn read_lines(
    name: &str,
    which: &str,
    pipe: impl Read + Send + 'static,
    mut each: impl FnMut(String) + Send + 'static,
) {
    std::thread::Builder::new()
        .name(format!("{name}-{which}"))
        .spawn(move || {
            for line in BufReader::new(pipe).lines() {
                match line {
                    Ok(line) => each(line),
                    Err(_) => break,
                }
            }
        })
        .expect("a reader thread starts");
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Builds the `examples` package's programs `names` with the same cargo, profile and
/// workspace-wide feature set as `cargo test --workspace` (which makes this a no-op when
/// that command runs the test, and keeps the binaries fresh when only one test runs), and
/// returns the directory they are in.
pub(crate) async fn build_examples(names: &[&str], limit: Duration) -> std::path::PathBuf {
    // A test runs as target/<profile dir>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command.args(["build", "--workspace", "--profile", &profile]);
    for name in names {
        command.args(["--example", name]);
    }
    let mut build = ChildProcess::spawn("cargo build", command);
    match build.wait_exit(limit).await {
        Some(status) if status.success() => {}
        Some(status) => panic!("building {names:?} failed ({status})\n{}", build.transcript()),
        None => panic!("building {names:?} took over {limit:?}\n{}", build.transcript()),
    }
    let dir = profile_dir.join("examples");
    for name in names {
        let binary = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.is_file(), "cargo built {name}, but {} is missing", binary.display());
    }
    dir
}
