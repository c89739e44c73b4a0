//! The CX metrics of `cx-metrics.md`, computed from the `Index` as of an
//! instant. Every function is pure: same index, same parameters, same
//! answer. Times are microseconds since the Unix epoch (UTC).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

use super::index::{Index, LearnerScope, PeriodTotals, ScopeData};
pub use super::period::Period;
use super::period::{rfc3339, MICROS_PER_DAY};
use super::Settings;

pub const COMPETENCY_VERBS: [&str; 2] = [
    "http://adlnet.gov/expapi/verbs/passed",
    "https://w3id.org/xapi/tla/verbs/mastered",
];
pub const DEFAULT_RETENTION_DAYS: [u32; 5] = [1, 7, 30, 60, 90];
/// The most periods one answer lists.
pub const MAX_PERIODS: usize = 10_000;

/// The three survey scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SurveyKind {
    Nps,
    Csat,
    Ces,
}

impl SurveyKind {
    pub const ALL: [SurveyKind; 3] = [SurveyKind::Nps, SurveyKind::Csat, SurveyKind::Ces];

    pub fn parse(s: &str) -> Option<SurveyKind> {
        match s {
            "nps" => Some(SurveyKind::Nps),
            "csat" => Some(SurveyKind::Csat),
            "ces" => Some(SurveyKind::Ces),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Nps => "nps",
            SurveyKind::Csat => "csat",
            SurveyKind::Ces => "ces",
        }
    }

    /// The activity type that means this survey by default.
    pub fn activity_type(self) -> String {
        format!("urn:trellis:cx:activity-type:{}", self.as_str())
    }

    /// The valid answer, if `raw` is a point of the scale.
    fn point(self, raw: f64) -> Option<u8> {
        let (low, high) = match self {
            SurveyKind::Nps => (0.0, 10.0),
            SurveyKind::Csat => (1.0, 5.0),
            SurveyKind::Ces => (1.0, 7.0),
        };
        (raw.fract() == 0.0 && (low..=high).contains(&raw)).then_some(raw as u8)
    }
}

/// A metric cannot be answered for these parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("the range from since to until spans more than {MAX_PERIODS} periods; narrow it or use a longer period")]
    TooManyPeriods,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Count, mean, nearest-rank median and 90th percentile of durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl Durations {
    pub fn of(mut micros: Vec<i64>) -> Durations {
        micros.sort_unstable();
        let n = micros.len();
        let rank = |p: usize| {
            (n > 0).then(|| {
                let r = (p * n).div_ceil(100).max(1);
                micros[r - 1] as f64 / 1e6
            })
        };
        let sum: i128 = micros.iter().map(|&m| i128::from(m)).sum();
        Durations {
            count: n,
            mean_seconds: (n > 0).then(|| sum as f64 / n as f64 / 1e6),
            median_seconds: rank(50),
            p90_seconds: rank(90),
        }
    }
}

/// Configuration resolved against the index's interned ids.
struct Resolved {
    completion_verbs: HashSet<u32>,
    competency_verbs: HashSet<u32>,
    survey_types: HashMap<u32, SurveyKind>,
}

impl Resolved {
    fn new(index: &Index, settings: &Settings) -> Resolved {
        let verbs = |list: &mut dyn Iterator<Item = &str>| -> HashSet<u32> {
            list.filter_map(|v| index.verbs.get(v)).collect()
        };
        let mut survey_types = HashMap::new();
        for kind in SurveyKind::ALL {
            if let Some(id) = index.types.get(&kind.activity_type()) {
                survey_types.insert(id, kind);
            }
        }
        for (activity_type, kind) in &settings.survey_types {
            if let Some(id) = index.types.get(activity_type) {
                survey_types.insert(id, *kind);
            }
        }
        Resolved {
            completion_verbs: verbs(&mut settings.completion_verbs.iter().map(String::as_str)),
            competency_verbs: verbs(&mut COMPETENCY_VERBS.iter().copied()),
            survey_types,
        }
    }
}

fn completed_at(ls: &LearnerScope, as_of: i64, r: &Resolved) -> Option<i64> {
    ls.marks
        .iter()
        .filter(|m| m.time <= as_of && (m.completion || r.completion_verbs.contains(&m.verb)))
        .map(|m| m.time)
        .min()
}

fn competent_at(ls: &LearnerScope, as_of: i64, r: &Resolved, threshold: f64) -> Option<i64> {
    ls.marks
        .iter()
        .filter(|m| {
            m.time <= as_of
                && (m.success
                    || r.competency_verbs.contains(&m.verb)
                    || m.scaled.is_some_and(|s| s >= threshold))
        })
        .map(|m| m.time)
        .min()
}

/// Enrolled learners of a scope as of `as_of`, with their enrolment.
fn enrolled(data: &ScopeData, as_of: i64) -> impl Iterator<Item = (u32, &LearnerScope, i64)> {
    data.learners
        .iter()
        .filter_map(move |(&l, ls)| ls.enrolment(as_of).map(|e| (l, ls, e)))
}

// ---------------------------------------------------------------- completion

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

// ----------------------------------------------------------------- retention

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

// -------------------------------------------------------- time-to-competency

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToCompetency {
    pub threshold: f64,
    pub enrolled: usize,
    pub reached: usize,
    pub share: Option<f64>,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// The threshold for an activity: the request's, else the configured one
/// for that activity, else the configured default.
pub fn threshold_for(settings: &Settings, activity: &str, requested: Option<f64>) -> f64 {
    requested
        .or_else(|| settings.competency_thresholds.get(activity).copied())
        .unwrap_or(settings.competency_threshold)
}

pub fn time_to_competency(
    index: &Index,
    settings: &Settings,
    activity: &str,
    as_of: i64,
    threshold: f64,
) -> TimeToCompetency {
    let r = Resolved::new(index, settings);
    let mut enrolled_count = 0;
    let mut times = Vec::new();
    if let Some(data) = index.scope(Some(activity)) {
        for (_, ls, e) in enrolled(data, as_of) {
            enrolled_count += 1;
            if let Some(c) = competent_at(ls, as_of, &r, threshold) {
                times.push(c - e);
            }
        }
    }
    let reached = times.len();
    let d = Durations::of(times);
    TimeToCompetency {
        threshold,
        enrolled: enrolled_count,
        reached,
        share: ratio(reached, enrolled_count),
        mean_seconds: d.mean_seconds,
        median_seconds: d.median_seconds,
        p90_seconds: d.p90_seconds,
    }
}

// ------------------------------------------------- engagement and activity

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

/// Learners whose last event time lies in `(as_of - days, as_of]`.
pub fn active_learners(data: Option<&ScopeData>, as_of: i64, days: i64) -> usize {
    active_in_windows(data, as_of, [days])[0]
}

/// `active_learners` for several windows in one pass.
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

// ------------------------------------------------------------------- surveys

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nps {
    pub responses: usize,
    pub promoters: usize,
    pub passives: usize,
    pub detractors: usize,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub responses: usize,
    pub mean: Option<f64>,
    pub satisfied_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ces {
    pub responses: usize,
    pub mean: Option<f64>,
    pub easy_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyResults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    pub nps: Nps,
    pub csat: Csat,
    pub ces: Ces,
    pub invalid: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Surveys {
    #[serde(flatten)]
    pub total: SurveyResults,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periods: Option<Vec<SurveyResults>>,
}

/// Latest valid answer per learner and survey, and the invalid count.
#[derive(Default)]
struct SurveyAcc {
    latest: HashMap<(u32, SurveyKind), ((i64, i64), u8)>,
    invalid: usize,
}

impl SurveyAcc {
    fn add(&mut self, learner: u32, kind: SurveyKind, key: (i64, i64), raw: f64) {
        match kind.point(raw) {
            None => self.invalid += 1,
            Some(point) => {
                let slot = self.latest.entry((learner, kind)).or_insert((key, point));
                if key > slot.0 {
                    *slot = (key, point);
                }
            }
        }
    }

    fn results(&self, start: Option<i64>) -> SurveyResults {
        let mut scores: HashMap<SurveyKind, Vec<u8>> = HashMap::new();
        for (&(_, kind), &(_, point)) in &self.latest {
            scores.entry(kind).or_default().push(point);
        }
        let of = |k| scores.get(&k).map(Vec::as_slice).unwrap_or(&[]);
        let mean = |s: &[u8]| {
            (!s.is_empty()).then(|| s.iter().map(|&p| f64::from(p)).sum::<f64>() / s.len() as f64)
        };
        let share = |s: &[u8], low: u8| ratio(s.iter().filter(|&&p| p >= low).count(), s.len());
        let nps = of(SurveyKind::Nps);
        let promoters = nps.iter().filter(|&&p| p >= 9).count();
        let detractors = nps.iter().filter(|&&p| p <= 6).count();
        let (csat, ces) = (of(SurveyKind::Csat), of(SurveyKind::Ces));
        SurveyResults {
            start: start.map(rfc3339),
            nps: Nps {
                responses: nps.len(),
                promoters,
                passives: nps.len() - promoters - detractors,
                detractors,
                score: (!nps.is_empty())
                    .then(|| 100.0 * (promoters as f64 - detractors as f64) / nps.len() as f64),
            },
            csat: Csat {
                responses: csat.len(),
                mean: mean(csat),
                satisfied_share: share(csat, 4),
            },
            ces: Ces {
                responses: ces.len(),
                mean: mean(ces),
                easy_share: share(ces, 5),
            },
            invalid: self.invalid,
        }
    }
}

pub fn surveys(
    index: &Index,
    settings: &Settings,
    activity: Option<&str>,
    as_of: i64,
    period: Option<Period>,
) -> Surveys {
    let r = Resolved::new(index, settings);
    let mut total = SurveyAcc::default();
    let mut periods: BTreeMap<i64, SurveyAcc> = BTreeMap::new();
    if let Some(data) = index.scope(activity) {
        for (&(time, seq), a) in data.answers.range(..(as_of.saturating_add(1), i64::MIN)) {
            let Some(&kind) = r.survey_types.get(&a.activity_type) else {
                continue;
            };
            total.add(a.learner, kind, (time, seq), a.raw);
            if let Some(p) = period {
                periods.entry(p.start_of(time)).or_default().add(
                    a.learner,
                    kind,
                    (time, seq),
                    a.raw,
                );
            }
        }
    }
    Surveys {
        total: total.results(None),
        periods: period.map(|_| {
            periods
                .iter()
                .map(|(&start, acc)| acc.results(Some(start)))
                .collect()
        }),
    }
}

// ------------------------------------------------------ time-to-first-value

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

// ---------------------------------------------------------------- churn risk

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
