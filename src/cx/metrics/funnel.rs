//! Funnels (docs/cx-metrics.md, Part 2): how many learners reach each step
//! of an ordered list of statement patterns, and how long each step takes.

use serde::Serialize;

use super::{ratio, Durations, Groups, Period};
use crate::cx::period::{day_of, rfc3339, MICROS_PER_DAY};
use crate::cx::state::{Entry, ScopeView, State, NONE};

/// One step as asked: each given property must be equal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepSpec {
    pub verb: Option<String>,
    pub object: Option<String>,
    pub activity_type: Option<String>,
}

/// A step resolved against the state's ids; `None` for a name the state
/// has never seen (the step matches nothing).
struct Step {
    verb: Option<Option<u32>>,
    object: Option<Option<u32>>,
    otype: Option<Option<u32>>,
}

impl Step {
    fn matches(&self, e: &Entry) -> bool {
        let eq = |want: Option<Option<u32>>, have: u32| match want {
            None => true,
            Some(Some(id)) => id == have && have != NONE,
            Some(None) => false,
        };
        eq(self.verb, e.verb) && eq(self.object, e.object) && eq(self.otype, e.otype)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub step: usize,
    pub learners: usize,
    pub conversion: Option<f64>,
    pub step_conversion: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelCohort {
    pub start: String,
    pub learners: usize,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    pub learners: usize,
    pub steps: Vec<FunnelStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohorts: Option<Vec<FunnelCohort>>,
}

/// Per step, the durations from the previous step of the learners who
/// reached it.
fn steps_of(per_step: &[Vec<i64>]) -> Vec<FunnelStep> {
    let first = per_step.first().map_or(0, Vec::len);
    let mut prev = first;
    per_step
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let n = d.len();
            let durations = (k > 0).then(|| Durations::of(d.clone()));
            let s = FunnelStep {
                step: k + 1,
                learners: n,
                conversion: ratio(n, first),
                step_conversion: if k == 0 { None } else { ratio(n, prev) },
                median_seconds: durations.as_ref().and_then(|d| d.median_seconds),
                p90_seconds: durations.as_ref().and_then(|d| d.p90_seconds),
            };
            prev = n;
            s
        })
        .collect()
}

pub fn funnel(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    specs: &[StepSpec],
    window_days: Option<u32>,
    cohort: Option<Period>,
) -> Funnel {
    let steps: Vec<Step> = specs
        .iter()
        .map(|s| Step {
            verb: s.verb.as_deref().map(|v| state.verbs.get(v)),
            object: s.object.as_deref().map(|o| state.scope_names.get(o)),
            otype: s.activity_type.as_deref().map(|t| state.types.get(t)),
        })
        .collect();
    let window = window_days.map(|d| i64::from(d) * MICROS_PER_DAY);
    let mut total: Vec<Vec<i64>> = vec![Vec::new(); steps.len()];
    let mut cohorts: Groups<Vec<Vec<i64>>> = Groups::default();
    if let Some(view) = ScopeView::new(state, activity) {
        let mut reached: Vec<i64> = Vec::with_capacity(steps.len());
        for row in view.enrolled(as_of) {
            reached.clear();
            for e in view.entries_between(row.lid, row.e, as_of) {
                let Some(step) = steps.get(reached.len()) else {
                    break;
                };
                if let (Some(w), Some(&first)) = (window, reached.first()) {
                    if e.time > first.saturating_add(w) {
                        break;
                    }
                }
                if step.matches(e) {
                    reached.push(e.time);
                }
            }
            let Some(&first) = reached.first() else {
                continue;
            };
            let mut slot = cohort.map(|p| {
                cohorts.slot(p.index_of_day(day_of(first)), || {
                    vec![Vec::new(); steps.len()]
                })
            });
            let mut prev = first;
            for (k, &t) in reached.iter().enumerate() {
                let d = t - prev;
                prev = t;
                if let Some(v) = total.get_mut(k) {
                    v.push(d);
                }
                if let Some(c) = slot.as_deref_mut().and_then(|c| c.get_mut(k)) {
                    c.push(d);
                }
            }
        }
    }
    Funnel {
        learners: total.first().map_or(0, Vec::len),
        steps: steps_of(&total),
        cohorts: cohort.map(|p| {
            cohorts
                .into_sorted()
                .into_iter()
                .map(|(i, per_step)| FunnelCohort {
                    start: rfc3339(p.start_of_index(i)),
                    learners: per_step.first().map_or(0, Vec::len),
                    steps: steps_of(&per_step),
                })
                .collect()
        }),
    }
}
