//! Completion: enrolled learners who completed the scope's own Activity,
//! overall and by enrolment cohort.

use serde::Serialize;

use super::{ratio, Groups, Period};
use crate::cx::period::{day_of, rfc3339};
use crate::cx::state::{ScopeView, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionCounts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    pub enrolled: usize,
    pub completed: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    #[serde(flatten)]
    pub total: CompletionCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohorts: Option<Vec<CompletionCounts>>,
}

pub fn completion(state: &State, activity: &str, as_of: i64, cohort: Option<Period>) -> Completion {
    let mut total = (0, 0);
    let mut cohorts: Groups<(usize, usize)> = Groups::default();
    if let Some(view) = ScopeView::new(state, Some(activity)) {
        for row in view.enrolled(as_of) {
            let done = usize::from(row.c <= as_of);
            total.0 += 1;
            total.1 += done;
            if let Some(p) = cohort {
                let c = cohorts.slot(p.index_of_day(day_of(row.e)), Default::default);
                c.0 += 1;
                c.1 += done;
            }
        }
    }
    let counts = |start: Option<i64>, (enrolled, completed): (usize, usize)| CompletionCounts {
        start: start.map(rfc3339),
        enrolled,
        completed,
        rate: ratio(completed, enrolled),
    };
    Completion {
        total: counts(None, total),
        cohorts: cohort.map(|p| {
            cohorts
                .into_sorted()
                .into_iter()
                .map(|(i, c)| counts(Some(p.start_of_index(i)), c))
                .collect()
        }),
    }
}
