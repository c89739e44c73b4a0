//! Time to competency: from enrolment to the first passing mark on the
//! scope's own Activity.

use serde::Serialize;

use super::{ratio, Durations};
use crate::cx::state::{ScopeView, State};
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
    state: &State,
    activity: &str,
    as_of: i64,
    threshold: f64,
) -> TimeToCompetency {
    let mut enrolled_count = 0;
    let mut times = Vec::new();
    if let Some(view) = ScopeView::new(state, Some(activity)) {
        for row in view.enrolled(as_of) {
            enrolled_count += 1;
            let k = view.competent_at(row, threshold);
            if k <= as_of {
                times.push(k - row.e);
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
