//! Cohort retention and churn: enrolled learners still active t days
//! after their enrolment.

use serde::Serialize;

use super::{ratio, Groups, Period};
use crate::cx::period::{day_of, rfc3339, MICROS_PER_DAY};
use crate::cx::state::{ScopeView, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionPoint {
    pub day: u32,
    pub eligible: usize,
    pub retained: usize,
    pub rate: Option<f64>,
    /// 1 - rate.
    pub churn: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionCohort {
    pub start: String,
    pub learners: usize,
    pub points: Vec<RetentionPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retention {
    pub learners: usize,
    pub cohorts: Vec<RetentionCohort>,
    pub overall: Vec<RetentionPoint>,
}

fn points(days: &[u32], counts: &[(usize, usize)]) -> Vec<RetentionPoint> {
    days.iter()
        .zip(counts)
        .map(|(&day, &(eligible, retained))| {
            let rate = ratio(retained, eligible);
            RetentionPoint {
                day,
                eligible,
                retained,
                rate,
                churn: rate.map(|r| 1.0 - r),
            }
        })
        .collect()
}

pub fn retention(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    cohort: Period,
    days: &[u32],
) -> Retention {
    let mut overall = vec![(0usize, 0usize); days.len()];
    let mut learners = 0;
    let mut cohorts: Groups<(usize, Vec<(usize, usize)>)> = Groups::default();
    let offsets: Vec<i64> = days
        .iter()
        .map(|&d| i64::from(d) * MICROS_PER_DAY)
        .collect();
    if let Some(view) = ScopeView::new(state, activity) {
        for row in view.enrolled(as_of) {
            learners += 1;
            let c = cohorts.slot(cohort.index_of_day(day_of(row.e)), || {
                (0, vec![(0, 0); days.len()])
            });
            c.0 += 1;
            let last = view.last_at(row, as_of);
            for (i, &offset) in offsets.iter().enumerate() {
                let at = row.e.saturating_add(offset);
                if at > as_of {
                    continue;
                }
                let kept = usize::from(last >= at);
                if let (Some(o), Some(p)) = (overall.get_mut(i), c.1.get_mut(i)) {
                    o.0 += 1;
                    o.1 += kept;
                    p.0 += 1;
                    p.1 += kept;
                }
            }
        }
    }
    Retention {
        learners,
        cohorts: cohorts
            .into_sorted()
            .into_iter()
            .map(|(i, (learners, counts))| RetentionCohort {
                start: rfc3339(cohort.start_of_index(i)),
                learners,
                points: points(days, &counts),
            })
            .collect(),
        overall: points(days, &overall),
    }
}
