//! Black-box tests of the analytics API (`/analytics/v1/*`) and the CX
//! gauges of `/metrics`, over HTTP, and `trellis analytics rebuild`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{wait_until, Cli, Client, Spawn};

const COURSE: &str = "https://school.example.com/course/1";

fn get(client: &Client, path: &str) -> Value {
    let (status, body) = client.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Waits until the analytics reflect `n` counted statements in the course.
fn wait_for_statements(client: &Client, n: u64) {
    let what = format!("{n} statements in the analytics");
    wait_until(&what, Duration::from_secs(10), || {
        let a = get(
            client,
            &format!("/analytics/v1/activity?activity={COURSE}&period=month"),
        );
        let seen: u64 = a["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["statements"].as_u64().unwrap())
            .sum();
        (seen == n).then_some(())
    });
}

fn lesson(mbox: &str, timestamp: &str) -> Value {
    json!({"actor": {"mbox": mbox}, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": format!("{COURSE}/lesson/1")}, "timestamp": timestamp,
        "context": {"contextActivities": {"parent": [{"id": COURSE}]}}})
}

fn profile_examples() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/cx-profile-examples.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn analytics_answer_hand_computed_values_survive_voiding_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    app.post_statements(&json!([
        lesson("mailto:ana@example.com", "2026-03-01T00:00:00Z"),
        lesson("mailto:ben@example.com", "2026-03-01T12:00:00Z"),
        {"actor": {"objectType": "Group", "mbox": "mailto:team@example.com"},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
         "object": {"id": COURSE}, "timestamp": "2026-03-04T00:00:00Z"}
    ]));
    let completion = app.post_statements(&json!({"actor": {"mbox": "mailto:ana@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": COURSE}, "result": {"score": {"scaled": 0.9}},
            "timestamp": "2026-03-03T00:00:00Z"}));
    // The profile's example survey answers are accepted and counted.
    app.post_statements(&profile_examples());
    wait_for_statements(&app, 8);

    let q = |path: &str, params: &str| {
        get(
            &app,
            &format!("/analytics/v1/{path}?activity={COURSE}&{params}"),
        )
    };
    let c = q("completion", "as_of=2026-04-01T00:00:00Z&cohort=week");
    assert_eq!(
        (
            c["enrolled"].clone(),
            c["completed"].clone(),
            c["rate"].clone()
        ),
        (json!(2), json!(1), json!(0.5))
    );
    assert_eq!(
        c["cohorts"],
        json!([{"start": "2026-02-23T00:00:00Z", "enrolled": 2, "completed": 1, "rate": 0.5}])
    );
    // as_of before the completion.
    let early = q("completion", "as_of=2026-03-02T00:00:00Z");
    assert_eq!(early["completed"], 0);

    let t = q("time-to-competency", "as_of=2026-04-01T00:00:00Z");
    assert_eq!(
        (
            t["enrolled"].clone(),
            t["reached"].clone(),
            t["share"].clone()
        ),
        (json!(2), json!(1), json!(0.5))
    );
    assert_eq!(t["median_seconds"], json!(172800.0));
    assert_eq!(
        q(
            "time-to-competency",
            "as_of=2026-04-01T00:00:00Z&threshold=0.95"
        )["reached"],
        0
    );

    let s = q("surveys", "as_of=2026-04-01T00:00:00Z");
    assert_eq!(
        s["nps"],
        json!({"responses": 2, "promoters": 1, "passives": 0, "detractors": 1, "score": 0.0})
    );
    assert_eq!(
        s["csat"],
        json!({"responses": 1, "mean": 4.0, "satisfied_share": 1.0})
    );
    assert_eq!(
        s["ces"],
        json!({"responses": 1, "mean": 6.0, "easy_share": 1.0})
    );
    assert_eq!(s["invalid"], 0);

    let a = q(
        "activity",
        "as_of=2026-03-05T00:00:00Z&since=2026-03-01T00:00:00Z",
    );
    assert_eq!(a["periods"][0]["start"], "2026-03-01T00:00:00Z");
    assert_eq!(a["periods"][0]["active_learners"], 2);
    assert_eq!(
        a["periods"][3]["statements"], 1,
        "the group's statement counts: {a}"
    );
    assert_eq!(
        a["periods"][3]["active_learners"], 0,
        "a group is not a learner: {a}"
    );
    assert_eq!(a["wau"], 2);

    let r = q("churn-risk", "as_of=2026-03-20T00:00:00Z");
    assert_eq!(r["count"], 1);
    assert_eq!(r["learners"][0]["actor"]["mbox"], "mailto:ben@example.com");
    assert_eq!(r["learners"][0]["last_active"], "2026-03-02T11:00:00Z");

    // Ana (enrolled 03-01 00:00) comes back on 03-02 and 03-03; Ben
    // (enrolled 03-01 12:00) only 23 hours later.
    let ret = q("retention", "as_of=2026-04-01T00:00:00Z&days=1,2");
    assert_eq!(
        ret["overall"][0],
        json!({"day": 1, "eligible": 2, "retained": 1, "rate": 0.5, "churn": 0.5})
    );
    assert_eq!(ret["overall"][1]["retained"], 1);

    // Voiding the completion retracts it.
    app.post_statements(&json!({"actor": {"mbox": "mailto:admin@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": completion[0]}}));
    wait_for_statements(&app, 7);
    assert_eq!(
        q("completion", "as_of=2026-04-01T00:00:00Z")["completed"],
        0
    );

    // The CX gauges are exported.
    let (status, metrics) = app.get_text("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("trellis_cx_enrolled_learners{activity=\"global\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "trellis_cx_enrolled_learners{{activity=\"{COURSE}\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("trellis_aggregator_checkpoint{aggregator=\"cx\"}"),
        "{metrics}"
    );

    // A rebuild from the statements gives the same answers after a restart.
    app.stop();
    let out = Cli::run(dir.path(), &["analytics", "rebuild"]);
    assert!(
        out.contains("Rebuilt the analytics state: 10 counted statements"),
        "{out}"
    );
    let app = Spawn::new(dir.path()).in_process();
    let s2 = get(
        &app,
        &format!("/analytics/v1/surveys?activity={COURSE}&as_of=2026-04-01T00:00:00Z"),
    );
    assert_eq!(s2, s);
}

#[test]
fn analytics_refuse_bad_parameters_and_insufficient_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    for (path, param) in [
        ("/analytics/v1/completion", "activity"),
        (
            "/analytics/v1/completion?activity=not%20an%20iri",
            "activity",
        ),
        ("/analytics/v1/retention?as_of=yesterday", "as_of"),
        ("/analytics/v1/retention?cohort=year", "cohort"),
        ("/analytics/v1/retention?days=1,x", "days"),
        (
            "/analytics/v1/engagement?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        ("/analytics/v1/activity?period=hour", "period"),
        ("/analytics/v1/surveys?Activity=http://a", "Activity"),
        ("/analytics/v1/churn-risk?limit=-1", "limit"),
        (
            "/analytics/v1/time-to-competency?activity=http://a&threshold=2",
            "threshold",
        ),
    ] {
        let (status, error) = app.get(path);
        assert_eq!(status, 400, "{path}: {error}");
        assert_eq!(error["path"], param, "{path}: {error}");
    }
    let made = Cli::run(
        dir.path(),
        &[
            "credentials",
            "create",
            "--name",
            "mine",
            "--scopes",
            "statements/read/mine",
            "--json",
        ],
    );
    let made: Value = serde_json::from_str(&made).unwrap();
    let (key, secret) = (
        made["key"].as_str().unwrap(),
        made["secret"].as_str().unwrap(),
    );
    let (status, _) = app.as_user(key, secret).get("/analytics/v1/activity");
    assert_eq!(status, 403);
    let (status, _) = app.as_user(key, "wrong").get("/analytics/v1/activity");
    assert_eq!(status, 401);
    let empty = get(
        &app,
        "/analytics/v1/completion?activity=http://unknown.example",
    );
    assert_eq!(
        (empty["enrolled"].clone(), empty["rate"].clone()),
        (json!(0), Value::Null)
    );
}
