//! Each metric against hand-computed expectations on small datasets.

use std::sync::Arc;

use super::facts::Fact;
use super::metrics::*;
use super::period::{parse_rfc3339, rfc3339, MICROS_PER_DAY as DAY};
use super::state::State;
use super::Settings;

pub(super) const C: &str = "http://school.example/course";
pub(super) const LESSON: &str = "http://school.example/course/lesson";
pub(super) const COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
pub(super) const EXPERIENCED: &str = "http://adlnet.gov/expapi/verbs/experienced";
const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";

pub(super) fn t0() -> i64 {
    parse_rfc3339("2026-03-02T00:00:00Z").unwrap() // a Monday
}

/// A learner's statement at `t0 + days` on `object`, in `C`.
pub(super) fn f(seq: i64, learner: &str, days: f64, verb: &str, object: &str) -> Fact<'static> {
    Fact {
        seq,
        learner: Some(format!("mbox:mailto:{learner}@x").into()),
        time: t0() + (days * DAY as f64) as i64,
        verb: verb.to_owned().into(),
        object: Some(object.to_owned().into()),
        context: if object.starts_with(C) && object != C {
            vec![C.into()]
        } else {
            vec![]
        },
        completion: false,
        success: false,
        scaled: None,
        raw: None,
        activity_type: None,
        purchase: None,
        exposure: None,
    }
}

fn index_with(facts: &[Fact], settings: Settings) -> State {
    let mut state = State::new(Arc::new(settings));
    for fact in facts {
        assert!(state.insert(fact));
    }
    state
}

pub(super) fn index(facts: &[Fact<'static>]) -> (State, Vec<Fact<'static>>) {
    (index_with(facts, Settings::default()), facts.to_vec())
}

pub(super) fn at(days: f64) -> i64 {
    t0() + (days * DAY as f64) as i64
}

#[test]
fn completion_takes_completion_verbs_or_result_and_voiding_retracts_it() {
    let mut by_result = f(3, "b", 1.0, EXPERIENCED, C);
    by_result.completion = true;
    let mut group = f(4, "g", 0.5, COMPLETED, C);
    group.learner = None;
    let (mut index, facts) = index(&[
        f(1, "a", 0.0, EXPERIENCED, LESSON),
        f(2, "a", 2.0, COMPLETED, C),
        by_result,
        group,
        // Completing the lesson is not completing the course.
        f(5, "c", 0.0, COMPLETED, LESSON),
    ]);
    let c = completion(&index, C, at(10.0), Some(Period::Week));
    assert_eq!(
        (c.total.enrolled, c.total.completed, c.total.rate),
        (3, 2, Some(2.0 / 3.0))
    );
    let cohorts = c.cohorts.unwrap();
    assert_eq!(cohorts.len(), 1);
    assert_eq!(cohorts[0].start.as_deref(), Some("2026-03-02T00:00:00Z"));
    // In the middle of the data: b enrolled and completed on day 1, a not yet.
    let mid = completion(&index, C, at(1.5), None);
    assert_eq!((mid.total.enrolled, mid.total.completed), (3, 1));
    let voided = &facts[2];
    assert!(index.retract(voided.learner.as_deref(), voided.time, voided.seq));
    assert!(!index.retract(voided.learner.as_deref(), voided.time, voided.seq));
    let after = completion(&index, C, at(10.0), None);
    assert_eq!((after.total.enrolled, after.total.completed), (2, 1));
    let none = completion(&index, "http://nothing", at(10.0), None);
    assert_eq!((none.total.enrolled, none.total.rate), (0, None));
}

#[test]
fn time_to_competency_uses_nearest_rank_percentiles_and_the_threshold() {
    let mut facts = Vec::new();
    for (i, days) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
        let l = format!("l{i}");
        facts.push(f(10 * i as i64 + 1, &l, 0.0, EXPERIENCED, LESSON));
        facts.push(f(10 * i as i64 + 2, &l, days, PASSED, C));
    }
    let mut exact = f(100, "e", 0.0, EXPERIENCED, C);
    exact.scaled = Some(0.8);
    let mut below = f(101, "n", 0.0, EXPERIENCED, C);
    below.scaled = Some(0.79);
    facts.extend([exact, below]);
    let (index, _) = index(&facts);
    let t = time_to_competency(&index, C, at(30.0), 0.8);
    assert_eq!((t.enrolled, t.reached), (6, 5));
    // TTCs 0 (e), 1, 2, 3, 4 days: median rank ceil(2.5) = 3 -> 2 days;
    // p90 rank ceil(4.5) = 5 -> 4 days; mean 2 days.
    assert_eq!(t.median_seconds, Some(2.0 * 86_400.0));
    assert_eq!(t.p90_seconds, Some(4.0 * 86_400.0));
    assert_eq!(t.mean_seconds, Some(2.0 * 86_400.0));
    assert_eq!(time_to_competency(&index, C, at(30.0), 0.9).reached, 4);
    let d = Durations::of(vec![4, 1, 3, 2]);
    assert_eq!(d.median_seconds, Some(2e-6));
}

#[test]
fn retention_needs_a_full_offset_and_a_later_statement() {
    let (index, _) = index(&[
        f(1, "a", 0.0, EXPERIENCED, LESSON),
        f(2, "a", 7.0, EXPERIENCED, LESSON),
        f(3, "b", 0.5, EXPERIENCED, LESSON),
        f(4, "b", 7.4, EXPERIENCED, LESSON),
        // A late statement (arriving last) that moves c's enrolment back.
        f(6, "c", 9.0, EXPERIENCED, LESSON),
        f(5, "c", -1.0, EXPERIENCED, LESSON),
    ]);
    let r = retention(&index, Some(C), at(7.45), Period::Week, &[1, 7]);
    // Day 7: a eligible (E + 7 <= as_of) and retained at exactly E + 7 d;
    // b not eligible (E + 7 = day 7.5); c eligible (day 6), not retained
    // before as_of (its day-9 statement is after as_of).
    assert_eq!(r.overall[1].eligible, 2);
    assert_eq!(r.overall[1].retained, 1);
    // Day 1: all three eligible; c has nothing in [E + 1 d, as_of].
    assert_eq!(r.overall[0].eligible, 3);
    assert_eq!(r.overall[0].retained, 2);
    let starts: Vec<&str> = r.cohorts.iter().map(|c| c.start.as_str()).collect();
    assert_eq!(starts, ["2026-02-23T00:00:00Z", "2026-03-02T00:00:00Z"]);
}

fn answer(seq: i64, learner: &str, days: f64, kind: &str, raw: f64) -> Fact<'static> {
    let mut a = f(
        seq,
        learner,
        days,
        "http://adlnet.gov/expapi/verbs/answered",
        "http://school.example/course/survey",
    );
    a.activity_type = Some(kind.to_owned().into());
    a.raw = Some(raw);
    a
}

#[test]
fn surveys_count_the_latest_valid_answer_per_learner() {
    let nps = "urn:trellis:cx:activity-type:nps";
    let mut s = Settings::default();
    s.survey_types
        .insert("http://custom/csat".into(), SurveyKind::Csat);
    let index = index_with(
        &[
            answer(1, "a", 0.0, nps, 3.0),
            answer(2, "a", 1.0, nps, 10.0), // a's latest: promoter
            answer(3, "b", 1.0, nps, 7.0),
            answer(4, "b", 1.0, nps, 8.0), // same time, later arrival: passive
            answer(5, "c", 1.0, nps, 11.0), // out of range: invalid, ignored
            answer(6, "c", 0.5, nps, 0.0), // c's latest valid: detractor
            answer(7, "d", 2.0, "http://custom/csat", 4.0),
            answer(8, "e", 2.0, "urn:trellis:cx:activity-type:ces", 2.5), // not a scale point
            answer(9, "f", 2.0, "http://not-a-survey", 5.0),
        ],
        s,
    );
    let r = surveys(&index, Some(C), at(5.0), None).total;
    assert_eq!(
        (
            r.nps.responses,
            r.nps.promoters,
            r.nps.passives,
            r.nps.detractors
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(r.nps.score, Some(0.0));
    assert_eq!(
        (r.csat.responses, r.csat.mean, r.csat.satisfied_share),
        (1, Some(4.0), Some(1.0))
    );
    assert_eq!((r.ces.responses, r.ces.mean), (0, None));
    assert_eq!(r.invalid, 2);
    // As of day 0.75 a's latest is its first answer (a detractor).
    let early = surveys(&index, Some(C), at(0.75), Some(Period::Day));
    assert_eq!(early.total.nps.detractors, 2);
    let periods = early.periods.unwrap();
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0].start.as_deref(), Some("2026-03-02T00:00:00Z"));
}

#[test]
fn churn_risk_bounds_are_at_least_inactive_and_less_than_churned_days() {
    let (index, _) = index(&[
        f(1, "seven", 0.0, EXPERIENCED, LESSON), // 7 days before as_of: at risk
        f(2, "thirty", -23.0, EXPERIENCED, LESSON), // 30 days before: churned
        f(3, "recent", 0.1, EXPERIENCED, LESSON), // 6.9 days: active
        f(4, "done", -5.0, EXPERIENCED, LESSON),
        f(5, "done", -4.0, COMPLETED, C), // completed: not at risk
        f(6, "old", -22.0, EXPERIENCED, LESSON), // 29 days: at risk
    ]);
    let r = churn_risk(&index, Some(C), at(7.0), 7, 30, 10, 0);
    assert_eq!(r.count, 2);
    assert_eq!(r.learners[0].actor["mbox"], "mailto:old@x");
    assert_eq!(r.learners[1].last_active, rfc3339(t0()));
    let paged = churn_risk(&index, Some(C), at(7.0), 7, 30, 1, 1);
    assert_eq!((paged.count, paged.learners.len()), (2, 1));
    assert_eq!(paged.learners[0].actor["mbox"], "mailto:seven@x");
    // Globally nobody has completed, so "done" (last seen 11 days ago) counts.
    assert_eq!(learners_at_risk(&index, None, at(7.0)), 3);
}

#[test]
fn engagement_activity_and_time_to_first_value_by_hand() {
    let mut group = f(9, "g", 1.0, EXPERIENCED, LESSON);
    group.learner = None;
    let (index, _) = index(&[
        f(1, "a", 0.0, EXPERIENCED, "http://elsewhere"),
        f(2, "a", 2.0, EXPERIENCED, LESSON),
        f(3, "b", 1.0, EXPERIENCED, LESSON),
        f(4, "b", 8.0, COMPLETED, C),
        group,
    ]);
    let e = engagement(&index, Some(C), at(9.0), Period::Week, None, None).unwrap();
    let rows: Vec<(String, usize, usize)> = e
        .periods
        .iter()
        .map(|p| (p.start.clone(), p.active, p.enrolled))
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-03-02T00:00:00Z".to_owned(), 2, 2),
            ("2026-03-09T00:00:00Z".to_owned(), 1, 2)
        ]
    );
    let a = activity(
        &index,
        Some(C),
        at(9.0),
        Period::Day,
        Some(at(1.0)),
        Some(at(2.5)),
    )
    .unwrap();
    assert_eq!(a.periods.len(), 2);
    assert_eq!(
        (a.periods[0].statements, a.periods[0].active_learners),
        (2, 1)
    );
    assert_eq!(a.periods[0].verbs[EXPERIENCED], 2);
    // b's last statement is exactly one day old: outside the 1-day window.
    assert_eq!((a.dau, a.wau, a.mau), (0, 1, 2));
    let ttfv = time_to_first_value(&index, Some(C), at(9.0));
    // a: first statement day 0, enrolled in C day 2; b: 0.
    assert_eq!((ttfv.learners, ttfv.mean_seconds), (2, Some(86_400.0)));
    assert_eq!(ttfv.p90_seconds, Some(2.0 * 86_400.0));
    assert!(matches!(
        activity(&index, None, at(9.0), Period::Day, Some(0), None),
        Err(MetricError::TooManyPeriods)
    ));
}

#[test]
fn a_default_since_beyond_the_period_cap_is_clamped_and_an_explicit_one_is_refused() {
    // One statement dated in year 1000 (accepted by the LRS) must not make
    // the default range of activity and engagement an error.
    let mut ancient = f(1, "a", 0.0, EXPERIENCED, LESSON);
    ancient.time = parse_rfc3339("1000-06-01T00:00:00Z").unwrap();
    let (index, _) = index(&[ancient, f(2, "b", 1.0, EXPERIENCED, LESSON)]);
    for scope in [None, Some(C)] {
        let a = activity(&index, scope, at(3.0), Period::Day, None, None).unwrap();
        assert_eq!(a.periods.len(), MAX_PERIODS);
        let last = a.periods.last().unwrap();
        assert_eq!(last.start, rfc3339(t0() + 3 * DAY));
        assert_eq!(a.periods[a.periods.len() - 3].statements, 1);
        let y = activity(&index, scope, at(3.0), Period::Month, None, None).unwrap();
        assert_eq!(y.periods.len(), MAX_PERIODS);
        assert_eq!(y.periods.last().unwrap().statements, 1);
        let w = engagement(&index, scope, at(3.0), Period::Week, None, None).unwrap();
        assert_eq!(w.periods.len(), MAX_PERIODS);
        assert_eq!(w.periods.last().unwrap().enrolled, 2);
        // The same range asked for explicitly is refused.
        let since = parse_rfc3339("1000-06-01T00:00:00Z");
        assert_eq!(
            activity(&index, scope, at(3.0), Period::Day, since, None),
            Err(MetricError::TooManyPeriods)
        );
        // The cap is counted before `until`, not before `as_of`.
        let until = Some(at(-400.0));
        let u = activity(&index, scope, at(3.0), Period::Day, None, until).unwrap();
        assert_eq!(u.periods.len(), MAX_PERIODS);
        assert_eq!(
            u.periods.last().unwrap().start,
            rfc3339(Period::Day.start_of(at(-400.0)))
        );
    }
}
