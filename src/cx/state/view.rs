//! Reading one scope of a state: its rows, and each row's learner entries
//! filtered to the scope.

use std::sync::OnceLock;

use super::*;

fn no_learner() -> &'static Learner {
    static EMPTY: OnceLock<Learner> = OnceLock::new();
    EMPTY.get_or_init(Learner::default)
}

/// A scope of a state, ready to answer questions about its learners.
pub struct ScopeView<'a> {
    pub state: &'a State,
    pub id: u32,
    pub data: &'a ScopeState,
    /// Per context set id, whether it contains the scope.
    member: Vec<bool>,
}

impl<'a> ScopeView<'a> {
    /// The scope of `activity` (`None`: global); `None` for an Activity
    /// the state has never seen.
    pub fn new(state: &'a State, activity: Option<&str>) -> Option<ScopeView<'a>> {
        let id = state.scope_id(activity)?;
        let data = state.scope_state(id)?;
        let mut member = vec![false; state.ctxsets.len()];
        for &c in &data.ctxsets {
            if let Some(m) = member.get_mut(c as usize) {
                *m = true;
            }
        }
        Some(ScopeView {
            state,
            id,
            data,
            member,
        })
    }

    pub fn is_global(&self) -> bool {
        self.id == GLOBAL
    }

    /// Whether a statement with this object and context set is in scope.
    pub fn contains(&self, object: u32, ctx: u32) -> bool {
        self.id == GLOBAL
            || object == self.id
            || self.member.get(ctx as usize).copied().unwrap_or(false)
    }

    pub fn rows(&self) -> impl Iterator<Item = &'a Row> + 'a {
        self.data.rows.iter()
    }

    /// The rows of learners enrolled at `as_of`.
    pub fn enrolled(&self, as_of: i64) -> impl Iterator<Item = &'a Row> + 'a {
        self.data.rows.iter().filter(move |r| r.e <= as_of)
    }

    pub fn learner(&self, lid: u32) -> &'a Learner {
        match self.state.learner(lid) {
            Some(l) => l,
            None => no_learner(),
        }
    }

    /// The learner's entries in the scope with time in `[from, to]`, in
    /// (time, seq) order.
    pub fn entries_between(
        &self,
        lid: u32,
        from: i64,
        to: i64,
    ) -> impl DoubleEndedIterator<Item = &'a Entry> + '_ {
        let entries = &self.learner(lid).entries;
        let a = entries.partition_point(|e| e.time < from);
        let b = entries.partition_point(|e| e.time <= to).max(a);
        entries
            .get(a..b)
            .unwrap_or_default()
            .iter()
            .filter(move |e| self.contains(e.object, e.ctx))
    }

    /// The last event time at or before `as_of` of an enrolled row (the row
    /// answers when its last activity is not after `as_of`).
    pub fn last_at(&self, row: &Row, as_of: i64) -> i64 {
        if row.last <= as_of {
            return row.last;
        }
        self.entries_between(row.lid, row.e, as_of)
            .next_back()
            .map_or(row.e, |e| e.time)
    }

    /// The first time the row's learner reached competency on the scope's
    /// own Activity at `threshold`.
    pub fn competent_at(&self, row: &Row, threshold: f64) -> i64 {
        if threshold == self.data.threshold {
            return row.k;
        }
        let learner = self.learner(row.lid);
        let resolved = &self.state.resolved;
        learner
            .entries
            .iter()
            .filter(|e| e.object == self.id)
            .find(|e| {
                let scaled = if e.flags & FLAG_SCORE != 0 {
                    learner
                        .extra(e.key())
                        .map(|x| x.scaled)
                        .filter(|s| !s.is_nan())
                } else {
                    None
                };
                resolved.competent(e.verb, e.flags, scaled, threshold)
            })
            .map_or(NEVER, |e| e.time)
    }

    /// The Groups' statements in the scope with time in `[from, to]`.
    pub fn groups_between(&self, from: i64, to: i64) -> impl Iterator<Item = &'a GroupEntry> + '_ {
        self.state
            .groups
            .range(|g| g.time < from, |g| g.time <= to)
            .filter(move |g| self.contains(g.object, g.ctx))
    }
}
