//! Time to first value: from a learner's first statement anywhere to its
//! enrolment in the scope.

use serde::Serialize;

use super::Durations;
use crate::cx::state::{ScopeView, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToFirstValue {
    pub learners: usize,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

pub fn time_to_first_value(state: &State, activity: Option<&str>, as_of: i64) -> TimeToFirstValue {
    let mut times = Vec::new();
    if let Some(view) = ScopeView::new(state, activity) {
        if view.is_global() {
            // In the global scope the enrolment is the first statement anywhere.
            times = vec![0; view.enrolled(as_of).count()];
        } else {
            for row in view.enrolled(as_of) {
                let first = state.first_anywhere(row.lid).min(row.e);
                times.push(row.e - first);
            }
        }
    }
    let d = Durations::of(times);
    TimeToFirstValue {
        learners: d.count,
        mean_seconds: d.mean_seconds,
        median_seconds: d.median_seconds,
        p90_seconds: d.p90_seconds,
    }
}
