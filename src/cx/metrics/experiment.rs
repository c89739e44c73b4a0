//! Experiments (docs/cx-metrics.md, Part 2): learners assigned to variants
//! by their first exposure, an outcome per variant, each variant against
//! the control, and a sample-ratio mismatch check. The normal CDF and the
//! chi-squared survival function come from `statrs`.

use std::collections::BTreeMap;

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use super::SurveyKind;
use crate::cx::period::MICROS_PER_DAY;
use crate::cx::state::{Row, ScopeView, State, FLAG_SCORE};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959963984540054;

/// The outcome an experiment is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Completion of the scope within `window_days` of the exposure.
    Completion { window_days: u32 },
    /// A statement in the scope `day` days or more after the exposure.
    Retention { day: u32 },
    /// The latest valid survey answer of that kind after the exposure.
    Survey(SurveyKind),
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completion { .. } => "completion",
            Outcome::Retention { .. } => "retention",
            Outcome::Survey(k) => k.as_str(),
        }
    }

    fn binary(self) -> bool {
        !matches!(self, Outcome::Survey(_))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    pub variant: String,
    pub exposed: usize,
    pub n: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successes: Option<usize>,
    pub value: Option<f64>,
    pub variance: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub difference: Option<f64>,
    pub difference_ci_low: Option<f64>,
    pub difference_ci_high: Option<f64>,
    pub relative_lift: Option<f64>,
    pub p_value: Option<f64>,
    pub chance_to_beat_control: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub experiment: String,
    pub metric: &'static str,
    pub control: Option<String>,
    pub conflicted: usize,
    pub srm_p_value: Option<f64>,
    pub srm: bool,
    pub variants: Vec<VariantResult>,
}

/// The control asked for is not a variant of the experiment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("control {0:?} is not a variant of the experiment")]
pub struct UnknownControl(pub String);

fn phi(x: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.cdf(x))
}

/// Per variant: exposed learners and their outcome values (1/0 for binary
/// outcomes; the answer's value for surveys), by learner id.
struct Arms {
    exposed: BTreeMap<u32, usize>,
    values: BTreeMap<u32, Vec<f64>>,
}

pub fn experiment(
    state: &State,
    experiment: &str,
    outcome: Outcome,
    activity: Option<&str>,
    as_of: i64,
    control: Option<&str>,
) -> Result<Experiment, UnknownControl> {
    let mut conflicted = 0;
    let mut arms = Arms {
        exposed: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    let index = state
        .experiment_names
        .get(experiment)
        .and_then(|id| state.experiments.get(id as usize));
    let view = ScopeView::new(state, activity);
    // Each learner's row in the scope (1 + its index; 0: none), so that
    // binary outcomes are read from rows without visiting the learner.
    let mut rows_of = Vec::new();
    if let (Some(v), true) = (&view, outcome.binary()) {
        rows_of = vec![0u32; state.learners.len()];
        for (i, row) in v.rows().enumerate() {
            if let Some(slot) = rows_of.get_mut(row.lid as usize) {
                *slot = u32::try_from(i + 1).unwrap_or(0);
            }
        }
    }
    let row_of = |lid: u32| -> Option<&Row> {
        let i = rows_of.get(lid as usize).copied().unwrap_or(0);
        let v = view.as_ref()?;
        i.checked_sub(1).and_then(|i| v.data.rows.get(i as usize))
    };
    if let Some(run) = index {
        let mut it = run.range(|_| false, |_| true).peekable();
        while let Some(first) = it.next() {
            // Exposures are ordered by learner, then (time, seq).
            let lid = first.lid;
            let mut assignment: Option<(i64, u32)> = None;
            let mut conflict = false;
            let mut consider = |x: &crate::cx::state::Exposed| {
                if x.time > as_of {
                    return;
                }
                match assignment {
                    None => assignment = Some((x.time, x.variant)),
                    Some((_, v)) if v != x.variant => conflict = true,
                    Some(_) => {}
                }
            };
            consider(first);
            while let Some(x) = it.next_if(|x| x.lid == lid) {
                consider(x);
            }
            let Some((x, variant)) = assignment else {
                continue;
            };
            if conflict {
                conflicted += 1;
                continue;
            }
            *arms.exposed.entry(variant).or_default() += 1;
            let values = arms.values.entry(variant).or_default();
            if let Some(v) = outcome_of(view.as_ref(), row_of(lid), lid, x, outcome, as_of) {
                values.push(v);
            }
        }
    }
    let names: BTreeMap<&str, u32> = arms
        .exposed
        .keys()
        .map(|&v| (state.variants.name(v), v))
        .collect();
    let control = match control {
        Some(c) if names.contains_key(c) => Some(c),
        Some(c) => return Err(UnknownControl(c.to_owned())),
        None if names.contains_key("control") => Some("control"),
        None => names.keys().next().copied(),
    };
    struct Summary {
        n: usize,
        successes: usize,
        value: Option<f64>,
        variance: Option<f64>,
    }
    let summarize = |id: u32| -> Summary {
        let v: &[f64] = arms.values.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let n = v.len();
        let sum: f64 = v.iter().sum();
        let value = (n > 0).then(|| sum / n as f64);
        let variance = if outcome.binary() {
            value.map(|p| p * (1.0 - p))
        } else {
            (n >= 2).then(|| {
                let m = sum / n as f64;
                v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64
            })
        };
        Summary {
            n,
            successes: v.iter().filter(|&&x| x > 0.5).count(),
            value,
            variance,
        }
    };
    let base = control.and_then(|c| names.get(c)).map(|&id| summarize(id));
    let variants = names
        .iter()
        .map(|(&name, &id)| {
            let s = summarize(id);
            let ci = match (s.variance, s.value) {
                (Some(var), Some(value)) if s.n >= 2 => {
                    let h = Z95 * (var / s.n as f64).sqrt();
                    (Some(value - h), Some(value + h))
                }
                _ => (None, None),
            };
            let is_control = Some(name) == control;
            let mut r = VariantResult {
                variant: name.to_owned(),
                exposed: arms.exposed.get(&id).copied().unwrap_or(0),
                n: s.n,
                successes: outcome.binary().then_some(s.successes),
                value: s.value,
                variance: s.variance,
                ci_low: ci.0,
                ci_high: ci.1,
                difference: None,
                difference_ci_low: None,
                difference_ci_high: None,
                relative_lift: None,
                p_value: None,
                chance_to_beat_control: None,
            };
            if let (false, Some(c)) = (is_control, &base) {
                let difference = match (s.value, c.value) {
                    (Some(t), Some(c)) => Some(t - c),
                    _ => None,
                };
                r.difference = difference;
                r.relative_lift = match (difference, c.value) {
                    (Some(d), Some(cv)) if cv != 0.0 => Some(d / cv),
                    _ => None,
                };
                let se = match (s.variance, c.variance) {
                    (Some(vt), Some(vc)) if s.n > 0 && c.n > 0 => {
                        Some((vt / s.n as f64 + vc / c.n as f64).sqrt())
                    }
                    _ => None,
                };
                if let (Some(d), Some(se)) = (difference, se.filter(|&se| se > 0.0)) {
                    r.difference_ci_low = Some(d - Z95 * se);
                    r.difference_ci_high = Some(d + Z95 * se);
                    r.p_value = Some(2.0 * (1.0 - phi(d.abs() / se)));
                    r.chance_to_beat_control = Some(phi(d / se));
                }
            }
            r
        })
        .collect::<Vec<_>>();
    let k = variants.len();
    let srm_p_value = (k >= 2)
        .then(|| {
            let total: usize = variants.iter().map(|v| v.exposed).sum();
            let expected = total as f64 / k as f64;
            let chi2: f64 = variants
                .iter()
                .map(|v| (v.exposed as f64 - expected).powi(2) / expected)
                .sum();
            ChiSquared::new((k - 1) as f64).ok().map(|d| d.sf(chi2))
        })
        .flatten();
    Ok(Experiment {
        experiment: experiment.to_owned(),
        metric: outcome.name(),
        control: control.map(str::to_owned),
        conflicted,
        srm: srm_p_value.is_some_and(|p| p < 0.001),
        srm_p_value,
        variants,
    })
}

/// A learner's outcome value after its exposure at `x`, or `None` when the
/// learner does not count in `n` (not eligible yet, no answer). `view` is
/// `None` for a scope without statements: eligible learners fail.
/// The learner's outcome; `row` is its row in the scope (binary outcomes
/// only), which answers unless the learner's statements must be read.
fn outcome_of(
    view: Option<&ScopeView>,
    row: Option<&Row>,
    lid: u32,
    x: i64,
    outcome: Outcome,
    as_of: i64,
) -> Option<f64> {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    match outcome {
        Outcome::Completion { window_days } => {
            let end = x.saturating_add(i64::from(window_days) * MICROS_PER_DAY);
            if end > as_of {
                return None;
            }
            // The first completion, when not before the exposure, decides:
            // any other completion comes after it. Without a row, the
            // learner has no statement in the scope.
            match row {
                None => return Some(0.0),
                Some(r) if r.c >= x => return Some(flag(r.c <= end)),
                Some(_) => {}
            }
            Some(flag(view.is_some_and(|view| {
                let resolved = &view.state.resolved;
                view.entries_between(lid, x, end)
                    .any(|e| e.object == view.id && resolved.completes(e.verb, e.flags))
            })))
        }
        Outcome::Retention { day } => {
            let from = x.saturating_add(i64::from(day) * MICROS_PER_DAY);
            if from > as_of {
                return None;
            }
            // The last activity in the scope decides when it is not after
            // `as_of`.
            match row {
                None => return Some(0.0),
                Some(r) if r.last <= as_of => return Some(flag(r.last >= from)),
                Some(_) => {}
            }
            Some(flag(view.is_some_and(|view| {
                view.entries_between(lid, from, as_of).next().is_some()
            })))
        }
        Outcome::Survey(kind) => {
            let view = view?;
            let learner = view.learner(lid);
            let resolved = &view.state.resolved;
            view.entries_between(lid, x, as_of).rev().find_map(|e| {
                if e.flags & FLAG_SCORE == 0 || resolved.survey_kind(e.otype) != Some(kind) {
                    return None;
                }
                let raw = learner
                    .extra(e.key())
                    .map(|x| x.raw)
                    .filter(|r| !r.is_nan())?;
                let point = kind.point(raw)?;
                Some(match kind {
                    SurveyKind::Nps if point >= 9 => 100.0,
                    SurveyKind::Nps if point >= 7 => 0.0,
                    SurveyKind::Nps => -100.0,
                    _ => f64::from(point),
                })
            })
        }
    }
}
