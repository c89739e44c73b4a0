//! The engine's answers for one scope, as of an instant and for one
//! `Variant`, reshaped like the reference's.

use serde_json::{json, Value};

use super::naive::Variant;
use crate::cx::metrics;
use crate::cx::period::parse_rfc3339;
use crate::cx::state::State;

fn at(start: &str) -> i64 {
    parse_rfc3339(start).unwrap()
}

fn survey_shape(s: &metrics::SurveyResults) -> Value {
    json!({
        "nps": [s.nps.responses, s.nps.promoters, s.nps.detractors, s.nps.score],
        "csat": [s.csat.responses, s.csat.mean, s.csat.satisfied_share],
        "ces": [s.ces.responses, s.ces.mean, s.ces.easy_share],
        "invalid": s.invalid,
    })
}

pub fn engine(state: &State, scope: Option<&str>, as_of: i64, v: &Variant) -> Value {
    let (completion, ttc) = match scope {
        Some(a) => {
            let c = metrics::completion(state, a, as_of, Some(v.cohort));
            let cohorts: Vec<Value> = c
                .cohorts
                .iter()
                .flatten()
                .map(|k| json!([at(k.start.as_deref().unwrap()), k.enrolled, k.completed]))
                .collect();
            let t = metrics::time_to_competency(state, a, as_of, v.threshold);
            (
                json!([c.total.enrolled, c.total.completed, cohorts]),
                json!([t.enrolled, {"count": t.reached, "mean": t.mean_seconds, "median": t.median_seconds, "p90": t.p90_seconds}]),
            )
        }
        None => (Value::Null, Value::Null),
    };
    let r = metrics::retention(state, scope, as_of, v.cohort, &v.days);
    let points = |ps: &[metrics::RetentionPoint]| -> Vec<Value> {
        ps.iter().map(|p| json!([p.eligible, p.retained])).collect()
    };
    let retention = json!([
        r.learners,
        r.cohorts
            .iter()
            .map(|c| json!([at(&c.start), c.learners, points(&c.points)]))
            .collect::<Vec<_>>(),
        points(&r.overall)
    ]);
    let e = metrics::engagement(state, scope, as_of, v.engagement, v.since, v.until).unwrap();
    let engagement: Vec<Value> = e
        .periods
        .iter()
        .map(|p| json!([at(&p.start), p.active, p.enrolled]))
        .collect();
    let a = metrics::activity(state, scope, as_of, v.activity, v.since, v.until).unwrap();
    let activity: Vec<Value> = a
        .periods
        .iter()
        .map(|p| json!([at(&p.start), p.statements, p.active_learners, p.verbs]))
        .collect();
    let sv = metrics::surveys(state, scope, as_of, v.surveys);
    let survey_periods: Vec<Value> = sv
        .periods
        .iter()
        .flatten()
        .map(|p| json!([at(p.start.as_deref().unwrap()), survey_shape(p)]))
        .collect();
    let f = metrics::time_to_first_value(state, scope, as_of);
    let (inactive, churned, limit, offset) = v.churn;
    let risk = metrics::churn_risk(state, scope, as_of, inactive, churned, limit, offset);
    let risk_rows: Vec<Value> = risk
        .learners
        .iter()
        .map(|l| {
            let key = crate::xapi::statement::ifi_key(&l.actor).unwrap();
            json!([at(&l.last_active), at(&l.enrolled_at), key])
        })
        .collect();
    json!({
        "completion": completion,
        "ttc": ttc,
        "retention": retention,
        "engagement": engagement,
        "activity": activity,
        "windows": [a.dau, a.wau, a.mau],
        "surveys": survey_shape(&sv.total),
        "survey_periods": survey_periods,
        "ttfv": {"count": f.learners, "mean": f.mean_seconds, "median": f.median_seconds, "p90": f.p90_seconds},
        "risk": [risk.count, risk_rows],
    })
}
