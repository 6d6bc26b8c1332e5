//! How much memory an idle `ws://` connection costs the server, how long a broadcast to all
//! of them takes, and whether the memory comes back after connections come and go.
//!
//! ```sh
//! cargo run --release -p examples --example ws-connections            # 10,000 connections, 4 rounds
//! cargo run --release -p examples --example ws-connections -- --connections 2000 --rounds 2
//! ```
//!
//! The server runs in this process; the connections are opened by a child process (this
//! program again, with `--child`), so this process's resident memory is the server's alone.
//! Each round the child opens every connection from its own loopback source address
//! (127.0.0.2, .3, ...: a round's closed connections linger in TIME_WAIT on their ports),
//! the server broadcasts one event that every connection must receive, then the child closes
//! them all and the server forgets them.

mod child;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use messaging_runtime::prelude::*;
use messaging_runtime::RunningServer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The per-connection target of the transport issue: at most this many KiB of server RSS.
const TARGET_KIB_PER_CONNECTION: f64 = 16.0;
/// The last round's RSS may be at most this multiple of the first round's.
const TARGET_RATCHET: f64 = 1.25;
/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(120);

/// Broadcast to every connection once per round.
#[event("announced")]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Announced {
    /// Which round.
    pub round: u32,
}

/// Never answered with an error.
#[error_code]
#[derive(Debug, Clone)]
pub enum AnnounceError {
    /// Unused.
    #[error(status = 500, message = "unused")]
    Unused,
}

/// Asks the server for nothing much.
#[request("hello", response = String)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {}

/// A server with one event to broadcast.
#[contract(name = "announcer", version = "1.0.0", error = AnnounceError, events(Announced))]
pub trait Announcer {
    /// Says hello.
    async fn hello(&self, req: Hello) -> Result<String, AnnounceError>;
}

struct Greeter;

impl Announcer for Greeter {
    async fn hello(&self, _req: Hello) -> Result<String, AnnounceError> {
        Ok("hello".into())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child::main(&args[1..]);
    }
    let (connections, rounds) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\nusage: ws-connections [--connections N] [--rounds N]");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(measure(connections, rounds)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: &[String]) -> Result<(usize, u32), String> {
    let (mut connections, mut rounds) = (10_000usize, 4u32);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        let bad = |_| format!("`{flag}` takes a positive whole number, found `{value}`");
        match flag.as_str() {
            "--connections" => connections = value.parse().map_err(bad)?,
            "--rounds" => rounds = value.parse().map_err(bad)?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if connections == 0 || rounds == 0 || rounds > 200 {
        return Err("expected at least 1 connection and 1 to 200 rounds".into());
    }
    Ok((connections, rounds))
}

/// This process's resident memory, in KiB (Linux `/proc/self/status`).
fn rss_kib() -> Result<f64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS line")?;
    let kib = line.split_whitespace().nth(1).and_then(|n| n.parse().ok());
    kib.ok_or_else(|| format!("cannot read `{line}`"))
}

async fn measure(connections: usize, rounds: u32) -> Result<bool, String> {
    rlimit::increase_nofile_limit(connections as u64 + 256)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let server = Server::bind("ws://127.0.0.1:0/").await.map_err(|e| e.to_string())?;
    let server = server
        .max_connections(connections + 16)
        .serve(AnnouncerServer::new(Greeter))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let base = rss_kib()?;
    println!("{connections} idle ws:// connections per round, {rounds} rounds; server RSS at start {:.1} MiB", base / 1024.0);
    let mut first = None;
    let mut last = 0.0;
    let mut per_connection = 0.0;
    for round in 1..=rounds {
        let (connected_rss, broadcast) = one_round(&server, connections, round).await?;
        let kib = (connected_rss - base) / connections as f64;
        println!(
            "round {round}: RSS {:.1} MiB with {connections} connections ({kib:.1} KiB each), broadcast to all in {:.1} ms, {:.1} MiB after they closed",
            connected_rss / 1024.0,
            broadcast.as_secs_f64() * 1000.0,
            rss_kib()? / 1024.0
        );
        first.get_or_insert(connected_rss);
        last = connected_rss;
        if round == 1 {
            per_connection = kib;
        }
    }
    server.stop().await;
    let ratchet = last / first.unwrap_or(last);
    let kib_ok = per_connection <= TARGET_KIB_PER_CONNECTION;
    let ratchet_ok = ratchet <= TARGET_RATCHET;
    println!("KiB per idle connection (round 1) = {per_connection:.1}  target <= {TARGET_KIB_PER_CONNECTION}  {}", verdict(kib_ok));
    println!(
        "RSS last round / first round       = {ratchet:.2}  target <= {TARGET_RATCHET}  {}",
        verdict(ratchet_ok)
    );
    Ok(kib_ok && ratchet_ok)
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// One round: the child connects `connections` times, the server broadcasts once, the
/// child closes all; the RSS with every connection open, and the broadcast's time.
async fn one_round(
    server: &RunningServer,
    connections: usize,
    round: u32,
) -> Result<(f64, Duration), String> {
    let mut child = Spawned::start(server.address(), connections, round)?;
    child.expect("connected").await?;
    wait_for(|| server.clients().len() == connections, "every connection registered").await?;
    let rss = rss_kib()?;
    let started = Instant::now();
    AnnouncerEvents::new(server.broadcaster()).announced(Announced { round });
    child.expect("received").await?;
    let broadcast = started.elapsed();
    child.say("close").await?;
    child.expect("closed").await?;
    wait_for(|| server.clients().is_empty(), "every connection closed").await?;
    child.finish().await?;
    Ok((rss, broadcast))
}

/// Waits, bounded, until `done`.
async fn wait_for(done: impl Fn() -> bool, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The child process that holds the connections, and its pipes.
struct Spawned {
    child: Child,
    input: ChildStdin,
    output: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Spawned {
    fn start(address: &str, connections: usize, round: u32) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--child", address, &connections.to_string(), &round.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the child: {e}"))?;
        let input = child.stdin.take().ok_or("the child has no stdin")?;
        let output = child.stdout.take().ok_or("the child has no stdout")?;
        Ok(Self { child, input, output: BufReader::new(output).lines() })
    }

    /// Waits for the child to print `word` (it prints `error: ...` when it fails).
    async fn expect(&mut self, word: &str) -> Result<(), String> {
        let line = tokio::time::timeout(WAIT, self.output.next_line()).await;
        match line {
            Ok(Ok(Some(line))) if line == word => Ok(()),
            Ok(Ok(Some(line))) => Err(format!("the child said `{line}`, expected `{word}`")),
            Ok(Ok(None)) => Err(format!("the child exited before saying `{word}`")),
            Ok(Err(e)) => Err(format!("cannot read the child's output: {e}")),
            Err(_) => Err(format!("the child did not say `{word}` in time")),
        }
    }

    async fn say(&mut self, word: &str) -> Result<(), String> {
        let line = format!("{word}\n");
        self.input
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("cannot tell the child: {e}"))
    }

    async fn finish(mut self) -> Result<(), String> {
        drop(self.input);
        let status = tokio::time::timeout(WAIT, self.child.wait()).await;
        match status {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the child failed: {status}")),
            Ok(Err(e)) => Err(format!("cannot wait for the child: {e}")),
            Err(_) => Err("the child did not exit in time".into()),
        }
    }
}
