//! What the properties counted: per test function, and the grand total over all of them.

use std::fmt;
use std::sync::Mutex;

/// What one test function counted.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) cases: u64,
    pub(crate) frames: u64,
    pub(crate) answered: u64,
    /// Of those answered, how many under `"requestId":null`.
    pub(crate) under_null: u64,
    /// Valid events and cancels: sent, and nothing owed.
    pub(crate) silent: u64,
    /// Valid cancels not sent: they named a request still owed.
    pub(crate) skipped: u64,
    pub(crate) events: u64,
    pub(crate) closed_1009: u64,
    pub(crate) connections: u64,
    pub(crate) checks: u64,
}

impl Stats {
    pub(crate) fn add(&mut self, other: &Stats) {
        self.cases += other.cases;
        self.frames += other.frames;
        self.answered += other.answered;
        self.under_null += other.under_null;
        self.silent += other.silent;
        self.skipped += other.skipped;
        self.events += other.events;
        self.closed_1009 += other.closed_1009;
        self.connections += other.connections;
        self.checks += other.checks;
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases, {} frames: {} answered ({} of them under null), {} valid events and \
             cancels (no answer), {} cancels of a request in flight not sent; {} connections \
             closed with 1009; {} broadcast events read; {} raw connections; the well-behaved \
             client checked {} times",
            self.cases,
            self.frames,
            self.answered,
            self.under_null,
            self.silent,
            self.skipped,
            self.closed_1009,
            self.events,
            self.connections,
            self.checks,
        )
    }
}

/// The test functions finished so far, and what they counted together.
pub(crate) static TOTALS: Mutex<(usize, Stats)> = Mutex::new((
    0,
    Stats {
        cases: 0,
        frames: 0,
        answered: 0,
        under_null: 0,
        silent: 0,
        skipped: 0,
        events: 0,
        closed_1009: 0,
        connections: 0,
        checks: 0,
    },
));
