//! The Activities the state holds as scopes, with the learners enrolled in
//! each as of an instant: what a scope picker lists.

use crate::cx::state::{State, GLOBAL};

/// Every Activity scope with at least one learner enrolled as of `as_of`,
/// as (IRI, enrolled), most enrolled first, then by IRI.
pub fn activity_scopes(state: &State, as_of: i64) -> Vec<(String, usize)> {
    let mut ranked: Vec<(String, usize)> = (0..state.scope_names.len())
        .filter_map(|i| u32::try_from(i).ok())
        .filter(|&id| id != GLOBAL)
        .filter_map(|id| {
            let rows = &state.scope_state(id)?.rows;
            let enrolled = rows.iter().filter(|r| r.e <= as_of).count();
            (enrolled > 0).then(|| (state.scope_names.name(id).to_owned(), enrolled))
        })
        .collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cx::metrics_tests::{at, f, index, C, EXPERIENCED, LESSON};

    #[test]
    fn scopes_are_ranked_by_enrolled_learners_as_of_the_instant() {
        let (state, _) = index(&[
            f(1, "ana", 0.0, EXPERIENCED, LESSON),
            f(2, "ben", 2.0, EXPERIENCED, LESSON),
            f(3, "ben", 3.0, EXPERIENCED, C),
        ]);
        // The lesson's statements count in the course (its parent) too.
        assert_eq!(
            activity_scopes(&state, at(1.0)),
            vec![(C.to_owned(), 1), (LESSON.to_owned(), 1)]
        );
        assert_eq!(
            activity_scopes(&state, at(5.0)),
            vec![(C.to_owned(), 2), (LESSON.to_owned(), 2)]
        );
        assert!(activity_scopes(&state, at(-1.0)).is_empty());
    }
}
