//! The command line: what to run, how many calls, and the usage text.

use crate::{IN_FLIGHT, WORKERS};

/// How many calls one comparison makes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// Sequential calls measured per round.
    pub(crate) iterations: usize,
    /// Calls per throughput run.
    pub(crate) requests: usize,
    /// Sequential calls before measuring (a concurrent warm-up of the same size follows).
    pub(crate) warmup: usize,
}

/// The parsed command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// The sizes of the `memory://` comparison.
    pub(crate) memory: Sizes,
    /// The sizes of the `ws://` comparison.
    pub(crate) ws: Sizes,
    /// Rounds; each figure is the best over them.
    pub(crate) rounds: usize,
    /// Whether the `memory://` comparison runs.
    pub(crate) run_memory: bool,
    /// Whether the `ws://` comparison runs.
    pub(crate) run_ws: bool,
    /// Whether the `nats://` comparison runs (it starts a `nats-server` of its own).
    pub(crate) run_nats: bool,
    /// `--side raw|ours`: measure only one side (for profiling it).
    pub(crate) only: Option<Which>,
    /// `--workers N`: worker threads of the runtime both sides run on.
    pub(crate) workers: usize,
    /// `--scheduler`: print each measured run's scheduler figures (worker parks, busy time).
    pub(crate) scheduler: bool,
    /// `--task-per-connection`: our side's throughput calls come from one task per
    /// connection rather than from 64 caller tasks.
    pub(crate) task_per_connection: bool,
}

/// One side of a comparison, as `--side` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// The raw floor.
    Raw,
    /// Our generated client and server.
    Ours,
}

impl Options {
    const FULL: Self = Self {
        memory: Sizes { iterations: 100_000, requests: 200_000, warmup: 20_000 },
        ws: Sizes { iterations: 20_000, requests: 100_000, warmup: 5_000 },
        rounds: 3,
        run_memory: true,
        run_ws: true,
        run_nats: false,
        only: None,
        workers: WORKERS,
        scheduler: false,
        task_per_connection: false,
    };
    const QUICK: Self = Self {
        memory: Sizes { iterations: 10_000, requests: 20_000, warmup: 2_000 },
        ws: Sizes { iterations: 4_000, requests: 20_000, warmup: 1_000 },
        rounds: 3,
        run_memory: true,
        run_ws: true,
        run_nats: false,
        only: None,
        workers: WORKERS,
        scheduler: false,
        task_per_connection: false,
    };

    /// Parses the process's arguments; `Err` with an empty message for `--help`, with what
    /// was wrong otherwise.
    pub(crate) fn parse() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut options =
            if args.iter().any(|a| a == "--quick") { Self::QUICK } else { Self::FULL };
        let mut warmup_given = false;
        let (mut only_memory, mut only_ws, mut nats) = (false, false, false);
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let mut number = |name: &str| -> Result<usize, String> {
                let value = iter.next().ok_or_else(|| format!("{name} needs a number"))?;
                match value.replace('_', "").parse::<usize>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("{name} needs a positive number, got `{value}`")),
                }
            };
            match arg.as_str() {
                "--quick" => {}
                "--memory" => only_memory = true,
                "--ws" => only_ws = true,
                "--nats" => nats = true,
                "--all" => (only_memory, only_ws, nats) = (true, true, true),
                "--iterations" | "-n" => {
                    let n = number("--iterations")?;
                    (options.memory.iterations, options.ws.iterations) = (n, n);
                }
                "--requests" => {
                    let n = number("--requests")?;
                    (options.memory.requests, options.ws.requests) = (n, n);
                }
                "--rounds" => options.rounds = number("--rounds")?,
                "--workers" => options.workers = number("--workers")?,
                "--scheduler" => options.scheduler = true,
                "--task-per-connection" => options.task_per_connection = true,
                "--side" => {
                    options.only = match iter.next().map(String::as_str) {
                        Some("raw") => Some(Which::Raw),
                        Some("ours") => Some(Which::Ours),
                        _ => return Err("--side needs `raw` or `ours`".to_owned()),
                    }
                }
                "--warmup" => {
                    let n = number("--warmup")?;
                    (options.memory.warmup, options.ws.warmup) = (n, n);
                    warmup_given = true;
                }
                "--help" | "-h" => return Err(String::new()),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if only_memory || only_ws || nats {
            (options.run_memory, options.run_ws, options.run_nats) = (only_memory, only_ws, nats);
        }
        for sizes in [&mut options.memory, &mut options.ws] {
            if !warmup_given {
                sizes.warmup = sizes.warmup.min(sizes.iterations.max(1_000));
            }
            sizes.requests = sizes.requests.max(IN_FLIGHT);
        }
        Ok(options)
    }
}

/// What `--help` (or a wrong argument) prints.
pub(crate) const USAGE: &str = "\
usage: cargo run --release -p examples --example benchmark -- [options]

  --memory           only the memory:// comparison
  --ws               only the ws:// comparison
  --nats             only the nats:// comparison (starts a nats-server from PATH or $NATS_SERVER)
  --all              all three (the default: memory:// and ws://)
  --quick            a short run (memory: 10k sequential, 20k throughput calls per round;
                     ws: 4k sequential, 20k throughput calls per round)
  --iterations N     sequential calls measured per round (default 100000 memory, 20000 ws)
  --requests N       calls per throughput run, 64 in flight (default 200000 memory, 100000 ws
                     and nats; nats:// uses the ws:// sizes)
  --rounds N         rounds; each figure is the best over them (default 3)
  --warmup N         warm-up calls per side before measuring (default 20000 memory, 5000 ws)
  --side raw|ours    measure only one side (for profiling it; ratios are then meaningless)
  --workers N        worker threads of the runtime both sides run on (default 2, which the
                     targets are for)
  --scheduler        after each run (warm-ups included, in the order they run), print each
                     worker's parks and the share of the run it was busy (and, built with
                     RUSTFLAGS=\"--cfg tokio_unstable\", the steals and forced yields)
  --task-per-connection
                     our side's throughput calls come from one task per connection (its 64 /
                     connections calls in flight joined on it), the shape of the raw side,
                     instead of 64 caller tasks: shows what the callers' tasks cost";
