//! Completion: enrolled learners who completed the scope's own Activity,
//! overall and by enrolment cohort.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resolved::Resolved;
use super::{enrolled, ratio, Period};
use crate::cx::index::{Index, LearnerScope};
use crate::cx::period::rfc3339;
use crate::cx::Settings;

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

pub fn completion(
    index: &Index,
    settings: &Settings,
    activity: &str,
    as_of: i64,
    cohort: Option<Period>,
) -> Completion {
    let r = Resolved::new(index, settings);
    let mut total = (0, 0);
    let mut cohorts: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    if let Some(data) = index.scope(Some(activity)) {
        for (_, ls, e) in enrolled(data, as_of) {
            let done = usize::from(completed_at(ls, as_of, &r).is_some());
            total.0 += 1;
            total.1 += done;
            if let Some(p) = cohort {
                let c = cohorts.entry(p.start_of(e)).or_default();
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
        cohorts: cohort.map(|_| {
            cohorts
                .into_iter()
                .map(|(s, c)| counts(Some(s), c))
                .collect()
        }),
    }
}

/// When the learner first completed the scope's own Activity (a
/// completion verb, or `result.completion`), as of `as_of`.
pub(super) fn completed_at(ls: &LearnerScope, as_of: i64, r: &Resolved) -> Option<i64> {
    ls.marks
        .iter()
        .filter(|m| m.time <= as_of && (m.completion || r.completion_verbs.contains(&m.verb)))
        .map(|m| m.time)
        .min()
}
