//! What happens to the population, as compact events in time: each learner's
//! journey (first visit, enrolments, lessons, drop-off, assessment attempts,
//! completion, surveys, statements recorded by mistake and their voiding) and
//! the study groups' live sessions. Rendering to xAPI is `render.rs`'s job.

use uuid::Uuid;

use super::catalog::{Course, Survey};
use super::rng::SimRng;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Who a statement is by.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Learner(u32),
    /// A study group: `(group number, member learners, identified)`.
    Group(u32, Vec<u32>, bool),
    Registrar,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The onboarding tour: a learner's first touch, outside any course.
    FirstVisit,
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

/// A learner's journey. Events after the period's end are cut off (the
/// learner is still going when the data ends).
pub fn learner(n: u32, rng: &mut SimRng, courses: &[Course], period: Period) -> Vec<Event> {
    let mut out = Vec::new();
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
    // Grit: 0 (drops at once) to 1 (finishes everything).
    let grit = rng.unit();
    let push = |out: &mut Vec<Event>,
                rng: &mut SimRng,
                at_ms: i64,
                course: Option<u16>,
                registration: Option<Uuid>,
                kind: Kind| {
        out.push(Event {
            at_ms,
            id: rng.uuid(),
            actor: Actor::Learner(n),
            course,
            registration,
            kind,
        });
    };
    push(&mut out, rng, t, None, None, Kind::FirstVisit);

    let weights: Vec<f64> = courses.iter().map(|c| c.popularity).collect();
    let wanted = match rng.weighted(&[0.62, 0.27, 0.11]) {
        0 => 1,
        1 => 2,
        _ => 3,
    }
    .min(courses.len());
    let mut taken: Vec<usize> = Vec::new();
    // First enrolment minutes to days after the first visit (time to first value).
    t += 5 * MINUTE + (rng.exponential(0.8) * DAY as f64) as i64;
    while taken.len() < wanted {
        let c = loop {
            let c = rng.weighted(&weights);
            if !taken.contains(&c) {
                break c;
            }
        };
        taken.push(c);
        let course = &courses[c];
        let ci = Some(c as u16);
        let reg = Some(rng.uuid());
        push(&mut out, rng, t, ci, reg, Kind::Registered);
        let drop_chance = 0.03 + 0.22 * (1.0 - grit);
        let pace_days = 0.6 + 2.4 * (1.0 - grit);
        let mut dropped = false;
        let mut mistake_done = false;
        for lesson in 0..course.lessons {
            if lesson > 0 {
                if rng.chance(drop_chance) {
                    dropped = true;
                    break;
                }
                t += (rng.exponential(pace_days) * DAY as f64) as i64 + 10 * MINUTE;
            } else {
                t += rng.range(1, 30) * MINUTE;
            }
            push(&mut out, rng, t, ci, reg, Kind::LessonLaunched { lesson });
            let seconds = rng.range(8 * 60, 50 * 60) as u32;
            t += seconds as i64 * 1000;
            push(
                &mut out,
                rng,
                t,
                ci,
                reg,
                Kind::LessonCompleted { lesson, seconds },
            );
            if lesson == course.lessons / 2 && rng.chance(0.7) {
                let raw = rng.normal(2.2 + 2.8 * grit, 0.8, 1.0, 5.0).round() as u8;
                t += rng.range(1, 5) * MINUTE;
                push(
                    &mut out,
                    rng,
                    t,
                    ci,
                    reg,
                    Kind::Survey {
                        survey: Survey::Csat,
                        raw,
                    },
                );
            }
            if !mistake_done && lesson == 1 && rng.chance(0.04) {
                // A faulty player reports the whole course completed; the
                // registrar notices and voids it hours later.
                mistake_done = true;
                let at = t + rng.range(1, 10) * 1000;
                let target = rng.uuid();
                out.push(Event {
                    at_ms: at,
                    id: target,
                    actor: Actor::Learner(n),
                    course: ci,
                    registration: reg,
                    kind: Kind::Mistake,
                });
                let void_at = at + rng.range(20, 48 * 60) * MINUTE;
                push_void(&mut out, rng, void_at, target);
            }
        }
        if dropped {
            if rng.chance(0.2) {
                // Some leavers still answer the recommendation survey.
                let raw = rng.normal(3.0 + 4.0 * grit, 2.0, 0.0, 10.0).round() as u8;
                t += rng.range(1, 3) * DAY;
                push(
                    &mut out,
                    rng,
                    t,
                    ci,
                    reg,
                    Kind::Survey {
                        survey: Survey::Nps,
                        raw,
                    },
                );
            }
            if !rng.chance(0.3) {
                break;
            }
        } else {
            // The final assessment: up to three attempts.
            let mut passed = false;
            let mut best = 0.0f64;
            for attempt in 1..=3u8 {
                t += (rng.exponential(1.5) * DAY as f64) as i64 + 30 * MINUTE;
                let scaled =
                    (rng.normal(0.5 + 0.35 * grit + 0.06 * attempt as f64, 0.14, 0.0, 1.0) * 100.0)
                        .round()
                        / 100.0;
                passed = scaled >= 0.7;
                best = best.max(scaled);
                let seconds = rng.range(15 * 60, 60 * 60) as u32;
                t += seconds as i64 * 1000;
                push(
                    &mut out,
                    rng,
                    t,
                    ci,
                    reg,
                    Kind::Assessment {
                        scaled,
                        passed,
                        attempt,
                        seconds,
                    },
                );
                if attempt == 1 && rng.chance(0.6) {
                    let raw = rng.normal(2.5 + 4.0 * scaled, 1.0, 1.0, 7.0).round() as u8;
                    push(
                        &mut out,
                        rng,
                        t + 2 * MINUTE,
                        ci,
                        reg,
                        Kind::Survey {
                            survey: Survey::Ces,
                            raw,
                        },
                    );
                }
                if passed || !rng.chance(0.7) {
                    break;
                }
            }
            if passed {
                t += rng.range(1, 5) * 1000;
                push(
                    &mut out,
                    rng,
                    t,
                    ci,
                    reg,
                    Kind::CourseCompleted { scaled: best },
                );
            }
            if rng.chance(0.55) {
                let mean = if passed {
                    6.5 + 3.0 * grit
                } else {
                    3.0 + 3.0 * grit
                };
                let raw = rng.normal(mean, 1.8, 0.0, 10.0).round() as u8;
                t += rng.range(5, 120) * MINUTE;
                push(
                    &mut out,
                    rng,
                    t,
                    ci,
                    reg,
                    Kind::Survey {
                        survey: Survey::Nps,
                        raw,
                    },
                );
            }
        }
        // The next course starts some days later.
        t += (rng.exponential(6.0) * DAY as f64) as i64 + HOUR;
    }
    out.retain(|e| e.at_ms < period.end_ms);
    out
}

fn push_void(out: &mut Vec<Event>, rng: &mut SimRng, at_ms: i64, target: Uuid) {
    out.push(Event {
        at_ms,
        id: rng.uuid(),
        actor: Actor::Registrar,
        course: None,
        registration: None,
        kind: Kind::Voided { target },
    });
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
                });
            }
        }
    }
    out.retain(|e| e.at_ms < period.end_ms);
    out
}
