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
    // A statement dated in year 1000 does not make the default range of
    // activity and engagement an error (it is clamped to the period cap);
    // the same range asked for explicitly is.
    app.post_statements(&json!({"actor": {"mbox": "mailto:old@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": COURSE}, "timestamp": "1000-06-01T00:00:00Z"}));
    wait_until("the old statement", Duration::from_secs(10), || {
        let c = get(&app, &format!("/analytics/v1/completion?activity={COURSE}"));
        (c["enrolled"] == 1).then_some(())
    });
    for path in ["activity", "engagement"] {
        for scope in ["", "activity=https://school.example.com/course/1&"] {
            let answer = get(&app, &format!("/analytics/v1/{path}?{scope}period=day"));
            assert_eq!(
                answer["periods"].as_array().unwrap().len(),
                10_000,
                "{path}"
            );
            let (status, error) = app.get(&format!(
                "/analytics/v1/{path}?{scope}period=day&since=1000-06-01T00:00:00Z"
            ));
            assert_eq!((status, &error["path"]), (400, &json!("since")), "{error}");
        }
    }
    let empty = get(
        &app,
        "/analytics/v1/completion?activity=http://unknown.example",
    );
    assert_eq!(
        (empty["enrolled"].clone(), empty["rate"].clone()),
        (json!(0), Value::Null)
    );
}

/// A statement of `mbox` with verb, object, timestamp and extra members.
fn by(mbox: &str, verb: &str, object: &str, timestamp: &str, extra: Value) -> Value {
    let mut s = json!({"actor": {"mbox": mbox}, "verb": {"id": verb},
        "object": {"id": object}, "timestamp": timestamp});
    if let (Value::Object(s), Value::Object(extra)) = (&mut s, extra) {
        s.extend(extra);
    }
    s
}

const PURCHASE: &str = "http://activitystrea.ms/schema/1.0/purchase";
const REFUNDED: &str = "urn:trellis:cx:verb:refunded";
const EXPERIMENT: &str = "onboarding-checklist";

fn exposure(mbox: &str, variant: &str, timestamp: &str) -> Value {
    by(
        mbox,
        "http://adlnet.gov/expapi/verbs/experienced",
        "https://school.example.com/onboarding/welcome-tour",
        timestamp,
        json!({"context": {"extensions": {"urn:trellis:cx:extension:experiment":
            {"id": EXPERIMENT, "variant": variant}}}}),
    )
}

fn close(got: &Value, want: f64) -> bool {
    got.as_f64().is_some_and(|g| (g - want).abs() < 1e-9)
}

/// Waits until the global activity counts `n` statements.
fn wait_for_global_statements(client: &Client, n: u64) {
    wait_until(
        &format!("{n} statements in the global analytics"),
        Duration::from_secs(10),
        || {
            let a = get(client, "/analytics/v1/activity?period=month");
            let seen: u64 = a["periods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["statements"].as_u64().unwrap())
                .sum();
            (seen == n).then_some(())
        },
    );
}

#[test]
fn journey_funnel_experiment_and_revenue_answer_the_profile_examples_as_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let app = Spawn::new(dir.path()).in_process();
    // The profile's examples: ana answers NPS 9, CSAT 4 and CES 6 and buys
    // course 2 (79.99 EUR, refunded two days later); ben answers NPS 5 and
    // is exposed to the treatment of the onboarding experiment.
    app.post_statements(&profile_examples());
    let eur = |amount: Value| {
        json!({"result": {"extensions": {"urn:trellis:cx:extension:amount": amount,
            "urn:trellis:cx:extension:currency": "EUR"}}})
    };
    let course2 = "https://school.example.com/course/2";
    app.post_statements(&json!([
        // ana bought course 1 first: two purchases anywhere, 120 EUR net.
        by(
            "mailto:ana@example.com",
            PURCHASE,
            COURSE,
            "2026-03-01T09:00:00Z",
            eur(json!(120))
        ),
        by(
            "mailto:ben@example.com",
            "http://adlnet.gov/expapi/verbs/completed",
            COURSE,
            "2026-03-04T00:00:00Z",
            json!({})
        ),
        // ben comes back after his exposure (retention at day 7).
        lesson("mailto:ben@example.com", "2026-03-20T00:00:00Z"),
        exposure("mailto:cara@example.com", "control", "2026-03-05T13:00:00Z"),
        // An amount that is not a number: not a purchase, counted invalid.
        by(
            "mailto:cara@example.com",
            PURCHASE,
            course2,
            "2026-03-05T13:30:00Z",
            eur(json!("12.50"))
        ),
        // dan sees both variants: conflicted.
        exposure(
            "mailto:dan@example.com",
            "treatment",
            "2026-03-06T00:00:00Z"
        ),
        exposure("mailto:dan@example.com", "control", "2026-03-07T00:00:00Z"),
    ]));
    wait_for_global_statements(&app, 14);
    let q = |path: &str, params: &str| {
        get(
            &app,
            &format!("/analytics/v1/{path}?as_of=2026-04-10T00:00:00Z&{params}"),
        )
    };
    let stages = |j: &Value| -> Vec<(String, Value, Value)> {
        j["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["stage"].as_str().unwrap().to_owned(),
                    s["learners"].clone(),
                    s["share"].clone(),
                )
            })
            .collect()
    };
    let stage = |name: &str, learners: Value, share: Value| (name.to_owned(), learners, share);

    // Journey: every learner is enrolled globally; ana, ben and dan were
    // active on two days, cara on one; ana and ben answered a survey; ana
    // bought twice (the refund does not undo a purchase).
    assert_eq!(
        stages(&q("journey", "")),
        vec![
            stage("enrolled", json!(4), json!(1.0)),
            stage("activated", json!(3), json!(0.75)),
            stage("achieved", Value::Null, Value::Null),
            stage("reviewed", json!(2), json!(0.5)),
            stage("repurchased", json!(1), json!(0.25)),
        ]
    );
    assert_eq!(
        stages(&q("journey", &format!("activity={COURSE}"))),
        vec![
            stage("enrolled", json!(2), json!(1.0)),
            stage("activated", json!(2), json!(1.0)),
            stage("achieved", json!(1), json!(0.5)),
            stage("reviewed", json!(2), json!(1.0)),
            stage("repurchased", json!(1), json!(0.5)),
        ]
    );

    // Revenue: 120 + 79.99 - 79.99 EUR; cara's malformed purchase is invalid
    // whatever currency is asked.
    let r = q("revenue", "");
    assert_eq!(r["invalid"], 1, "{r}");
    let eur_figures = &r["currencies"][0];
    assert_eq!(r["currencies"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(eur_figures["currency"], "EUR");
    assert_eq!(
        (
            &eur_figures["purchases"],
            &eur_figures["refunds"],
            &eur_figures["buyers"],
            &eur_figures["repeat_buyers"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1))
    );
    assert!(close(&eur_figures["revenue"], 120.0), "{r}");
    assert!(close(&eur_figures["repeat_rate"], 1.0), "{r}");
    assert!(close(&eur_figures["arpu"], 30.0), "{r}");
    assert!(close(&eur_figures["arppu"], 120.0), "{r}");
    // One March cohort of 4; at day 30 all are eligible (dan enrolled on
    // 03-06), at day 90 none.
    let cohort = &eur_figures["cohorts"][0];
    assert_eq!(
        (&cohort["start"], &cohort["learners"]),
        (&json!("2026-03-01T00:00:00Z"), &json!(4))
    );
    assert_eq!(
        (
            &cohort["points"][0]["day"],
            &cohort["points"][0]["eligible"]
        ),
        (&json!(30), &json!(4))
    );
    assert!(close(&cohort["points"][0]["ltv"], 30.0), "{r}");
    assert_eq!(
        (
            &cohort["points"][1]["eligible"],
            &cohort["points"][1]["ltv"]
        ),
        (&json!(0), &Value::Null)
    );
    let usd = q("revenue", "currency=USD");
    assert_eq!(
        (&usd["currencies"], &usd["invalid"]),
        (&json!([]), &json!(1))
    );
    let c2 = q("revenue", &format!("activity={course2}"));
    assert!(close(&c2["currencies"][0]["revenue"], 0.0), "{c2}");
    assert!(close(&c2["currencies"][0]["arpu"], 0.0), "{c2}");
    assert_eq!(c2["currencies"][0]["repeat_rate"], 0.0);

    // Funnel purchase -> refund: ana and cara (the statement matches the
    // verb even when its amount is malformed) reach step 1; ana's refund
    // comes 6 days and 1 hour after her first purchase.
    let step = |verb: &str| {
        serde_urlencoded::to_string([("step", json!({"verb": verb}).to_string())]).unwrap()
    };
    let steps = format!("{}&{}", step(PURCHASE), step(REFUNDED));
    let f = q("funnel", &steps);
    assert_eq!(f["learners"], 2, "{f}");
    assert_eq!(
        f["steps"],
        json!([
            {"step": 1, "learners": 2, "conversion": 1.0, "step_conversion": null,
             "median_seconds": null, "p90_seconds": null},
            {"step": 2, "learners": 1, "conversion": 0.5, "step_conversion": 0.5,
             "median_seconds": 522000.0, "p90_seconds": 522000.0}
        ])
    );
    let windowed = q("funnel", &format!("{steps}&window_days=5&cohort=week"));
    assert_eq!(windowed["steps"][1]["learners"], 0, "{windowed}");
    let starts: Vec<&Value> = windowed["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["start"])
        .collect();
    assert_eq!(
        starts,
        [
            &json!("2026-02-23T00:00:00Z"),
            &json!("2026-03-02T00:00:00Z")
        ]
    );

    // Experiment: ben (treatment) came back after 7 days, cara (control)
    // did not; dan is conflicted; an even split has no sample-ratio
    // mismatch.
    let e = q(
        "experiment",
        &format!("experiment={EXPERIMENT}&metric=retention"),
    );
    assert_eq!(
        (&e["control"], &e["conflicted"], &e["srm"]),
        (&json!("control"), &json!(1), &json!(false)),
        "{e}"
    );
    assert!(close(&e["srm_p_value"], 1.0), "{e}");
    let variants: Vec<(&Value, &Value, &Value, &Value)> = e["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                &v["variant"],
                &v["exposed"],
                &v["successes"],
                &v["difference"],
            )
        })
        .collect();
    assert_eq!(
        variants,
        [
            (&json!("control"), &json!(1), &json!(0), &Value::Null),
            (&json!("treatment"), &json!(1), &json!(1), &json!(1.0)),
        ]
    );
    // Both variances are 0: no standard error, so no p-value.
    assert_eq!(
        (
            &e["variants"][1]["p_value"],
            &e["variants"][1]["relative_lift"]
        ),
        (&Value::Null, &Value::Null)
    );

    for (path, param) in [
        (format!("funnel?{}", step(PURCHASE)), "step"),
        (
            format!(
                "funnel?{}&step=%7B%22foo%22%3A%22http%3A%2F%2Fa%22%7D",
                step(PURCHASE)
            ),
            "step",
        ),
        (format!("funnel?{}&step=nope", step(PURCHASE)), "step"),
        (format!("funnel?{steps}&window_days=0"), "window_days"),
        ("experiment?metric=retention".to_owned(), "experiment"),
        (
            format!("experiment?experiment={EXPERIMENT}&metric=joy"),
            "metric",
        ),
        (
            format!("experiment?experiment={EXPERIMENT}&metric=retention&control=blue"),
            "control",
        ),
        (
            format!("experiment?experiment={EXPERIMENT}&metric=completion"),
            "activity",
        ),
        ("revenue?currency=eur".to_owned(), "currency"),
        ("revenue?days=x".to_owned(), "days"),
        ("journey?as_of=soon".to_owned(), "as_of"),
    ] {
        let (status, error) = app.get(&format!("/analytics/v1/{path}"));
        assert_eq!(status, 400, "{path}: {error}");
        assert_eq!(error["path"], param, "{path}: {error}");
    }

    // The Part 2 gauges, computed by the aggregator as of now.
    let gauges = wait_until("the part 2 gauges", Duration::from_secs(15), || {
        let (_, text) = app.get_text("/metrics");
        text.contains("trellis_cx_journey_learners{activity=\"global\",stage=\"repurchased\"} 1")
            .then_some(text)
    });
    for line in [
        "trellis_cx_journey_learners{activity=\"global\",stage=\"enrolled\"} 4",
        "trellis_cx_revenue{activity=\"global\",currency=\"EUR\"} 120",
        "trellis_cx_repeat_purchase_ratio{activity=\"global\",currency=\"EUR\"} 1",
    ] {
        assert!(gauges.contains(line), "{line} in {gauges}");
    }
}
