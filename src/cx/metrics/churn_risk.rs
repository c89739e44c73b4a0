//! Churn risk: enrolled, unfinished learners inactive for a while but not
//! yet churned.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::{json, Value};

use crate::cx::period::{rfc3339, MICROS_PER_DAY};
use crate::cx::state::{ScopeView, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtRisk {
    pub actor: Value,
    pub enrolled_at: String,
    pub last_active: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnRisk {
    pub inactive_days: u32,
    pub churned_days: u32,
    pub count: usize,
    pub limit: usize,
    pub offset: usize,
    pub learners: Vec<AtRisk>,
}

/// The Agent an IFI key (`xapi::statement::ifi_key`) stands for.
pub fn actor_of(key: &str) -> Value {
    let (kind, value) = key.split_once(':').unwrap_or(("", key));
    match kind {
        "mbox" => json!({"objectType": "Agent", "mbox": value}),
        "sha1" => json!({"objectType": "Agent", "mbox_sha1sum": value}),
        "openid" => json!({"objectType": "Agent", "openid": value}),
        _ => {
            let (home, name) = value.split_once('|').unwrap_or((value, ""));
            json!({"objectType": "Agent", "account": {"homePage": home, "name": name}})
        }
    }
}

/// The at-risk learners as (last activity, enrolment, learner id).
fn at_risk(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    inactive_days: u32,
    churned_days: u32,
) -> Vec<(i64, i64, u32)> {
    let inactive_from = as_of.saturating_sub(i64::from(inactive_days) * MICROS_PER_DAY);
    let churned_from = as_of.saturating_sub(i64::from(churned_days) * MICROS_PER_DAY);
    let mut found = Vec::new();
    if let Some(view) = ScopeView::new(state, activity) {
        for row in view.enrolled(as_of) {
            if row.e > inactive_from || (!view.is_global() && row.c <= as_of) {
                continue;
            }
            let last = view.last_at(row, as_of);
            if last <= inactive_from && last > churned_from {
                found.push((last, row.e, row.lid));
            }
        }
    }
    found
}

pub fn learners_at_risk(state: &State, activity: Option<&str>, as_of: i64) -> usize {
    at_risk(state, activity, as_of, 7, 30).len()
}

#[allow(clippy::too_many_arguments)]
pub fn churn_risk(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    inactive_days: u32,
    churned_days: u32,
    limit: usize,
    offset: usize,
) -> ChurnRisk {
    let mut found = at_risk(state, activity, as_of, inactive_days, churned_days);
    let count = found.len();
    // Ordered by last activity, then enrolment, then IFI; only the page
    // asked for is sorted.
    let names = &state.learner_names;
    let order = |a: &(i64, i64, u32), b: &(i64, i64, u32)| -> Ordering {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| names.name(a.2).cmp(names.name(b.2)))
    };
    let end = offset.saturating_add(limit).min(count);
    if end < count && end > 0 {
        found.select_nth_unstable_by(end - 1, order);
        found.truncate(end);
    }
    found.sort_unstable_by(order);
    ChurnRisk {
        inactive_days,
        churned_days,
        count,
        limit,
        offset,
        learners: found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&(last, e, l)| AtRisk {
                actor: actor_of(names.name(l)),
                enrolled_at: rfc3339(e),
                last_active: rfc3339(last),
            })
            .collect(),
    }
}
