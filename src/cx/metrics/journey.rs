//! The learner journey (docs/cx-metrics.md, Part 2): of the enrolled
//! learners of a scope, how many activated, achieved, reviewed and bought
//! again.

use serde::Serialize;

use super::ratio;
use crate::cx::state::{ScopeView, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub stage: &'static str,
    pub learners: Option<usize>,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journey {
    pub stages: Vec<Stage>,
}

/// Learner ids with a second valid purchase at or before `as_of`.
pub(super) fn repeat_buyers(state: &State, as_of: i64) -> Vec<bool> {
    let mut out = vec![false; state.learners.len()];
    for &(_, lid) in state.repeats.range(|_| false, |r| r.0 <= as_of) {
        if let Some(b) = out.get_mut(lid as usize) {
            *b = true;
        }
    }
    out
}

pub fn journey(state: &State, activity: Option<&str>, as_of: i64) -> Journey {
    let (mut enrolled, mut activated, mut achieved, mut reviewed, mut repurchased) =
        (0, 0, 0, 0, 0);
    let global = activity.is_none();
    if let Some(view) = ScopeView::new(state, activity) {
        let mut answered = vec![false; view.data.rows.len()];
        for a in view.data.answers.range(|_| false, |a| a.time <= as_of) {
            if a.valid_point().is_some() {
                if let Some(r) = answered.get_mut(a.row as usize) {
                    *r = true;
                }
            }
        }
        let repeat = repeat_buyers(state, as_of);
        for (i, row) in view.rows().enumerate() {
            if row.e > as_of {
                continue;
            }
            enrolled += 1;
            activated += usize::from(row.a <= as_of);
            achieved += usize::from(row.c <= as_of);
            reviewed += usize::from(answered.get(i).copied().unwrap_or(false));
            repurchased += usize::from(repeat.get(row.lid as usize).copied().unwrap_or(false));
        }
    }
    let stage = |stage, n: usize| Stage {
        stage,
        learners: Some(n),
        share: ratio(n, enrolled),
    };
    Journey {
        stages: vec![
            stage("enrolled", enrolled),
            stage("activated", activated),
            if global {
                Stage {
                    stage: "achieved",
                    learners: None,
                    share: None,
                }
            } else {
                stage("achieved", achieved)
            },
            stage("reviewed", reviewed),
            stage("repurchased", repurchased),
        ],
    }
}
