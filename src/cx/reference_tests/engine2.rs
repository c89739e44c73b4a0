//! The engine's Part 2 answers reshaped like `naive2`'s.

use serde_json::{json, Value};

use super::naive2::StepRef;
use crate::cx::metrics::{self, Outcome, Period, StepSpec, SurveyKind};
use crate::cx::period::parse_rfc3339;
use crate::cx::state::State;

fn at(start: &str) -> i64 {
    parse_rfc3339(start).unwrap()
}

pub fn journey(state: &State, scope: Option<&str>, as_of: i64) -> Value {
    let j = metrics::journey(state, scope, as_of);
    let n = |i: usize| j.stages.get(i).and_then(|s| s.learners);
    let names: Vec<&str> = j.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        names,
        [
            "enrolled",
            "activated",
            "achieved",
            "reviewed",
            "repurchased"
        ]
    );
    json!([n(0), n(1), n(2), n(3), n(4)])
}

pub fn funnel(
    state: &State,
    scope: Option<&str>,
    as_of: i64,
    steps: &[StepRef],
    window: Option<u32>,
    cohort: Option<Period>,
) -> Value {
    let specs: Vec<StepSpec> = steps
        .iter()
        .map(|s| StepSpec {
            verb: s.0.clone(),
            object: s.1.clone(),
            activity_type: s.2.clone(),
        })
        .collect();
    let f = metrics::funnel(state, scope, as_of, &specs, window, cohort);
    let shape = |steps: &[metrics::FunnelStep]| -> Value {
        steps
            .iter()
            .map(|s| json!([s.learners, s.median_seconds, s.p90_seconds]))
            .collect()
    };
    assert_eq!(f.learners, f.steps[0].learners);
    let cohorts: Vec<Value> = f
        .cohorts
        .iter()
        .flatten()
        .map(|c| json!([at(&c.start), shape(&c.steps)]))
        .collect();
    json!([shape(&f.steps), cohorts])
}

pub fn experiment(
    state: &State,
    id: &str,
    metric: &str,
    scope: Option<&str>,
    as_of: i64,
    window: u32,
    day: u32,
) -> Value {
    let outcome = match metric {
        "completion" => Outcome::Completion {
            window_days: window,
        },
        "retention" => Outcome::Retention { day },
        kind => Outcome::Survey(SurveyKind::parse(kind).unwrap()),
    };
    let e = metrics::experiment(state, id, outcome, scope, as_of, None).unwrap();
    let variants: Vec<Value> = e
        .variants
        .iter()
        .map(|v| {
            json!([
                v.variant,
                v.exposed,
                v.n,
                v.successes,
                v.value,
                v.variance,
                [v.ci_low, v.ci_high],
                [
                    v.difference,
                    v.difference_ci_low,
                    v.difference_ci_high,
                    v.relative_lift,
                    v.p_value,
                    v.chance_to_beat_control
                ]
            ])
        })
        .collect();
    json!([e.control, e.conflicted, e.srm_p_value, variants])
}

pub fn revenue(
    state: &State,
    scope: Option<&str>,
    as_of: i64,
    currency: Option<&str>,
    cohort: Period,
    days: &[u32],
) -> Value {
    let r = metrics::revenue(state, scope, as_of, currency, cohort, days);
    let currencies: Vec<Value> = r
        .currencies
        .iter()
        .map(|c| {
            let cohorts: Vec<Value> = c
                .cohorts
                .iter()
                .map(|k| {
                    let points: Vec<Value> = k
                        .points
                        .iter()
                        .map(|p| json!([p.day, p.eligible, p.ltv]))
                        .collect();
                    json!([at(&k.start), k.learners, points])
                })
                .collect();
            json!([
                c.currency,
                c.purchases,
                c.refunds,
                c.revenue,
                c.buyers,
                c.repeat_buyers,
                c.repeat_rate,
                c.arpu,
                c.arppu,
                cohorts
            ])
        })
        .collect();
    json!([currencies, r.invalid])
}
