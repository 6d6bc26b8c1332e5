//! The guide's custom middleware pipeline (`cargo run -p examples --example
//! middleware-pipeline`), run as a test: each request is answered by the part of the
//! pipeline meant to answer it, and the metrics layer counted what reached it.

use examples::pipeline::{self, Report, Step, OK, RATE_LIMIT, RATE_LIMIT_EXCEEDED};

async fn report(name: &str) -> Report {
    pipeline::run(name).await.expect("the pipeline demo runs")
}

fn only<'a>(report: &'a Report, scenario: &str) -> &'a Step {
    let steps: Vec<_> = report.steps.iter().filter(|s| s.scenario == scenario).collect();
    assert_eq!(steps.len(), 1, "one `{scenario}` step: {report}");
    steps[0]
}

/// The scenarios whose requests get past the authentication gate into the layers.
const THROUGH_THE_LAYERS: [&str; 3] = ["passes", "validation", "burst"];

#[tokio::test]
async fn both_users_log_in_and_a_valid_request_passes_every_layer() {
    let report = report("pipeline-passes").await;
    assert_eq!(report.codes("login"), [OK, OK], "{report}");
    let alice = report.steps[0].outcome.as_ref().expect("alice logged in");
    assert_eq!(alice["actor"]["id"], "alice");
    assert_eq!(alice["token"], "<redacted>", "the report never shows a token");
    assert_eq!(report.codes("passes"), [OK, OK], "{report}");
    let passes: Vec<_> = report.steps.iter().filter(|s| s.scenario == "passes").collect();
    let created = passes[0].outcome.as_ref().expect("created");
    assert_eq!(created["username"], "john_doe");
    assert_eq!(passes[1].outcome.as_ref().expect("fetched"), created, "the same user");
}

#[tokio::test]
async fn breaking_the_rules_is_answered_validation_error_with_each_field_on_both_sides() {
    let report = report("pipeline-validation").await;
    for scenario in ["validation-client", "validation"] {
        let step = only(&report, scenario);
        assert_eq!((step.code(), step.status()), ("VALIDATION_ERROR", Some(400)), "{report}");
        let failure = step.validation().expect("details list the fields");
        let fields: Vec<_> =
            failure.fields().iter().map(|f| (f.field.as_str(), f.rule.as_str())).collect();
        assert_eq!(fields, [("email", "email"), ("password", "length"), ("username", "length")]);
        let details = step.outcome.as_ref().expect_err("failed").details.clone();
        let details = details.unwrap_or_default().to_string();
        assert!(!details.contains("short"), "the rejected password never travels: {details}");
    }
    // Only the request the client did not check reached the server's pipeline.
    assert_eq!(report.metrics.errors.get("VALIDATION_ERROR"), Some(&1), "{report}");
}

#[tokio::test]
async fn a_request_without_a_token_is_answered_unauthenticated() {
    let report = report("pipeline-unauthenticated").await;
    let step = only(&report, "unauthenticated");
    assert_eq!((step.code(), step.status()), ("UNAUTHENTICATED", Some(401)), "{report}");
}

#[tokio::test]
async fn a_viewer_creating_a_user_is_answered_forbidden() {
    let report = report("pipeline-forbidden").await;
    let step = only(&report, "forbidden");
    assert_eq!((step.code(), step.status()), ("FORBIDDEN", Some(403)), "{report}");
    let details = step.outcome.as_ref().expect_err("refused").details.clone().unwrap_or_default();
    assert_eq!(details["permission"], "users:write");
}

#[tokio::test]
async fn a_burst_past_the_per_user_budget_is_answered_rate_limit_exceeded() {
    let report = report("pipeline-rate-limit").await;
    let burst = report.codes("burst");
    let (last, passed) = burst.split_last().expect("a burst");
    assert_eq!(*last, RATE_LIMIT_EXCEEDED, "{report}");
    assert!(passed.iter().all(|code| *code == OK), "{report}");
    // Every request of alice's that reached the limiter before it drew on the same bucket,
    // whether it then passed or failed validation.
    let drawn = report.steps.iter().filter(|s| THROUGH_THE_LAYERS.contains(&s.scenario)).count();
    assert_eq!(drawn - 1, RATE_LIMIT as usize, "{report}");
    let step = report.steps.last().expect("the limited step");
    assert_eq!(step.status(), Some(429));
    let details = step.outcome.as_ref().expect_err("limited").details.clone().unwrap_or_default();
    assert!(details["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0), "{details}");
}

#[tokio::test]
async fn the_metrics_layer_counts_what_reaches_it_errors_by_code_and_latency() {
    let report = report("pipeline-metrics").await;
    let metrics = &report.metrics;
    let reached: Vec<_> =
        report.steps.iter().filter(|s| THROUGH_THE_LAYERS.contains(&s.scenario)).collect();
    assert_eq!(metrics.requests as usize, reached.len(), "{report}");
    let failed = reached.iter().filter(|s| s.code() != OK).count();
    assert_eq!(metrics.succeeded as usize, reached.len() - failed);
    for code in ["VALIDATION_ERROR", RATE_LIMIT_EXCEEDED] {
        assert_eq!(metrics.errors.get(code), Some(&1), "{code} counted once: {report}");
    }
    // The authentication gate answers in front of every layer.
    for code in ["UNAUTHENTICATED", "FORBIDDEN"] {
        assert_eq!(metrics.errors.get(code), None, "{code} never reaches the layers");
    }
    let latency = metrics.latency.expect("requests were timed");
    assert!(latency.min <= latency.avg && latency.avg <= latency.max, "{latency:?}");
}
