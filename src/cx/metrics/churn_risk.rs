//! Churn risk: enrolled, unfinished learners inactive for a while but not
//! yet churned.

use serde::Serialize;
use serde_json::{json, Value};

use super::completion::completed_at;
use super::enrolled;
use super::resolved::Resolved;
use crate::cx::index::Index;
use crate::cx::period::{rfc3339, MICROS_PER_DAY};
use crate::cx::Settings;

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

/// The at-risk learners, sorted by last activity, then enrolment, then IFI.
fn at_risk(
    index: &Index,
    settings: &Settings,
    activity: Option<&str>,
    as_of: i64,
    inactive_days: u32,
    churned_days: u32,
) -> Vec<(i64, i64, u32)> {
    let r = Resolved::new(index, settings);
    let inactive_from = as_of - i64::from(inactive_days) * MICROS_PER_DAY;
    let churned_from = as_of - i64::from(churned_days) * MICROS_PER_DAY;
    let mut found = Vec::new();
    if let Some(data) = index.scope(activity) {
        for (l, ls, e) in enrolled(data, as_of) {
            let Some(last) = ls.last_activity(as_of) else {
                continue;
            };
            if last <= inactive_from
                && last > churned_from
                && (activity.is_none() || completed_at(ls, as_of, &r).is_none())
            {
                found.push((last, e, l));
            }
        }
    }
    found.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| index.learners.name(a.2).cmp(index.learners.name(b.2)))
    });
    found
}

pub fn learners_at_risk(
    index: &Index,
    settings: &Settings,
    activity: Option<&str>,
    as_of: i64,
) -> usize {
    at_risk(index, settings, activity, as_of, 7, 30).len()
}

#[allow(clippy::too_many_arguments)]
pub fn churn_risk(
    index: &Index,
    settings: &Settings,
    activity: Option<&str>,
    as_of: i64,
    inactive_days: u32,
    churned_days: u32,
    limit: usize,
    offset: usize,
) -> ChurnRisk {
    let found = at_risk(
        index,
        settings,
        activity,
        as_of,
        inactive_days,
        churned_days,
    );
    ChurnRisk {
        inactive_days,
        churned_days,
        count: found.len(),
        limit,
        offset,
        learners: found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&(last, e, l)| AtRisk {
                actor: actor_of(index.learners.name(l)),
                enrolled_at: rfc3339(e),
                last_active: rfc3339(last),
            })
            .collect(),
    }
}
