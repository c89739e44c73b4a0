//! Time to first value: from a learner's first statement anywhere to its
//! enrolment in the scope.

use serde::Serialize;

use super::{enrolled, Durations};
use crate::cx::index::Index;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToFirstValue {
    pub learners: usize,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

pub fn time_to_first_value(index: &Index, activity: Option<&str>, as_of: i64) -> TimeToFirstValue {
    let global = index.global();
    let mut times = Vec::new();
    if activity.is_none() {
        // In the global scope the enrolment is the first statement anywhere.
        times = vec![0; enrolled(global, as_of).count()];
    } else if let Some(data) = index.scope(activity) {
        for (l, _, e) in enrolled(data, as_of) {
            let first = global
                .learners
                .get(&l)
                .and_then(|g| g.enrolment(as_of))
                .unwrap_or(e);
            times.push(e - first);
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
