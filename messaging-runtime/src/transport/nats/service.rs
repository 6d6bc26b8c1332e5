//! The ADR-32 service protocol: each contract a server serves is a NATS service that
//! answers `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (also `$SRV.{VERB}.{name}` and
//! `$SRV.{VERB}.{name}.{id}`), listing its endpoints with their subjects and counting, per
//! endpoint, requests, errors and processing time. The `nats micro` CLI and every NATS
//! library's service client read these.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::wire::WireError;

/// The three verbs of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Ping,
    Info,
    Stats,
}

impl Verb {
    const ALL: [Self; 3] = [Self::Ping, Self::Info, Self::Stats];

    fn token(self) -> &'static str {
        match self {
            Self::Ping => "PING",
            Self::Info => "INFO",
            Self::Stats => "STATS",
        }
    }
}

/// One endpoint: a request type's subject, and what it has served.
#[derive(Debug)]
pub(super) struct Endpoint {
    pub(super) name: String,
    pub(super) subject: String,
    pub(super) queue_group: String,
    stats: Mutex<EndpointStats>,
    /// Sizes each reply body after the last, rather than growing it from empty (several
    /// reallocations for a typical response).
    pub(super) reply_size: crate::payload::BufferSize,
}

#[derive(Debug, Default)]
struct EndpointStats {
    requests: u64,
    errors: u64,
    processing: Duration,
    last_error: String,
}

impl Endpoint {
    pub(super) fn new(name: &str, subject: String, queue_group: &str) -> Self {
        Self {
            name: name.to_owned(),
            subject,
            queue_group: queue_group.to_owned(),
            stats: Mutex::default(),
            reply_size: crate::payload::BufferSize::default(),
        }
    }

    /// Counts one request answered after `elapsed`, and the error it was answered with.
    pub(super) fn record(&self, elapsed: Duration, error: Option<&WireError>) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.requests += 1;
        stats.processing += elapsed;
        if let Some(error) = error {
            stats.errors += 1;
            stats.last_error = format!("{}:{}", error.status.unwrap_or(500), error.message);
        }
    }

    fn info(&self) -> Value {
        json!({ "name": self.name, "subject": self.subject, "queue_group": self.queue_group, "metadata": null })
    }

    fn stats(&self) -> Value {
        let stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let average = stats
            .processing
            .checked_div(u32::try_from(stats.requests).unwrap_or(u32::MAX).max(1))
            .unwrap_or_default();
        json!({
            "name": self.name,
            "subject": self.subject,
            "queue_group": self.queue_group,
            "num_requests": stats.requests,
            "num_errors": stats.errors,
            "processing_time": nanos(stats.processing),
            "average_processing_time": nanos(average),
            "last_error": stats.last_error,
            "data": null,
        })
    }
}

/// One contract as an ADR-32 service instance.
#[derive(Debug)]
pub(super) struct Service {
    pub(super) name: String,
    pub(super) id: String,
    version: String,
    metadata: BTreeMap<String, String>,
    started: String,
    pub(super) endpoints: Vec<Arc<Endpoint>>,
}

impl Service {
    pub(super) fn new(
        name: &str,
        id: String,
        version: &str,
        metadata: BTreeMap<String, String>,
        endpoints: Vec<Arc<Endpoint>>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            id,
            version: version.to_owned(),
            metadata,
            started: rfc3339(SystemTime::now()),
            endpoints,
        }
    }

    /// Every subject this instance answers on, with its verb.
    pub(super) fn subjects(&self) -> Vec<(String, Verb)> {
        Verb::ALL
            .into_iter()
            .flat_map(|verb| {
                let v = verb.token();
                [
                    format!("$SRV.{v}"),
                    format!("$SRV.{v}.{}", self.name),
                    format!("$SRV.{v}.{}.{}", self.name, self.id),
                ]
                .map(|subject| (subject, verb))
            })
            .collect()
    }

    /// The answer to `verb`.
    pub(super) fn answer(&self, verb: Verb) -> Value {
        let mut answer = json!({
            "name": self.name,
            "id": self.id,
            "version": self.version,
            "metadata": self.metadata,
        });
        let fields = match verb {
            Verb::Ping => json!({ "type": "io.nats.micro.v1.ping_response" }),
            Verb::Info => json!({
                "type": "io.nats.micro.v1.info_response",
                "description": format!("contract `{}` version {}", self.name, self.version),
                "endpoints": self.endpoints.iter().map(|e| e.info()).collect::<Vec<_>>(),
            }),
            Verb::Stats => json!({
                "type": "io.nats.micro.v1.stats_response",
                "started": self.started,
                "endpoints": self.endpoints.iter().map(|e| e.stats()).collect::<Vec<_>>(),
            }),
        };
        if let (Value::Object(answer), Value::Object(fields)) = (&mut answer, fields) {
            answer.extend(fields);
        }
        answer
    }
}

/// Checks a contract name against ADR-32's rule for service names.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with('_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "contract name `{name}` cannot name a NATS service: expected ASCII letters, digits, \
             `-` and `_`, not starting with `_`"
        ))
    }
}

/// `time` as RFC 3339 in UTC, e.g. `2026-12-03T16:29:49.123456789Z`.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_nanos()
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert!(rfc3339(UNIX_EPOCH).starts_with("1970-01-01T00:00:00."));
        let time = UNIX_EPOCH + Duration::from_secs(1_796_315_389);
        assert_eq!(rfc3339(time), "2026-12-03T16:29:49.000000000Z");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn answers_follow_adr32() {
        let endpoint = Endpoint::new("createOrder", "mb.orders.createOrder".into(), "q");
        endpoint.record(Duration::from_millis(2), None);
        endpoint.record(Duration::from_millis(4), Some(&WireError::new("X", 404, "gone")));
        let service = Service::new(
            "orders",
            "abc".into(),
            "1.2.0",
            BTreeMap::new(),
            vec![Arc::new(endpoint)],
        );
        let stats = service.answer(Verb::Stats);
        assert_eq!(stats["type"], "io.nats.micro.v1.stats_response");
        assert_eq!(stats["endpoints"][0]["num_requests"], 2);
        assert_eq!(stats["endpoints"][0]["num_errors"], 1);
        assert_eq!(stats["endpoints"][0]["average_processing_time"], 3_000_000);
        assert_eq!(stats["endpoints"][0]["last_error"], "404:gone");
        let info = service.answer(Verb::Info);
        assert_eq!(info["endpoints"][0]["subject"], "mb.orders.createOrder");
        assert_eq!(service.subjects().len(), 9);
        assert!(check_name("order-service").is_ok());
        assert!(check_name("_x").is_err() && check_name("a.b").is_err());
    }
}
