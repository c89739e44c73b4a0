//! The A/B tests the simulated school runs, and who sees which variant.
//!
//! - `onboarding-checklist` (`control` / `treatment`): shown on the welcome
//!   tour, a learner's first statement. The treatment's checklist really
//!   helps: its learners drop out of lessons less often
//!   (`TREATMENT_DROP_FACTOR`), so they complete more courses (and, as
//!   finishers buy again more often, repurchase more).
//! - `enrol-button-colour` (`control` / `green` / `orange`): shown on every
//!   enrolment. Nothing in the journey reads it: a null result.
//!
//! Assignment is a fair coin (or die) per learner, drawn from a random
//! stream of its own (as an experimentation service hashing the learner id
//! would), so the split is even and no outcome depends on the variant except
//! through the effect the model gives it on purpose.

use super::rng::SimRng;

/// One experiment: its id and its variants (the first is the control).
#[derive(Debug, PartialEq, Eq)]
pub struct Experiment {
    pub id: &'static str,
    pub variants: &'static [&'static str],
}

pub static ONBOARDING: Experiment = Experiment {
    id: "onboarding-checklist",
    variants: &["control", "treatment"],
};

pub static BUTTON: Experiment = Experiment {
    id: "enrol-button-colour",
    variants: &["control", "green", "orange"],
};

/// The treatment's lesson drop-out chance, relative to the control's.
pub const TREATMENT_DROP_FACTOR: f64 = 0.65;

/// The share of learners whose button colour changes from their second
/// enrolment on (a cleared cookie): exposed to two variants, they are
/// *conflicted* and left out of the experiment's figures.
const BUTTON_CONFLICT: f64 = 0.003;

/// "This statement shows the learner saw `variant` of `experiment`."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub experiment: &'static str,
    pub variant: &'static str,
}

/// A learner's variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    onboarding: usize,
    button: usize,
    /// The button variant from the second enrolment on: `button` except
    /// for the few conflicted learners.
    button_later: usize,
}

impl Assignment {
    pub fn draw(rng: &mut SimRng) -> Assignment {
        let onboarding = rng.range(0, ONBOARDING.variants.len() as i64 - 1) as usize;
        let k = BUTTON.variants.len();
        let button = rng.range(0, k as i64 - 1) as usize;
        let button_later = if rng.chance(BUTTON_CONFLICT) {
            (button + rng.range(1, k as i64 - 1) as usize) % k
        } else {
            button
        };
        Assignment {
            onboarding,
            button,
            button_later,
        }
    }

    /// Whether the learner got the onboarding checklist.
    pub fn treated(&self) -> bool {
        ONBOARDING.variants[self.onboarding] == "treatment"
    }

    pub fn onboarding(&self) -> Exposure {
        Exposure {
            experiment: ONBOARDING.id,
            variant: ONBOARDING.variants[self.onboarding],
        }
    }

    /// The exposure on the learner's `nth` enrolment (from 0).
    pub fn button(&self, nth: usize) -> Exposure {
        let v = if nth == 0 {
            self.button
        } else {
            self.button_later
        };
        Exposure {
            experiment: BUTTON.id,
            variant: BUTTON.variants[v],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_splits_evenly_and_conflicts_are_rare() {
        let n = 30_000;
        let mut onboarding = [0usize; 2];
        let mut button = [0usize; 3];
        let mut conflicted = 0;
        for i in 0..n {
            let a = Assignment::draw(&mut SimRng::new(3, i));
            onboarding[a.onboarding] += 1;
            button[a.button] += 1;
            if a.button(0) != a.button(1) {
                conflicted += 1;
                assert_eq!(a.button(1), a.button(2));
            }
            assert_eq!(a.treated(), a.onboarding().variant == "treatment");
        }
        // Within 4 standard deviations of an even split.
        let even = |count: usize, k: usize| {
            let p = 1.0 / k as f64;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            (count as f64 - n as f64 * p).abs() < 4.0 * sd
        };
        assert!(onboarding.iter().all(|c| even(*c, 2)), "{onboarding:?}");
        assert!(button.iter().all(|c| even(*c, 3)), "{button:?}");
        assert!((40..=160).contains(&conflicted), "{conflicted}");
    }
}
