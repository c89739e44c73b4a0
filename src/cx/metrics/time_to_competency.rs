//! Time to competency: from enrolment to the first passing mark on the
//! scope's own Activity.

use serde::Serialize;

use super::resolved::Resolved;
use super::{enrolled, ratio, Durations};
use crate::cx::index::{Index, LearnerScope};
use crate::cx::Settings;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToCompetency {
    pub threshold: f64,
    pub enrolled: usize,
    pub reached: usize,
    pub share: Option<f64>,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// The threshold for an activity: the request's, else the configured one
/// for that activity, else the configured default.
pub fn threshold_for(settings: &Settings, activity: &str, requested: Option<f64>) -> f64 {
    requested
        .or_else(|| settings.competency_thresholds.get(activity).copied())
        .unwrap_or(settings.competency_threshold)
}

pub fn time_to_competency(
    index: &Index,
    settings: &Settings,
    activity: &str,
    as_of: i64,
    threshold: f64,
) -> TimeToCompetency {
    let r = Resolved::new(index, settings);
    let mut enrolled_count = 0;
    let mut times = Vec::new();
    if let Some(data) = index.scope(Some(activity)) {
        for (_, ls, e) in enrolled(data, as_of) {
            enrolled_count += 1;
            if let Some(c) = competent_at(ls, as_of, &r, threshold) {
                times.push(c - e);
            }
        }
    }
    let reached = times.len();
    let d = Durations::of(times);
    TimeToCompetency {
        threshold,
        enrolled: enrolled_count,
        reached,
        share: ratio(reached, enrolled_count),
        mean_seconds: d.mean_seconds,
        median_seconds: d.median_seconds,
        p90_seconds: d.p90_seconds,
    }
}

/// When the learner first reached competency on the scope's own Activity
/// (a competency verb, `result.success`, or a scaled score at `threshold`).
fn competent_at(ls: &LearnerScope, as_of: i64, r: &Resolved, threshold: f64) -> Option<i64> {
    ls.marks
        .iter()
        .filter(|m| {
            m.time <= as_of
                && (m.success
                    || r.competency_verbs.contains(&m.verb)
                    || m.scaled.is_some_and(|s| s >= threshold))
        })
        .map(|m| m.time)
        .min()
}
