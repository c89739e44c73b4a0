//! Engagement (active / enrolled learners per period) and activity
//! (statements, active learners and verbs per period; DAU, WAU, MAU).
//!
//! Periods that end at or before `as_of` are answered from the scope's day,
//! week and month counts; the one period that contains `as_of` (and the
//! rolling windows) from one pass over the scope's rows, reading each
//! learner's last event at or before `as_of`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ratio, MetricError, Period, MAX_PERIODS};
use crate::cx::period::{day_of, rfc3339, MICROS_PER_DAY};
use crate::cx::state::{ScopeView, State};

/// The first event time of the scope at or before `as_of`, precise enough
/// to list periods up to `to` (see `period_indexes`).
fn first_event(view: &ScopeView, as_of: i64, to: i64) -> Option<i64> {
    let first_day = *view.data.days.keys().next()?;
    if first_day > day_of(as_of) {
        return None;
    }
    if first_day < day_of(to) {
        // Any instant of that day lists the same periods.
        return Some(first_day * MICROS_PER_DAY);
    }
    // The first day is the day of `to` or later: the exact first instant
    // decides whether anything is listed.
    let day_start = first_day * MICROS_PER_DAY;
    let learners = view.enrolled(as_of).map(|r| r.e).min();
    let groups = view.groups_between(day_start, as_of).next().map(|g| g.time);
    learners.into_iter().chain(groups).min()
}

/// The period numbers an answer lists: those containing an instant of
/// `[since, min(until, as_of)]`; `since` defaults to the scope's first
/// event time, `until` to `as_of`. More than `MAX_PERIODS` is an error for
/// an explicit `since`; a default `since` is moved forward to list the
/// last `MAX_PERIODS` periods instead.
fn period_indexes(
    view: Option<&ScopeView>,
    period: Period,
    as_of: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<i64>, MetricError> {
    let to = until.unwrap_or(as_of).min(as_of);
    let from = match since {
        Some(s) => s,
        None => match view.and_then(|v| first_event(v, as_of, to)) {
            Some(f) => f,
            None => return Ok(Vec::new()),
        },
    };
    if from > to {
        return Ok(Vec::new());
    }
    let last = period.index_of_day(day_of(to));
    let mut first = period.index_of_day(day_of(from));
    let cap = MAX_PERIODS as i64;
    if last - first >= cap {
        if since.is_some() {
            return Err(MetricError::TooManyPeriods);
        }
        first = last - (cap - 1);
    }
    Ok((first..=last).collect())
}

/// Counts of one period.
#[derive(Debug, Default, Clone)]
struct Totals {
    statements: usize,
    active: usize,
    enrolled: usize,
    verbs: BTreeMap<u32, usize>,
}

/// What one pass over the rows tells about the period containing `as_of`
/// and the rolling windows.
#[derive(Debug, Default)]
struct Scan {
    enrolled: usize,
    /// Learners active in `[partial_start, as_of]`.
    active: usize,
    /// Statements and verbs in `[day start of as_of, as_of]`.
    day_statements: usize,
    day_verbs: BTreeMap<u32, usize>,
    /// Learners active in the last 1, 7 and 30 days.
    windows: [usize; 3],
}

fn scan(view: &ScopeView, as_of: i64, partial_start: i64, verbs: bool) -> Scan {
    let mut s = Scan::default();
    let day_start = day_of(as_of) * MICROS_PER_DAY;
    let windows = [1, 7, 30].map(|d: i64| as_of.saturating_sub(d * MICROS_PER_DAY));
    for row in view.enrolled(as_of) {
        s.enrolled += 1;
        let last = view.last_at(row, as_of);
        s.active += usize::from(last >= partial_start);
        for (n, from) in s.windows.iter_mut().zip(windows) {
            *n += usize::from(last > from);
        }
        if verbs && last >= day_start {
            for e in view.entries_between(row.lid, day_start, as_of) {
                s.day_statements += 1;
                *s.day_verbs.entry(e.verb).or_default() += 1;
            }
        }
    }
    if verbs {
        for g in view.groups_between(day_start, as_of) {
            s.day_statements += 1;
            *s.day_verbs.entry(g.verb).or_default() += 1;
        }
    }
    s
}

/// The totals of each listed period.
fn totals(
    view: Option<&ScopeView>,
    period: Period,
    indexes: &[i64],
    as_of: i64,
    verbs: bool,
) -> (Vec<Totals>, Option<Scan>) {
    let Some(view) = view else {
        return (vec![Totals::default(); indexes.len()], None);
    };
    let data = view.data;
    let as_of_day = day_of(as_of);
    let mut enrolled_before = 0usize;
    let mut days = data.days.iter().peekable();
    let mut scanned: Option<Scan> = None;
    let totals = indexes
        .iter()
        .map(|&i| {
            let (d0, d1) = (period.first_day(i), period.first_day(i + 1));
            let (start, end) = (period.start_of_index(i), period.start_of_index(i + 1));
            let complete = end <= as_of.saturating_add(1);
            // Whole days counted from the day totals: all of the period's
            // days when it is complete, the days before as_of's otherwise.
            let upto = if complete { d1 } else { as_of_day.min(d1) };
            let mut t = Totals::default();
            for (_, stat) in data.days.range(d0..upto.max(d0)) {
                t.statements += stat.statements as usize;
            }
            if verbs {
                for ((_, v), n) in data.verbs.range((d0, 0)..(upto.max(d0), 0)) {
                    *t.verbs.entry(*v).or_default() += *n as usize;
                }
            }
            while let Some((&d, stat)) = days.peek() {
                if d >= d1 {
                    break;
                }
                enrolled_before += stat.enrolled as usize;
                days.next();
            }
            if complete {
                t.enrolled = enrolled_before;
                t.active = match period {
                    Period::Day => data.days.get(&i).map_or(0, |s| s.active as usize),
                    Period::Week => data.weeks.get(&i).copied().unwrap_or(0) as usize,
                    Period::Month => data.months.get(&i).copied().unwrap_or(0) as usize,
                };
            } else {
                let s = scanned.get_or_insert_with(|| scan(view, as_of, start, verbs));
                t.enrolled = s.enrolled;
                t.active = s.active;
                if start <= as_of {
                    t.statements += s.day_statements;
                    for (v, n) in &s.day_verbs {
                        *t.verbs.entry(*v).or_default() += n;
                    }
                }
            }
            t
        })
        .collect();
    (totals, scanned)
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
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    period: Period,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Engagement, MetricError> {
    let view = ScopeView::new(state, activity);
    let indexes = period_indexes(view.as_ref(), period, as_of, since, until)?;
    let (counts, _) = totals(view.as_ref(), period, &indexes, as_of, false);
    let periods = indexes
        .iter()
        .zip(counts)
        .map(|(&i, t)| EngagementPeriod {
            start: rfc3339(period.start_of_index(i)),
            active: t.active,
            enrolled: t.enrolled,
            rate: ratio(t.active, t.enrolled),
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

/// Learners whose last event time lies in `(as_of - days, as_of]`, for
/// 1, 7 and 30 days.
pub fn active_in_windows(state: &State, activity: Option<&str>, as_of: i64) -> [usize; 3] {
    ScopeView::new(state, activity)
        .map(|v| scan(&v, as_of, i64::MAX, false).windows)
        .unwrap_or_default()
}

pub fn activity(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    period: Period,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Activity, MetricError> {
    let view = ScopeView::new(state, activity);
    let indexes = period_indexes(view.as_ref(), period, as_of, since, until)?;
    let (counts, scanned) = totals(view.as_ref(), period, &indexes, as_of, true);
    let periods = indexes
        .iter()
        .zip(counts)
        .map(|(&i, t)| ActivityPeriod {
            start: rfc3339(period.start_of_index(i)),
            statements: t.statements,
            active_learners: t.active,
            verbs: t
                .verbs
                .iter()
                .map(|(&v, &n)| (state.verbs.name(v).to_owned(), n))
                .collect(),
        })
        .collect();
    let [dau, wau, mau] = match (scanned, view.as_ref()) {
        (Some(s), _) => s.windows,
        (None, Some(v)) => scan(v, as_of, i64::MAX, false).windows,
        (None, None) => [0; 3],
    };
    Ok(Activity {
        periods,
        dau,
        wau,
        mau,
    })
}
