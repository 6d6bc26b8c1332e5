//! The figures and how they are reported: latency statistics, the best over the rounds, the
//! per-round lines, the summary tables and the PASS/MISS lines.

use std::time::Duration;

/// Per-call latency of a sequential run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Latency {
    /// The median.
    pub(crate) p50: Duration,
    /// The 99th percentile.
    pub(crate) p99: Duration,
    /// The mean.
    pub(crate) mean: Duration,
}

/// What one side measured in one round (or the best of each over the rounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    /// Sequential latency.
    pub(crate) latency: Latency,
    /// Requests per second with 64 in flight (`ws://`: on one connection).
    pub(crate) throughput: f64,
    /// `ws://` only: requests per second with 4 connections × 16 in flight.
    pub(crate) spread: f64,
}

/// p50, p99 and mean of per-call times in ns.
pub(crate) fn latency(mut samples: Vec<u64>) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        Duration::from_nanos(samples[index])
    };
    let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    let mean = u64::try_from(sum / samples.len().max(1) as u128).unwrap_or(u64::MAX);
    Latency { p50: at(0.50), p99: at(0.99), mean: Duration::from_nanos(mean) }
}

/// The best of each figure over the rounds.
pub(crate) fn best(rounds: &[Figures]) -> Figures {
    let min = |f: fn(&Figures) -> Duration| rounds.iter().map(f).min().unwrap_or_default();
    let max = |f: fn(&Figures) -> f64| rounds.iter().map(f).fold(0.0, f64::max);
    Figures {
        latency: Latency {
            p50: min(|r| r.latency.p50),
            p99: min(|r| r.latency.p99),
            mean: min(|r| r.latency.mean),
        },
        throughput: max(|r| r.throughput),
        spread: max(|r| r.spread),
    }
}

fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn per_second(rate: f64) -> String {
    let digits = (rate.round() as u64).to_string();
    let groups: Vec<&str> =
        digits.as_bytes().rchunks(3).rev().filter_map(|g| std::str::from_utf8(g).ok()).collect();
    format!("{} req/s", groups.join(","))
}

/// Prints one ratio against its target with PASS or MISS; whether it passed.
pub(crate) fn check(what: &str, ratio: f64, op: &str, target: f64) -> bool {
    let pass = if op == "<=" { ratio <= target } else { ratio >= target };
    let verdict = if pass { "PASS" } else { "MISS" };
    println!("{what:<40} = {ratio:.2}  target {op} {target:.2}  {verdict}");
    pass
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

/// Prints one side's figures for one round; `ws` adds the spread column.
pub(crate) fn print_round(round: usize, name: &str, f: &Figures, ws: bool) {
    let spread = if ws { format!("  {:>16}", per_second(f.spread)) } else { String::new() };
    println!(
        "  round {round}  {name:<6} p50 {:>10}  p99 {:>10}  mean {:>10}  {:>16}{spread}",
        micros(f.latency.p50),
        micros(f.latency.p99),
        micros(f.latency.mean),
        per_second(f.throughput)
    );
}

/// A throughput column of a summary table.
pub(crate) struct Column {
    /// Its heading.
    pub(crate) title: String,
    /// Its width, heading and figures right-aligned in it.
    pub(crate) width: usize,
    /// The figure it shows, in requests per second.
    pub(crate) figure: fn(&Figures) -> f64,
}

/// Prints the summary table of one comparison, in Markdown: the best of each figure for the
/// raw side (named `names[0]`) and ours (`names[1]`), then the ratios ours / raw. The
/// latency columns (p50, p99, mean) come first, then `columns`.
pub(crate) fn print_table(names: [&str; 2], raw: &Figures, ours: &Figures, columns: &[Column]) {
    let titles: Vec<String> = columns.iter().map(|c| c.title.clone()).collect();
    let head = ["best of each", "p50", "p99", "mean"].map(str::to_owned);
    print_row(head, &titles, columns);
    let mut rule = format!("|{:-<36}|{:->12}|{:->12}|{:->12}|", "", ":", ":", ":");
    for column in columns {
        rule.push_str(&format!("{:->width$}|", ":", width = column.width + 2));
    }
    println!("{rule}");
    for (name, f) in [(names[0], raw), (names[1], ours)] {
        let latencies =
            [name.to_owned(), micros(f.latency.p50), micros(f.latency.p99), micros(f.latency.mean)];
        let rates: Vec<String> = columns.iter().map(|c| per_second((c.figure)(f))).collect();
        print_row(latencies, &rates, columns);
    }
    let ratios: Vec<String> =
        columns.iter().map(|c| format!("{:.2}x", (c.figure)(ours) / (c.figure)(raw))).collect();
    let latency_ratios = [
        "ratio ours / raw".to_owned(),
        ratio(ours.latency.p50, raw.latency.p50),
        ratio(ours.latency.p99, raw.latency.p99),
        ratio(ours.latency.mean, raw.latency.mean),
    ];
    print_row(latency_ratios, &ratios, columns);
}

/// One row of a summary table: the name and the three latency cells, then one cell per
/// column.
fn print_row(first: [String; 4], rest: &[String], columns: &[Column]) {
    let [name, p50, p99, mean] = first;
    let mut line = format!("| {name:<34} | {p50:>10} | {p99:>10} | {mean:>10} |");
    for (cell, column) in rest.iter().zip(columns) {
        line.push_str(&format!(" {cell:>width$} |", width = column.width));
    }
    println!("{line}");
}
