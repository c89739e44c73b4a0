//! Hostile input through HTTP (issue 12): arbitrary parameters on the
//! statement queries and every analytics endpoint, arbitrary JSON bodies on
//! the Statement Resource, under both versions. Nothing answers 5xx, and
//! nothing panics (the panic counter stays at 0). Case counts are bounded so
//! this runs in seconds.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{Spawn, TestApp};

const STATEMENT_PARAMS: &[&str] = &[
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "more",
];

const ANALYTICS: &[&str] = &[
    "completion",
    "retention",
    "time-to-competency",
    "engagement",
    "activity",
    "surveys",
    "time-to-first-value",
    "churn-risk",
];

const ANALYTICS_PARAMS: &[&str] = &[
    "activity",
    "as_of",
    "since",
    "until",
    "period",
    "days",
    "threshold",
    "cohort",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9TZ:.+-]{0,30}",
        "-?[0-9]{0,25}",
        Just("true".to_owned()),
        Just("{\"mbox\":\"mailto:a@b.c\"}".to_owned()),
        Just("http://example.com/a".to_owned()),
        "[A-Za-z0-9_-]{0,80}",
    ]
}

fn query(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop_oneof![
                prop::sample::select(names).prop_map(str::to_owned),
                any::<String>()
            ],
            value(),
        ),
        0..4,
    )
    .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap_or_default())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[PTHMS0-9.é]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::hash_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn statement_with(key: &str, value: Value) -> Value {
    let mut s = json!({
        "actor": {"mbox": "mailto:robust@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "http://example.com/robust"},
        "result": {"duration": "PT1S", "score": {"scaled": 0.5}},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}
    });
    let pointer = match key {
        "duration" => "/result",
        "score" => "/result",
        "registration" => "/context",
        _ => "",
    };
    if let Some(Value::Object(o)) = s.pointer_mut(pointer) {
        o.insert(key.to_owned(), value);
    }
    s
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn assert_no_server_error(
    app: &TestApp,
    method: &str,
    path: &str,
    version: &str,
    body: Option<&Value>,
) {
    let r = app.request(method, path, &[("X-Experience-API-Version", version)], body);
    assert!(
        r.status < 500,
        "{method} {path} ({version}) answered {}: {}",
        r.status,
        r.body
    );
}

fn no_panics(app: &TestApp) {
    let (_, metrics) = app.get_text("/metrics");
    assert!(
        metrics.contains("trellis_panics_total 0"),
        "a handler panicked"
    );
}

#[test]
fn hostile_parameters_and_bodies_never_answer_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    app.post_statements(&json!([statement_with("duration", json!("PT2S"))]));
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(
            &(
                query(STATEMENT_PARAMS),
                prop::sample::select(ANALYTICS),
                query(ANALYTICS_PARAMS),
                prop::sample::select(&["1.0.3", "2.0.0"][..]),
                prop::sample::select(&["duration", "score", "registration", "id"][..]),
                json_value(),
            ),
            |(statements_query, endpoint, analytics_query, version, key, value)| {
                assert_no_server_error(
                    &app,
                    "GET",
                    &format!("/xapi/statements?{statements_query}"),
                    version,
                    None,
                );
                assert_no_server_error(
                    &app,
                    "GET",
                    &format!("/analytics/v1/{endpoint}?{analytics_query}"),
                    version,
                    None,
                );
                let body = statement_with(key, value.clone());
                assert_no_server_error(&app, "POST", "/xapi/statements", version, Some(&body));
                assert_no_server_error(&app, "POST", "/xapi/statements", version, Some(&value));
                Ok(())
            },
        )
        .unwrap();
    no_panics(&app);
}

#[test]
fn the_durations_that_crashed_the_parser_are_refused_with_400() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    for duration in ["W", "éW", "PéW", "P\u{1F600}W"] {
        for version in ["1.0.3", "2.0.0"] {
            let body = statement_with("duration", json!(duration));
            let r = app.request(
                "POST",
                "/xapi/statements",
                &[("X-Experience-API-Version", version)],
                Some(&body),
            );
            assert_eq!(r.status, 400, "{duration:?} ({version}): {}", r.body);
        }
    }
    no_panics(&app);
}
