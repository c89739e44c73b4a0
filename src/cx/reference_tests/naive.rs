//! The reference: every metric of one scope as of an instant, recomputed
//! from the raw counted statements by the plainest means (filters, sorts,
//! maps), for one set of request parameters (`Variant`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use super::{div, stats, Raw, DAY};
use crate::cx::metrics::{self, Period};

/// The request parameters a comparison uses.
#[derive(Debug, Clone)]
pub struct Variant {
    pub cohort: Period,
    pub days: Vec<u32>,
    pub threshold: f64,
    pub engagement: Period,
    pub activity: Period,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub surveys: Option<Period>,
    /// inactive_days, churned_days, limit, offset.
    pub churn: (u32, u32, usize, usize),
}

fn kind_scale(kind: &str) -> Option<(f64, f64)> {
    match kind {
        "urn:trellis:cx:activity-type:nps" => Some((0.0, 10.0)),
        "urn:trellis:cx:activity-type:csat" => Some((1.0, 5.0)),
        "urn:trellis:cx:activity-type:ces" => Some((1.0, 7.0)),
        _ => None,
    }
}

/// NPS / CSAT / CES of a set of answers: the latest valid one per learner
/// and kind, and the invalid ones.
#[allow(clippy::type_complexity)]
fn survey_results(answers: &[&&Raw]) -> Value {
    let mut latest: HashMap<(&str, &str), ((i64, i64), f64)> = HashMap::new();
    let mut invalid = 0;
    for r in answers {
        let (Some(l), Some(kind), Some(raw)) = (
            r.learner.as_deref(),
            r.value["object"]["definition"]["type"].as_str(),
            r.value["result"]["score"]["raw"].as_f64(),
        ) else {
            continue;
        };
        let Some((lo, hi)) = kind_scale(kind) else {
            continue;
        };
        if raw < lo || raw > hi || raw.fract() != 0.0 {
            invalid += 1;
            continue;
        }
        let e = latest.entry((l, kind)).or_insert(((r.time, r.seq), raw));
        if (r.time, r.seq) > e.0 {
            *e = ((r.time, r.seq), raw);
        }
    }
    let of = |kind: &str| -> Vec<f64> {
        latest
            .iter()
            .filter(|((_, k), _)| *k == kind)
            .map(|(_, (_, raw))| *raw)
            .collect()
    };
    let nps = of("urn:trellis:cx:activity-type:nps");
    let prom = nps.iter().filter(|&&x| x >= 9.0).count();
    let det = nps.iter().filter(|&&x| x <= 6.0).count();
    let csat = of("urn:trellis:cx:activity-type:csat");
    let ces = of("urn:trellis:cx:activity-type:ces");
    let mean = |v: &[f64]| {
        if v.is_empty() {
            Value::Null
        } else {
            json!(v.iter().sum::<f64>() / v.len() as f64)
        }
    };
    json!({
        "nps": [nps.len(), prom, det, if nps.is_empty() { Value::Null } else { json!(100.0 * (prom as f64 - det as f64) / nps.len() as f64) }],
        "csat": [csat.len(), mean(&csat), div(csat.iter().filter(|&&x| x >= 4.0).count(), csat.len())],
        "ces": [ces.len(), mean(&ces), div(ces.iter().filter(|&&x| x >= 5.0).count(), ces.len())],
        "invalid": invalid,
    })
}

/// Every metric of one scope as of an instant, from the raw statements.
#[allow(clippy::type_complexity)]
pub fn reference(all: &[Raw], scope: Option<&str>, as_of: i64, v: &Variant) -> Value {
    let seen: Vec<&Raw> = all.iter().filter(|r| r.time <= as_of).collect();
    let in_s: Vec<&&Raw> = seen.iter().filter(|r| r.in_scope(scope)).collect();
    let mut learners: BTreeMap<&str, Vec<&Raw>> = BTreeMap::new();
    for r in &in_s {
        if let Some(l) = &r.learner {
            learners.entry(l).or_default().push(r);
        }
    }
    let enrol = |l: &str| learners[l].iter().map(|r| r.time).min().unwrap();
    let last = |l: &str| learners[l].iter().map(|r| r.time).max().unwrap();
    let on_object = |r: &Raw| scope.is_some() && r.object.as_deref() == scope;
    let completed = |l: &str| {
        learners[l]
            .iter()
            .filter(|r| {
                on_object(r)
                    && (r.result_bool("completion")
                        || crate::cx::settings::DEFAULT_COMPLETION_VERBS.contains(&r.verb.as_str()))
            })
            .map(|r| r.time)
            .min()
    };
    let competent = |l: &str| {
        learners[l]
            .iter()
            .filter(|r| {
                on_object(r)
                    && (r.result_bool("success")
                        || metrics::COMPETENCY_VERBS.contains(&r.verb.as_str())
                        || r.value["result"]["score"]["scaled"]
                            .as_f64()
                            .is_some_and(|s| s >= v.threshold))
            })
            .map(|r| r.time)
            .min()
    };
    // Completion and competency (activity scopes only).
    let (completion, ttc) = if scope.is_some() {
        let mut cohorts: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
        let mut done = 0;
        for l in learners.keys() {
            let c = cohorts.entry(v.cohort.start_of(enrol(l))).or_default();
            c.0 += 1;
            if completed(l).is_some() {
                done += 1;
                c.1 += 1;
            }
        }
        let mut ttc = Vec::new();
        for l in learners.keys() {
            if let Some(c) = competent(l) {
                ttc.push(c - enrol(l));
            }
        }
        (
            json!([
                learners.len(),
                done,
                cohorts
                    .iter()
                    .map(|(k, c)| json!([k, c.0, c.1]))
                    .collect::<Vec<_>>()
            ]),
            json!([learners.len(), stats(ttc)]),
        )
    } else {
        (Value::Null, Value::Null)
    };
    // Retention.
    let n_days = v.days.len();
    let mut retention: BTreeMap<i64, (usize, Vec<(usize, usize)>)> = BTreeMap::new();
    let mut overall = vec![(0, 0); n_days];
    for l in learners.keys() {
        let e = enrol(l);
        let c = retention
            .entry(v.cohort.start_of(e))
            .or_insert((0, vec![(0, 0); n_days]));
        c.0 += 1;
        for (i, &d) in v.days.iter().enumerate() {
            let at = e + i64::from(d) * DAY;
            if at <= as_of {
                let kept = learners[l].iter().any(|r| r.time >= at);
                c.1[i].0 += 1;
                c.1[i].1 += kept as usize;
                overall[i].0 += 1;
                overall[i].1 += kept as usize;
            }
        }
    }
    // Periods listed by engagement and activity.
    let listed = |p: Period| -> Vec<i64> {
        let to = v.until.unwrap_or(as_of).min(as_of);
        let first = in_s.iter().map(|r| r.time).min();
        match v.since.or(first) {
            Some(from) if from <= to => p.starts_between(from, to),
            _ => Vec::new(),
        }
    };
    let within = |r: &Raw, p: Period, start: i64| r.time >= start && r.time < p.next(start);
    let engagement: Vec<Value> = listed(v.engagement)
        .into_iter()
        .map(|start| {
            let end = v.engagement.next(start);
            let active: BTreeSet<&str> = in_s
                .iter()
                .filter(|r| within(r, v.engagement, start))
                .filter_map(|r| r.learner.as_deref())
                .collect();
            let enrolled = learners.keys().filter(|l| enrol(l) < end).count();
            json!([start, active.len(), enrolled])
        })
        .collect();
    let activity: Vec<Value> = listed(v.activity)
        .into_iter()
        .map(|start| {
            let rows: Vec<&&&Raw> = in_s
                .iter()
                .filter(|r| within(r, v.activity, start))
                .collect();
            let active: BTreeSet<&str> = rows.iter().filter_map(|r| r.learner.as_deref()).collect();
            let mut verbs: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &rows {
                *verbs.entry(r.verb.as_str()).or_default() += 1;
            }
            json!([start, rows.len(), active.len(), verbs])
        })
        .collect();
    let window = |days: i64| {
        learners
            .values()
            .filter(|rs| rs.iter().any(|r| r.time > as_of - days * DAY))
            .count()
    };
    // Surveys, overall and by period.
    let answers: Vec<&&Raw> = in_s
        .iter()
        .copied()
        .filter(|r| {
            r.learner.is_some()
                && r.value["object"]["definition"]["type"]
                    .as_str()
                    .and_then(kind_scale)
                    .is_some()
                && r.value["result"]["score"]["raw"].as_f64().is_some()
        })
        .collect();
    let mut by_period: BTreeMap<i64, Vec<&&Raw>> = BTreeMap::new();
    if let Some(p) = v.surveys {
        for r in &answers {
            by_period.entry(p.start_of(r.time)).or_default().push(r);
        }
    }
    let survey_periods: Vec<Value> = by_period
        .iter()
        .map(|(start, rs)| json!([start, survey_results(rs)]))
        .collect();
    // Time to first value and churn risk.
    let ttfv: Vec<i64> = learners
        .keys()
        .map(|l| {
            enrol(l)
                - seen
                    .iter()
                    .filter(|r| r.learner.as_deref() == Some(l))
                    .map(|r| r.time)
                    .min()
                    .unwrap()
        })
        .collect();
    let (inactive, churned, limit, offset) = v.churn;
    let mut risk: Vec<(i64, i64, &str)> = learners
        .keys()
        .filter(|l| scope.is_none() || completed(l).is_none())
        .map(|l| (last(l), enrol(l), *l))
        .filter(|(last, _, _)| {
            as_of - last >= i64::from(inactive) * DAY && as_of - last < i64::from(churned) * DAY
        })
        .collect();
    risk.sort();
    let page: Vec<Value> = risk
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(last, e, l)| json!([last, e, l]))
        .collect();
    json!({
        "completion": completion,
        "ttc": ttc,
        "retention": [learners.len(), retention.into_iter().map(|(k, (n, c))| json!([k, n, c])).collect::<Vec<_>>(), overall],
        "engagement": engagement,
        "activity": activity,
        "windows": [window(1), window(7), window(30)],
        "surveys": survey_results(&answers),
        "survey_periods": survey_periods,
        "ttfv": stats(ttfv),
        "risk": [risk.len(), page],
    })
}
