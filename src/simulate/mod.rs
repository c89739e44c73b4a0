//! The learner simulator behind `trellis simulate`: a deterministic, seeded
//! population of learners taking courses, rendered as xAPI statements.
//!
//! The same `Params` (seed, sizes and start date) give byte-identical
//! output: every random draw comes from ChaCha8 streams derived from the
//! seed (`rng.rs`), statement ids included.
//!
//! - `catalog.rs`: the school (programs, courses with lessons and prices,
//!   surveys) and the people (learner identities of every IFI kind, study
//!   groups).
//! - `experiments.rs`: the A/B tests and who sees which variant.
//! - `journey.rs`: what happens, as compact timed events.
//! - `render.rs`: events as xAPI statements, following the CX xAPI Profile
//!   (`schemas/cx-profile.jsonld`) for surveys, purchases, refunds and
//!   exposures.

pub mod catalog;
pub mod experiments;
pub mod journey;
pub mod render;
pub mod rng;

use chrono::NaiveDate;

use catalog::Course;
use experiments::Assignment;
use journey::{Event, Kind, Period};
use rng::SimRng;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub seed: u64,
    pub learners: u32,
    pub courses: u16,
    pub days: u32,
    /// The first simulated day (UTC midnight).
    pub start: NaiveDate,
}

/// A generated population: its events in time order (ties by id), ready to
/// be rendered one statement at a time.
pub struct Simulation {
    courses: Vec<Course>,
    events: Vec<Event>,
}

/// Stream numbers: 0..2^32 learners, then one per course for study groups,
/// then from 2^33 one per learner for its experiment variants.
const GROUP_STREAMS: u64 = 1 << 32;
const ASSIGNMENT_STREAMS: u64 = 1 << 33;

impl Simulation {
    pub fn generate(params: &Params) -> Simulation {
        let courses = catalog::courses(params.courses.max(1) as usize);
        let start_ms = params
            .start
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default();
        let period = Period {
            start_ms,
            end_ms: start_ms + params.days.max(1) as i64 * 86_400_000,
        };
        let mut events = Vec::new();
        for n in 0..params.learners {
            let assignment =
                Assignment::draw(&mut SimRng::new(params.seed, ASSIGNMENT_STREAMS + n as u64));
            let mut rng = SimRng::new(params.seed, n as u64);
            events.extend(journey::learner(n, &mut rng, &courses, period, &assignment));
        }
        for c in 0..courses.len() as u16 {
            let mut rng = SimRng::new(params.seed, GROUP_STREAMS + c as u64);
            events.extend(journey::study_groups(c, &mut rng, params.learners, period));
        }
        // A voiding event always comes later than its target, so time order
        // sends targets first.
        events.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.id.cmp(&b.id)));
        Simulation { courses, events }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// What the first `first` statements hold, by kind.
    pub fn tally(&self, first: usize) -> Tally {
        let mut t = Tally::default();
        for e in self.events.iter().take(first) {
            match &e.kind {
                Kind::Purchased { defect, .. } => {
                    t.purchases += 1;
                    t.invalid += defect.is_some() as usize;
                }
                Kind::Refunded { .. } => t.refunds += 1,
                Kind::Voided { .. } => t.voids += 1,
                _ => {}
            }
            t.exposures += e.exposure.is_some() as usize;
        }
        t
    }

    /// The statements, in time order, as JSON values.
    pub fn statements(&self) -> impl Iterator<Item = serde_json::Value> + '_ {
        self.events
            .iter()
            .map(|e| render::statement(e, &self.courses))
    }
}

/// Counts of the Part 2 statements (and voids) in a simulation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Purchase statements, the invalid and the voided duplicates included.
    pub purchases: usize,
    /// Purchase statements with a malformed amount or currency.
    pub invalid: usize,
    pub refunds: usize,
    /// Statements carrying an experiment exposure.
    pub exposures: usize,
    pub voids: usize,
}

#[cfg(test)]
mod profile_tests;
#[cfg(test)]
mod tests;
