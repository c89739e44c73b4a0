//! What happens to the population, as compact events in time: each learner's
//! journey (first visit, purchases and enrolments, lessons, drop-off,
//! assessment attempts, completion, surveys, refunds, repeat purchases,
//! statements recorded by mistake and their voiding, experiment exposures)
//! and the study groups' live sessions. Rendering to xAPI is `render.rs`'s
//! job.

use uuid::Uuid;

use super::catalog::{Course, Survey};
use super::experiments::{Assignment, Exposure, TREATMENT_DROP_FACTOR};
use super::rng::SimRng;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The most courses a learner takes.
const MAX_COURSES: usize = 3;
/// The share of enrolments that are free (a scholarship): no purchase.
const SCHOLARSHIP: f64 = 0.08;
/// The share of purchases the shop records wrongly (see `Defect`).
const DEFECTIVE_PURCHASE: f64 = 0.004;
/// The share of purchases a payment webhook records twice; the registrar
/// voids the copy hours later.
const DUPLICATE_PURCHASE: f64 = 0.003;
/// Refunds in full are granted within this many days of the purchase.
const REFUND_WINDOW: i64 = 14 * DAY;
/// Learners who leave within the first two lessons and ask for their money
/// back (inside the window).
const EARLY_REFUND: f64 = 0.3;
/// Learners who fail every assessment attempt and get half their money back.
const GOODWILL_REFUND: f64 = 0.1;
/// The chance of buying a next course after passing one (a repeat
/// purchase), and after dropping out or failing.
const NEXT_AFTER_PASS: f64 = 0.4;
const NEXT_OTHERWISE: f64 = 0.1;
/// The mean wait before the next course, in days.
const NEXT_GAP_DAYS: f64 = 20.0;

/// Who a statement is by.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Learner(u32),
    /// A study group: `(group number, member learners, identified)`.
    Group(u32, Vec<u32>, bool),
    Registrar,
}

/// How a defective purchase statement is wrong: each makes it "invalid" for
/// revenue while it stays a valid xAPI statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// `"usd"`: a currency code must be three uppercase letters.
    LowercaseCurrency,
    /// `"79"`: the amount must be a JSON number.
    AmountAsText,
    /// No currency extension at all.
    NoCurrency,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The onboarding tour: a learner's first touch, outside any course.
    FirstVisit,
    /// The course bought at list price, just before enrolling.
    Purchased {
        amount: u32,
        currency: &'static str,
        defect: Option<Defect>,
    },
    /// Money given back for the purchase `purchase` of the same course.
    Refunded {
        amount: u32,
        currency: &'static str,
        purchase: Uuid,
    },
    Registered,
    LessonLaunched {
        lesson: u16,
    },
    LessonCompleted {
        lesson: u16,
        seconds: u32,
    },
    Assessment {
        scaled: f64,
        passed: bool,
        attempt: u8,
        seconds: u32,
    },
    CourseCompleted {
        scaled: f64,
    },
    Survey {
        survey: Survey,
        raw: u8,
    },
    /// A completion a faulty player recorded; voided later.
    Mistake,
    Voided {
        target: Uuid,
    },
    LiveSession {
        week: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at_ms: i64,
    pub id: Uuid,
    pub actor: Actor,
    /// The course the event belongs to (index in the catalogue).
    pub course: Option<u16>,
    pub registration: Option<Uuid>,
    pub kind: Kind,
    /// The experiment variant the learner was shown, carried by this
    /// statement.
    pub exposure: Option<Exposure>,
}

/// The simulated period, in ms since the epoch: `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Period {
    fn days(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / DAY as f64
    }
}

/// How a course ended for a learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Left after `lessons` lessons.
    Dropped {
        lessons: u16,
    },
    Failed,
    Passed,
}

/// One learner's events as they are made.
struct Journey<'a> {
    n: u32,
    rng: &'a mut SimRng,
    out: Vec<Event>,
    /// Grit: 0 (drops at once) to 1 (finishes everything).
    grit: f64,
    /// The lesson drop-out chance's factor from the onboarding experiment.
    drop_factor: f64,
}

impl Journey<'_> {
    fn push(&mut self, at_ms: i64, course: Option<u16>, reg: Option<Uuid>, kind: Kind) -> Uuid {
        self.push_exposed(at_ms, course, reg, kind, None)
    }

    fn push_exposed(
        &mut self,
        at_ms: i64,
        course: Option<u16>,
        registration: Option<Uuid>,
        kind: Kind,
        exposure: Option<Exposure>,
    ) -> Uuid {
        let id = self.rng.uuid();
        self.out.push(Event {
            at_ms,
            id,
            actor: Actor::Learner(self.n),
            course,
            registration,
            kind,
            exposure,
        });
        id
    }

    fn void(&mut self, at_ms: i64, target: Uuid) {
        let id = self.rng.uuid();
        self.out.push(void(at_ms, id, target));
    }

    /// The checkout before an enrolment: the purchase's id, or None for a
    /// free enrolment or a defective record (nothing to refund).
    fn checkout(&mut self, t: i64, c: u16, course: &Course, reg: Option<Uuid>) -> Option<Uuid> {
        if self.rng.chance(SCHOLARSHIP) {
            return None;
        }
        let defect = if self.rng.chance(DEFECTIVE_PURCHASE) {
            Some(
                [
                    Defect::LowercaseCurrency,
                    Defect::AmountAsText,
                    Defect::NoCurrency,
                ][self.rng.range(0, 2) as usize],
            )
        } else {
            None
        };
        let kind = Kind::Purchased {
            amount: course.price.amount,
            currency: course.price.currency,
            defect,
        };
        let id = self.push(t, Some(c), reg, kind.clone());
        if self.rng.chance(DUPLICATE_PURCHASE) {
            let copy_at = t + self.rng.range(1, 30) * 1000;
            let copy = self.push(copy_at, Some(c), reg, kind);
            let void_at = copy_at + self.rng.range(20, 48 * 60) * MINUTE;
            self.void(void_at, copy);
        }
        defect.is_none().then_some(id)
    }

    fn refund(
        &mut self,
        at_ms: i64,
        c: u16,
        course: &Course,
        reg: Option<Uuid>,
        purchase: Uuid,
        amount: u32,
    ) {
        let kind = Kind::Refunded {
            amount,
            currency: course.price.currency,
            purchase,
        };
        self.push(at_ms, Some(c), reg, kind);
    }

    fn survey(&mut self, at_ms: i64, c: u16, reg: Option<Uuid>, survey: Survey, raw: f64) {
        let raw = raw.round() as u8;
        self.push(at_ms, Some(c), reg, Kind::Survey { survey, raw });
    }

    /// Lessons, drop-off, assessment and surveys of one course from its
    /// enrolment at `*t`; `*t` ends at the learner's last event in it.
    fn take(&mut self, t: &mut i64, c: u16, course: &Course, reg: Option<Uuid>) -> Outcome {
        let ci = Some(c);
        let grit = self.grit;
        let drop_chance = (0.04 + 0.26 * (1.0 - grit)) * self.drop_factor;
        let pace_days = 0.6 + 2.4 * (1.0 - grit);
        let mut mistake_done = false;
        for lesson in 0..course.lessons {
            if lesson > 0 {
                if self.rng.chance(drop_chance) {
                    return Outcome::Dropped { lessons: lesson };
                }
                *t += (self.rng.exponential(pace_days) * DAY as f64) as i64 + 10 * MINUTE;
            } else {
                *t += self.rng.range(1, 30) * MINUTE;
            }
            self.push(*t, ci, reg, Kind::LessonLaunched { lesson });
            let seconds = self.rng.range(8 * 60, 50 * 60) as u32;
            *t += seconds as i64 * 1000;
            self.push(*t, ci, reg, Kind::LessonCompleted { lesson, seconds });
            if lesson == course.lessons / 2 && self.rng.chance(0.7) {
                let raw = self.rng.normal(2.2 + 2.8 * grit, 0.8, 1.0, 5.0);
                *t += self.rng.range(1, 5) * MINUTE;
                self.survey(*t, c, reg, Survey::Csat, raw);
            }
            if !mistake_done && lesson == 1 && self.rng.chance(0.04) {
                // A faulty player reports the whole course completed; the
                // registrar notices and voids it hours later.
                mistake_done = true;
                let at = *t + self.rng.range(1, 10) * 1000;
                let target = self.push(at, ci, reg, Kind::Mistake);
                let void_at = at + self.rng.range(20, 48 * 60) * MINUTE;
                self.void(void_at, target);
            }
        }
        // The final assessment: up to three attempts.
        let mut passed = false;
        let mut best = 0.0f64;
        for attempt in 1..=3u8 {
            *t += (self.rng.exponential(1.5) * DAY as f64) as i64 + 30 * MINUTE;
            let mean = 0.5 + 0.35 * grit + 0.06 * attempt as f64;
            let scaled = (self.rng.normal(mean, 0.14, 0.0, 1.0) * 100.0).round() / 100.0;
            passed = scaled >= 0.7;
            best = best.max(scaled);
            let seconds = self.rng.range(15 * 60, 60 * 60) as u32;
            *t += seconds as i64 * 1000;
            let kind = Kind::Assessment {
                scaled,
                passed,
                attempt,
                seconds,
            };
            self.push(*t, ci, reg, kind);
            if attempt == 1 && self.rng.chance(0.6) {
                let raw = self.rng.normal(2.5 + 4.0 * scaled, 1.0, 1.0, 7.0);
                self.survey(*t + 2 * MINUTE, c, reg, Survey::Ces, raw);
            }
            if passed || !self.rng.chance(0.7) {
                break;
            }
        }
        if passed {
            *t += self.rng.range(1, 5) * 1000;
            self.push(*t, ci, reg, Kind::CourseCompleted { scaled: best });
        }
        if self.rng.chance(0.55) {
            let mean = if passed {
                6.5 + 3.0 * grit
            } else {
                3.0 + 3.0 * grit
            };
            let raw = self.rng.normal(mean, 1.8, 0.0, 10.0);
            *t += self.rng.range(5, 120) * MINUTE;
            self.survey(*t, c, reg, Survey::Nps, raw);
        }
        if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
    }
}

/// A learner's journey. Events after the period's end are cut off (the
/// learner is still going when the data ends).
pub fn learner(
    n: u32,
    rng: &mut SimRng,
    courses: &[Course],
    period: Period,
    assignment: &Assignment,
) -> Vec<Event> {
    // Arrivals: a steady trickle plus monthly campaigns (cohort waves), over
    // the first 90% of the period so late cohorts still have some history.
    let span = period.days() * 0.9;
    let day = if rng.chance(0.4) {
        let campaigns = (span / 30.0).floor().max(1.0) as i64;
        let c = rng.range(0, campaigns - 1) as f64;
        (c * 30.0 + rng.exponential(3.0)).min(span)
    } else {
        rng.unit() * span
    };
    // Daytime, local-ish: 07:00 to 23:00 UTC.
    let mut t = period.start_ms
        + (day.floor() as i64) * DAY
        + 7 * HOUR
        + rng.range(0, 16 * 60 - 1) * MINUTE;
    let grit = rng.unit();
    let mut j = Journey {
        n,
        rng,
        out: Vec::new(),
        grit,
        drop_factor: if assignment.treated() {
            TREATMENT_DROP_FACTOR
        } else {
            1.0
        },
    };
    let onboarding = Some(assignment.onboarding());
    j.push_exposed(t, None, None, Kind::FirstVisit, onboarding);

    let weights: Vec<f64> = courses.iter().map(|c| c.popularity).collect();
    let most = MAX_COURSES.min(courses.len());
    let mut taken: Vec<usize> = Vec::new();
    // First enrolment minutes to days after the first visit (time to first value).
    t += 5 * MINUTE + (j.rng.exponential(0.8) * DAY as f64) as i64;
    while taken.len() < most {
        let c = loop {
            let c = j.rng.weighted(&weights);
            if !taken.contains(&c) {
                break c;
            }
        };
        let nth = taken.len();
        taken.push(c);
        let course = &courses[c];
        let ci = c as u16;
        let reg = Some(j.rng.uuid());
        let bought_at = t;
        let purchase = j.checkout(t, ci, course, reg);
        t += j.rng.range(2, 20) * 1000;
        let button = Some(assignment.button(nth));
        j.push_exposed(t, Some(ci), reg, Kind::Registered, button);
        let outcome = j.take(&mut t, ci, course, reg);
        match (outcome, purchase) {
            (Outcome::Dropped { lessons }, Some(p)) if lessons <= 2 => {
                // Early leavers ask for their money back, inside the window.
                let at = t + j.rng.range(1, 72) * HOUR;
                if j.rng.chance(EARLY_REFUND) && at < bought_at + REFUND_WINDOW {
                    j.refund(at, ci, course, reg, p, course.price.amount);
                    t = at;
                }
            }
            (Outcome::Failed, Some(p)) if j.rng.chance(GOODWILL_REFUND) => {
                t += j.rng.range(1, 5) * DAY;
                j.refund(t, ci, course, reg, p, course.price.amount / 2);
            }
            _ => {}
        }
        if matches!(outcome, Outcome::Dropped { .. }) && j.rng.chance(0.2) {
            // Some leavers still answer the recommendation survey.
            let raw = j.rng.normal(3.0 + 4.0 * grit, 2.0, 0.0, 10.0);
            t += j.rng.range(1, 3) * DAY;
            j.survey(t, ci, reg, Survey::Nps, raw);
        }
        let next = if outcome == Outcome::Passed {
            NEXT_AFTER_PASS
        } else {
            NEXT_OTHERWISE
        };
        if !j.rng.chance(next) {
            break;
        }
        // The next course is bought weeks later (lifetime value keeps
        // growing months after the first purchase).
        t += (j.rng.exponential(NEXT_GAP_DAYS) * DAY as f64) as i64 + HOUR;
    }
    let mut out = j.out;
    out.retain(|e| e.at_ms < period.end_ms);
    out
}

fn void(at_ms: i64, id: Uuid, target: Uuid) -> Event {
    Event {
        at_ms,
        id,
        actor: Actor::Registrar,
        course: None,
        registration: None,
        kind: Kind::Voided { target },
        exposure: None,
    }
}

/// A course's study groups attending its weekly live sessions: two groups
/// per course, of two to four learners, one identified by a mailbox and one
/// anonymous.
pub fn study_groups(course: u16, rng: &mut SimRng, learners: u32, period: Period) -> Vec<Event> {
    let mut out = Vec::new();
    if learners == 0 {
        return out;
    }
    let groups: Vec<(u32, Vec<u32>, bool)> = (0..2u32)
        .map(|g| {
            let size = rng.range(2, 4.min(learners as i64).max(2)) as usize;
            let mut members = Vec::with_capacity(size);
            while members.len() < size.min(learners as usize) {
                let m = rng.range(0, learners as i64 - 1) as u32;
                if !members.contains(&m) {
                    members.push(m);
                }
            }
            (course as u32 * 2 + g, members, g == 0)
        })
        .collect();
    let weeks = (period.days() / 7.0).floor() as u32;
    for week in 0..weeks {
        for (number, members, identified) in &groups {
            if rng.chance(0.7) {
                let at = period.start_ms
                    + week as i64 * 7 * DAY
                    + rng.range(0, 6) * DAY
                    + 17 * HOUR
                    + rng.range(0, 120) * MINUTE;
                out.push(Event {
                    at_ms: at,
                    id: rng.uuid(),
                    actor: Actor::Group(*number, members.clone(), *identified),
                    course: Some(course),
                    registration: None,
                    kind: Kind::LiveSession { week },
                    exposure: None,
                });
            }
        }
    }
    out.retain(|e| e.at_ms < period.end_ms);
    out
}
