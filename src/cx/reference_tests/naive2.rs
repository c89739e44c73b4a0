//! The reference for Part 2 (journey, funnel, experiment, revenue),
//! recomputed from the raw counted statements.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use super::{Raw, DAY};
use crate::cx::facts::{AMOUNT_EXTENSION, CURRENCY_EXTENSION, EXPERIMENT_EXTENSION};
use crate::cx::facts::{PURCHASE_VERB, REFUND_VERB};
use crate::cx::metrics::Period;

fn valid_point(r: &Raw) -> Option<(&str, f64)> {
    let kind = r.value["object"]["definition"]["type"].as_str()?;
    let raw = r.value["result"]["score"]["raw"].as_f64()?;
    let (lo, hi) = match kind {
        "urn:trellis:cx:activity-type:nps" => (0.0, 10.0),
        "urn:trellis:cx:activity-type:csat" => (1.0, 5.0),
        "urn:trellis:cx:activity-type:ces" => (1.0, 7.0),
        _ => return None,
    };
    (raw >= lo && raw <= hi && raw.fract() == 0.0).then_some((kind, raw))
}

/// (refund, amount and currency when valid) of a purchase or refund.
fn sale(r: &Raw) -> Option<(bool, Option<(f64, &str)>)> {
    let refund = match r.verb.as_str() {
        PURCHASE_VERB => false,
        REFUND_VERB => true,
        _ => return None,
    };
    let ext = &r.value["result"]["extensions"];
    let amount = ext[AMOUNT_EXTENSION].as_f64().filter(|a| *a >= 0.0);
    let currency = ext[CURRENCY_EXTENSION]
        .as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
    Some((refund, amount.zip(currency)))
}

fn completes(r: &Raw, scope: &str) -> bool {
    r.object.as_deref() == Some(scope)
        && (r.result_bool("completion")
            || crate::cx::settings::DEFAULT_COMPLETION_VERBS.contains(&r.verb.as_str()))
}

pub fn journey(all: &[Raw], scope: Option<&str>, as_of: i64) -> Value {
    let seen: Vec<&Raw> = all.iter().filter(|r| r.time <= as_of).collect();
    let mut learners: BTreeMap<&str, Vec<&Raw>> = BTreeMap::new();
    for r in seen.iter().filter(|r| r.in_scope(scope)) {
        if let Some(l) = &r.learner {
            learners.entry(l).or_default().push(r);
        }
    }
    let n = learners.len();
    let count =
        |f: &dyn Fn(&str, &[&Raw]) -> bool| learners.iter().filter(|(l, rs)| f(l, rs)).count();
    let activated = count(&|_, rs| {
        rs.iter()
            .map(|r| r.time.div_euclid(DAY))
            .collect::<BTreeSet<_>>()
            .len()
            >= 2
    });
    let achieved = scope.map(|s| count(&|_, rs| rs.iter().any(|r| completes(r, s))));
    let reviewed = count(&|_, rs| rs.iter().any(|r| valid_point(r).is_some()));
    let repurchased = count(&|l, _| {
        seen.iter()
            .filter(|r| r.learner.as_deref() == Some(l))
            .filter(|r| matches!(sale(r), Some((false, Some(_)))))
            .count()
            >= 2
    });
    json!([n, activated, achieved, reviewed, repurchased])
}

/// A step: verb, object, type (each optional).
pub type StepRef = (Option<String>, Option<String>, Option<String>);

fn matches(r: &Raw, step: &StepRef) -> bool {
    let t = r.value["object"]["definition"]["type"].as_str();
    let object_type = if r.object.is_some() { t } else { None };
    step.0.as_deref().is_none_or(|v| v == r.verb)
        && step
            .1
            .as_deref()
            .is_none_or(|o| Some(o) == r.object.as_deref())
        && step.2.as_deref().is_none_or(|ty| Some(ty) == object_type)
}

fn ranks(mut v: Vec<i64>) -> Value {
    v.sort();
    let n = v.len();
    let at = |p: usize| (n > 0).then(|| v[(p * n).div_ceil(100).max(1) - 1] as f64 / 1e6);
    json!([n, at(50), at(90)])
}

pub fn funnel(
    all: &[Raw],
    scope: Option<&str>,
    as_of: i64,
    steps: &[StepRef],
    window: Option<u32>,
    cohort: Option<Period>,
) -> Value {
    let mut learners: BTreeMap<&str, Vec<&Raw>> = BTreeMap::new();
    for r in all.iter().filter(|r| r.time <= as_of && r.in_scope(scope)) {
        if let Some(l) = &r.learner {
            learners.entry(l).or_default().push(r);
        }
    }
    let mut durations: BTreeMap<Option<i64>, Vec<Vec<i64>>> = BTreeMap::new();
    for rs in learners.values_mut() {
        rs.sort_by_key(|r| (r.time, r.seq));
        let mut reached: Vec<i64> = Vec::new();
        for r in rs.iter() {
            if reached.len() == steps.len() {
                break;
            }
            if let (Some(w), Some(&first)) = (window, reached.first()) {
                if r.time > first + i64::from(w) * DAY {
                    break;
                }
            }
            if matches(r, &steps[reached.len()]) {
                reached.push(r.time);
            }
        }
        if reached.is_empty() {
            continue;
        }
        let keys = [None, cohort.map(|p| p.start_of(reached[0]))];
        for key in keys.into_iter().collect::<BTreeSet<_>>() {
            let d = durations
                .entry(key)
                .or_insert(vec![Vec::new(); steps.len()]);
            for k in 0..reached.len() {
                d[k].push(if k == 0 {
                    0
                } else {
                    reached[k] - reached[k - 1]
                });
            }
        }
    }
    let shape = |d: &Vec<Vec<i64>>| -> Value {
        d.iter()
            .enumerate()
            .map(|(k, v)| {
                let r = ranks(v.clone());
                if k == 0 {
                    json!([v.len(), null, null])
                } else {
                    json!([v.len(), r[1], r[2]])
                }
            })
            .collect()
    };
    let empty = vec![Vec::new(); steps.len()];
    let total = shape(durations.get(&None).unwrap_or(&empty));
    let cohorts: Vec<Value> = durations
        .iter()
        .filter_map(|(k, d)| k.map(|k| json!([k, shape(d)])))
        .collect();
    json!([total, cohorts])
}

fn phi(x: f64) -> f64 {
    Normal::new(0.0, 1.0).unwrap().cdf(x)
}

pub fn experiment(
    all: &[Raw],
    id: &str,
    metric: &str,
    scope: Option<&str>,
    as_of: i64,
    window: u32,
    day: u32,
) -> Value {
    let mut exposures: BTreeMap<&str, Vec<(i64, i64, &str)>> = BTreeMap::new();
    for r in all.iter().filter(|r| r.time <= as_of) {
        let x = &r.value["context"]["extensions"][EXPERIMENT_EXTENSION];
        if let (Some(l), Some(e), Some(v)) = (
            r.learner.as_deref(),
            x["id"].as_str(),
            x["variant"].as_str(),
        ) {
            if e == id {
                exposures.entry(l).or_default().push((r.time, r.seq, v));
            }
        }
    }
    let mut conflicted = 0;
    let mut arms: BTreeMap<&str, (usize, Vec<f64>)> = BTreeMap::new();
    for (l, mut xs) in exposures {
        xs.sort();
        if xs.iter().map(|x| x.2).collect::<BTreeSet<_>>().len() > 1 {
            conflicted += 1;
            continue;
        }
        let (x, _, variant) = xs[0];
        let arm = arms.entry(variant).or_default();
        arm.0 += 1;
        let mine: Vec<&Raw> = all
            .iter()
            .filter(|r| r.learner.as_deref() == Some(l) && r.in_scope(scope) && r.time <= as_of)
            .collect();
        let value = match metric {
            "completion" => {
                let end = x + i64::from(window) * DAY;
                (end <= as_of).then(|| {
                    let s = scope.unwrap();
                    f64::from(u8::from(
                        mine.iter()
                            .any(|r| completes(r, s) && r.time >= x && r.time <= end),
                    ))
                })
            }
            "retention" => {
                let from = x + i64::from(day) * DAY;
                (from <= as_of).then(|| f64::from(u8::from(mine.iter().any(|r| r.time >= from))))
            }
            kind => {
                let ty = format!("urn:trellis:cx:activity-type:{kind}");
                mine.iter()
                    .filter(|r| r.time >= x)
                    .filter_map(|r| {
                        valid_point(r)
                            .filter(|(k, _)| *k == ty)
                            .map(|(_, p)| ((r.time, r.seq), p))
                    })
                    .max_by(|a, b| a.0.cmp(&b.0))
                    .map(|(_, p)| match kind {
                        "nps" if p >= 9.0 => 100.0,
                        "nps" if p >= 7.0 => 0.0,
                        "nps" => -100.0,
                        _ => p,
                    })
            }
        };
        arm.1.extend(value);
    }
    let binary = metric == "completion" || metric == "retention";
    let stats = |v: &[f64]| -> (usize, Option<f64>, Option<f64>) {
        let n = v.len();
        let mean = (n > 0).then(|| v.iter().sum::<f64>() / n as f64);
        let var = if binary {
            mean.map(|p| p * (1.0 - p))
        } else {
            (n >= 2).then(|| {
                let m = mean.unwrap();
                v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64
            })
        };
        (n, mean, var)
    };
    let control = if arms.contains_key("control") {
        Some("control")
    } else {
        arms.keys().next().copied()
    };
    let c = control.map(|c| stats(&arms[c].1));
    let z = 1.959963984540054;
    let variants: Vec<Value> = arms
        .iter()
        .map(|(name, (exposed, v))| {
            let (n, value, var) = stats(v);
            let ci = match (var, value) {
                (Some(var), Some(m)) if n >= 2 => json!([
                    m - z * (var / n as f64).sqrt(),
                    m + z * (var / n as f64).sqrt()
                ]),
                _ => json!([null, null]),
            };
            let mut cmp = json!([null, null, null, null, null, null]);
            if Some(*name) != control {
                let (cn, cv, cvar) = c.unwrap();
                let d = value.zip(cv).map(|(t, c)| t - c);
                let lift = d.zip(cv).filter(|(_, c)| *c != 0.0).map(|(d, c)| d / c);
                let se = var
                    .zip(cvar)
                    .filter(|_| n > 0 && cn > 0)
                    .map(|(a, b)| (a / n as f64 + b / cn as f64).sqrt())
                    .filter(|s| *s > 0.0);
                cmp = match (d, se) {
                    (Some(d), Some(se)) => json!([
                        d,
                        d - z * se,
                        d + z * se,
                        lift,
                        2.0 * (1.0 - phi(d.abs() / se)),
                        phi(d / se)
                    ]),
                    _ => json!([d, null, null, lift, null, null]),
                };
            }
            let successes = binary.then(|| v.iter().filter(|x| **x > 0.5).count());
            json!([name, exposed, n, successes, value, var, ci, cmp])
        })
        .collect();
    let k = arms.len();
    let srm = (k >= 2).then(|| {
        let total: usize = arms.values().map(|a| a.0).sum();
        let e = total as f64 / k as f64;
        let chi: f64 = arms.values().map(|a| (a.0 as f64 - e).powi(2) / e).sum();
        ChiSquared::new((k - 1) as f64).unwrap().sf(chi)
    });
    json!([control, conflicted, srm, variants])
}

pub fn revenue(
    all: &[Raw],
    scope: Option<&str>,
    as_of: i64,
    currency: Option<&str>,
    cohort: Period,
    days: &[u32],
) -> Value {
    let in_s: Vec<&Raw> = all
        .iter()
        .filter(|r| r.time <= as_of && r.in_scope(scope))
        .collect();
    let mut enrol: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &in_s {
        if let Some(l) = &r.learner {
            let e = enrol.entry(l).or_insert(r.time);
            *e = (*e).min(r.time);
        }
    }
    let mut invalid = 0;
    let mut per: BTreeMap<&str, Vec<(&str, bool, f64, i64)>> = BTreeMap::new();
    for r in &in_s {
        let (Some(l), Some((refund, valid))) = (r.learner.as_deref(), sale(r)) else {
            continue;
        };
        match valid {
            None => invalid += 1,
            Some((amount, code)) if currency.is_none_or(|c| c == code) => {
                per.entry(code)
                    .or_default()
                    .push((l, refund, amount, r.time));
            }
            Some(_) => {}
        }
    }
    let currencies: Vec<Value> = per
        .iter()
        .map(|(code, sales)| {
            let purchases = sales.iter().filter(|s| !s.1).count();
            let refunds = sales.len() - purchases;
            let revenue: f64 = sales.iter().map(|s| if s.1 { -s.2 } else { s.2 }).sum();
            let mut bought: BTreeMap<&str, usize> = BTreeMap::new();
            for s in sales.iter().filter(|s| !s.1) {
                *bought.entry(s.0).or_default() += 1;
            }
            let buyers = bought.len();
            let repeat = bought.values().filter(|n| **n >= 2).count();
            let mut cohorts: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
            for (l, e) in &enrol {
                cohorts.entry(cohort.start_of(*e)).or_default().push(l);
            }
            let cohorts: Vec<Value> = cohorts
                .iter()
                .map(|(start, ls)| {
                    let points: Vec<Value> = days
                        .iter()
                        .map(|&d| {
                            let eligible: Vec<&&str> = ls
                                .iter()
                                .filter(|l| enrol[**l] + i64::from(d) * DAY <= as_of)
                                .collect();
                            let sum: f64 = sales
                                .iter()
                                .filter(|s| {
                                    eligible.iter().any(|l| **l == s.0)
                                        && s.3 < enrol[s.0] + i64::from(d) * DAY
                                })
                                .map(|s| if s.1 { -s.2 } else { s.2 })
                                .sum();
                            let ltv = (!eligible.is_empty()).then(|| sum / eligible.len() as f64);
                            json!([d, eligible.len(), ltv])
                        })
                        .collect();
                    json!([start, ls.len(), points])
                })
                .collect();
            let div = |a: f64, b: usize| (b > 0).then(|| a / b as f64);
            json!([
                code,
                purchases,
                refunds,
                revenue,
                buyers,
                repeat,
                div(repeat as f64, buyers),
                div(revenue, enrol.len()),
                div(revenue, buyers),
                cohorts
            ])
        })
        .collect();
    json!([currencies, invalid])
}
