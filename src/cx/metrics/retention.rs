//! Cohort retention and churn: enrolled learners still active t days
//! after their enrolment.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{enrolled, ratio, Period};
use crate::cx::index::Index;
use crate::cx::period::{rfc3339, MICROS_PER_DAY};

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
    index: &Index,
    activity: Option<&str>,
    as_of: i64,
    cohort: Period,
    days: &[u32],
) -> Retention {
    let mut overall = vec![(0usize, 0usize); days.len()];
    let mut learners = 0;
    let mut cohorts: BTreeMap<i64, (usize, Vec<(usize, usize)>)> = BTreeMap::new();
    if let Some(data) = index.scope(activity) {
        for (_, ls, e) in enrolled(data, as_of) {
            learners += 1;
            let c = cohorts
                .entry(cohort.start_of(e))
                .or_insert_with(|| (0, vec![(0, 0); days.len()]));
            c.0 += 1;
            for (i, &day) in days.iter().enumerate() {
                let at = e + i64::from(day) * MICROS_PER_DAY;
                if at > as_of {
                    continue;
                }
                let kept = usize::from(ls.active_between(at, as_of));
                overall[i].0 += 1;
                overall[i].1 += kept;
                c.1[i].0 += 1;
                c.1[i].1 += kept;
            }
        }
    }
    Retention {
        learners,
        cohorts: cohorts
            .into_iter()
            .map(|(start, (learners, counts))| RetentionCohort {
                start: rfc3339(start),
                learners,
                points: points(days, &counts),
            })
            .collect(),
        overall: points(days, &overall),
    }
}
