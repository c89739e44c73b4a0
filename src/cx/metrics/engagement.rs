//! Engagement (active / enrolled learners per period) and activity
//! (statements, active learners and verbs per period; DAU, WAU, MAU).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::{enrolled, ratio, MetricError, Period, MAX_PERIODS};
use crate::cx::index::{Index, PeriodTotals, ScopeData};
use crate::cx::period::{rfc3339, MICROS_PER_DAY};

/// The periods an answer lists: those containing an instant of
/// `[since, min(until, as_of)]`; `since` defaults to the scope's first
/// event time, `until` to `as_of`.
fn period_starts(
    data: Option<&ScopeData>,
    period: Period,
    as_of: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<i64>, MetricError> {
    let first = data
        .and_then(|d| d.events.keys().next())
        .map(|k| k.0)
        .filter(|&t| t <= as_of);
    let Some(from) = since.or(first) else {
        return Ok(Vec::new());
    };
    let to = until.unwrap_or(as_of).min(as_of);
    if from > to {
        return Ok(Vec::new());
    }
    let shortest = match period {
        Period::Day => MICROS_PER_DAY,
        Period::Week => 7 * MICROS_PER_DAY,
        Period::Month => 28 * MICROS_PER_DAY,
    };
    if (to as i128 - from as i128) / shortest as i128 >= MAX_PERIODS as i128 {
        return Err(MetricError::TooManyPeriods);
    }
    Ok(period.starts_between(from, to))
}

/// Counts a scope's statements in each period (event time <= as_of).
/// Periods that end at or before `as_of` come from (or go to) the index's
/// period cache.
fn count_periods(
    index: &Index,
    activity: Option<&str>,
    period: Period,
    starts: &[i64],
    as_of: i64,
) -> Vec<Arc<PeriodTotals>> {
    let (Some(scope), Some(data)) = (index.scope_id(activity), index.scope(activity)) else {
        return vec![Arc::default(); starts.len()];
    };
    // Per learner, 1 + the index of the last period it was counted in.
    let mut seen: Vec<usize> = Vec::new();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = period.next(start);
            let complete = end <= as_of.saturating_add(1);
            if complete {
                if let Some(cached) = index.period_cache.get(scope, period, start) {
                    return cached;
                }
            }
            if seen.is_empty() {
                seen = vec![0; index.learners.len()];
            }
            let mut totals = PeriodTotals::default();
            let upto = end.min(as_of.saturating_add(1));
            for (_, event) in data.events.range((start, i64::MIN)..(upto, i64::MIN)) {
                totals.statements += 1;
                *totals.verbs.entry(event.verb).or_default() += 1;
                if let Some(l) = event.learner {
                    if seen[l as usize] != i + 1 {
                        seen[l as usize] = i + 1;
                        totals.active += 1;
                    }
                }
            }
            let totals = Arc::new(totals);
            if complete {
                index.period_cache.put(scope, period, start, totals.clone());
            }
            totals
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngagementPeriod {
    pub start: String,
    pub active: usize,
    pub enrolled: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Engagement {
    pub periods: Vec<EngagementPeriod>,
}

pub fn engagement(
    index: &Index,
    activity: Option<&str>,
    as_of: i64,
    period: Period,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Engagement, MetricError> {
    let data = index.scope(activity);
    let starts = period_starts(data, period, as_of, since, until)?;
    let counts = count_periods(index, activity, period, &starts, as_of);
    let mut enrolments: Vec<i64> = data
        .map(|d| enrolled(d, as_of).map(|(_, _, e)| e).collect())
        .unwrap_or_default();
    enrolments.sort_unstable();
    let periods = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = period.next(start);
            let enrolled = enrolments.partition_point(|&e| e < end);
            let active = counts[i].active;
            EngagementPeriod {
                start: rfc3339(start),
                active,
                enrolled,
                rate: ratio(active, enrolled),
            }
        })
        .collect();
    Ok(Engagement { periods })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityPeriod {
    pub start: String,
    pub statements: usize,
    pub active_learners: usize,
    pub verbs: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub periods: Vec<ActivityPeriod>,
    pub dau: usize,
    pub wau: usize,
    pub mau: usize,
}

/// For each window of `days`, the learners whose last event time lies in
/// `(as_of - days, as_of]`, in one pass.
pub fn active_in_windows<const N: usize>(
    data: Option<&ScopeData>,
    as_of: i64,
    days: [i64; N],
) -> [usize; N] {
    let mut counts = [0; N];
    let Some(d) = data else { return counts };
    let from = days.map(|n| as_of - n * MICROS_PER_DAY);
    for ls in d.learners.values() {
        if let Some(last) = ls.last_activity(as_of) {
            for (count, from) in counts.iter_mut().zip(from) {
                *count += usize::from(last > from);
            }
        }
    }
    counts
}

pub fn activity(
    index: &Index,
    activity: Option<&str>,
    as_of: i64,
    period: Period,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Activity, MetricError> {
    let data = index.scope(activity);
    let starts = period_starts(data, period, as_of, since, until)?;
    let counts = count_periods(index, activity, period, &starts, as_of);
    let periods = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| ActivityPeriod {
            start: rfc3339(start),
            statements: counts[i].statements,
            active_learners: counts[i].active,
            verbs: counts[i]
                .verbs
                .iter()
                .map(|(&v, &n)| (index.verbs.name(v).to_owned(), n))
                .collect(),
        })
        .collect();
    let [dau, wau, mau] = active_in_windows(data, as_of, [1, 7, 30]);
    Ok(Activity {
        periods,
        dau,
        wau,
        mau,
    })
}
