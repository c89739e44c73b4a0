//! Changing the state fact by fact: `State::insert` adds a counted
//! statement, `State::retract` takes one back (a voided statement). Both
//! keep every derived part (rows, day counts, answers) equal to what a
//! build from the remaining facts gives.

use std::sync::Arc;

use std::collections::btree_map::Entry as Slot;
use std::collections::BTreeMap;

use super::pvec::{PVec, Run};
use super::*;
use crate::cx::facts::Fact;
use crate::cx::metrics::SurveyKind;
use crate::cx::period::{day_of, Period};

/// The periods that count active learners: a statement's day, ISO week and
/// month, as (index, start, end) in microseconds.
fn periods_of(day: i64) -> [(i64, i64, i64); 3] {
    [Period::Day, Period::Week, Period::Month].map(|p| {
        let i = p.index_of_day(day);
        (i, p.start_of_index(i), p.start_of_index(i + 1))
    })
}

fn member(ctxsets: &PVec<Arc<[u32]>>, s: u32, object: u32, ctx: u32) -> bool {
    s == GLOBAL || object == s || ctxsets.get(ctx as usize).is_some_and(|c| c.contains(&s))
}

/// Whether the learner has an entry in scope `s` with time in `[from, to)`.
fn active_between(
    entries: &[Entry],
    ctxsets: &PVec<Arc<[u32]>>,
    s: u32,
    from: i64,
    to: i64,
) -> bool {
    let i = entries.partition_point(|e| e.time < from);
    entries
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|e| e.time < to)
        .any(|e| member(ctxsets, s, e.object, e.ctx))
}

/// Inserts, growing by a quarter rather than doubling: learners' vectors
/// are many and small, and a doubled capacity would be mostly empty.
fn insert_at<T>(v: &mut Vec<T>, i: usize, x: T) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(4));
    }
    v.insert(i, x);
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u32>, key: K, delta: i64) {
    match map.entry(key) {
        Slot::Occupied(mut o) => {
            let n = i64::from(*o.get()) + delta;
            if n <= 0 {
                o.remove();
            } else {
                *o.get_mut() = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        Slot::Vacant(v) => {
            if delta > 0 {
                v.insert(u32::try_from(delta).unwrap_or(u32::MAX));
            }
        }
    }
}

fn bump_day(days: &mut BTreeMap<i64, DayStat>, day: i64, f: impl FnOnce(&mut DayStat)) {
    let stat = days.entry(day).or_default();
    f(stat);
    if *stat == DayStat::default() {
        days.remove(&day);
    }
}

fn add(n: u32, delta: i64) -> u32 {
    u32::try_from((i64::from(n) + delta).max(0)).unwrap_or(u32::MAX)
}

/// Counts one statement more (or less) in a scope's day and verb totals.
fn count_statement(scope: &mut ScopeState, day: i64, verb: u32, delta: i64) {
    bump_day(&mut scope.days, day, |d| {
        d.statements = add(d.statements, delta)
    });
    bump(&mut scope.verbs, (day, verb), delta);
}

/// Moves a row's enrolment day count when its enrolment changed.
fn move_enrolment(scope: &mut ScopeState, old: i64, new: i64) {
    if old == new {
        return;
    }
    if old != NEVER {
        bump_day(&mut scope.days, day_of(old), |d| {
            d.enrolled = add(d.enrolled, -1)
        });
    }
    if new != NEVER {
        bump_day(&mut scope.days, day_of(new), |d| {
            d.enrolled = add(d.enrolled, 1)
        });
    }
}

/// Moves a learner in the index of second purchases.
fn move_repeat(repeats: &mut Run<(i64, u32)>, lid: u32, before: i64, after: i64) {
    if before == after {
        return;
    }
    if before != NEVER {
        repeats.remove(&(before, lid));
    }
    if after != NEVER {
        repeats.insert((after, lid));
    }
}

/// A learner's row in scope `s`, recomputed from its entries.
fn summarize(
    learner: &Learner,
    ctxsets: &PVec<Arc<[u32]>>,
    resolved: &Resolved,
    s: u32,
    threshold: f64,
    lid: u32,
) -> Row {
    let mut row = Row::empty(lid);
    for e in &learner.entries {
        if !member(ctxsets, s, e.object, e.ctx) {
            continue;
        }
        if row.e == NEVER {
            row.e = e.time;
        } else if row.a == NEVER && day_of(e.time) > day_of(row.e) {
            row.a = e.time;
        }
        row.last = e.time;
        if e.object == s {
            if row.c == NEVER && resolved.completes(e.verb, e.flags) {
                row.c = e.time;
            }
            if row.k == NEVER {
                let scaled = learner
                    .extra(e.key())
                    .map(|x| x.scaled)
                    .filter(|x| !x.is_nan());
                if resolved.competent(e.verb, e.flags, scaled, threshold) {
                    row.k = e.time;
                }
            }
        }
    }
    row
}

impl State {
    /// Adds a counted statement; false (and no change) when a statement
    /// with its learner and (time, seq) is already held.
    pub fn insert(&mut self, fact: &Fact) -> bool {
        let verb = self.verb(&fact.verb);
        let object = fact.object.as_deref().map_or(NONE, |o| self.scope(o));
        let context: Vec<u32> = fact.context.iter().map(|c| self.scope(c)).collect();
        let ctx = self.ctxset(context);
        let otype = fact
            .activity_type
            .as_deref()
            .map_or(NONE, |t| self.activity_type(t));
        let mut scopes = vec![GLOBAL];
        if object != NONE && object != GLOBAL {
            scopes.push(object);
        }
        for &c in self.ctxset_members(ctx) {
            if !scopes.contains(&c) {
                scopes.push(c);
            }
        }
        let (time, seq) = (fact.time, fact.seq);
        let day = day_of(time);
        let Some(key) = fact.learner.as_deref() else {
            let group = GroupEntry {
                time,
                seq,
                verb,
                object,
                ctx,
            };
            if self.groups.find(&group).is_some() {
                return false;
            }
            self.groups.insert(group);
            for &s in &scopes {
                if let Some(scope) = self.scopes.get_mut(s as usize) {
                    count_statement(Arc::make_mut(scope), day, verb, 1);
                }
            }
            self.counted += 1;
            return true;
        };
        let (lid, new) = self.learner_names.intern(key);
        if new {
            self.learners.push(Arc::new(Learner::default()));
        }
        let currency = fact
            .purchase
            .as_ref()
            .and_then(|p| p.valid.as_ref())
            .map(|(_, c)| self.currencies.intern(c).0);
        let exposure = fact.exposure.as_ref().map(|x| {
            let (experiment, new) = self.experiment_names.intern(&x.experiment);
            if new {
                self.experiments.push(Run::default());
            }
            (experiment, self.variants.intern(&x.variant).0)
        });
        let State {
            learners,
            scopes: scope_states,
            ctxsets,
            resolved,
            experiments,
            sales,
            repeats,
            ..
        } = self;
        let Some(slot) = learners.get_mut(lid as usize) else {
            return false;
        };
        let learner = Arc::make_mut(slot);
        let at = match learner
            .entries
            .binary_search_by(|e| e.key().cmp(&(time, seq)))
        {
            Ok(_) => return false,
            Err(at) => at,
        };
        let mut flags = 0;
        if fact.completion {
            flags |= FLAG_COMPLETION;
        }
        if fact.success {
            flags |= FLAG_SUCCESS;
        }
        if fact.scaled.is_some() || fact.raw.is_some() {
            flags |= FLAG_SCORE;
        }
        let completes = resolved.completes(verb, flags);
        let survey = resolved.survey_kind(otype).filter(|_| otype != NONE);
        let periods = periods_of(day);
        for &s in &scopes {
            let Some(scope) = scope_states.get_mut(s as usize) else {
                continue;
            };
            let scope = Arc::make_mut(scope);
            let row_at = match learner.row_in(s) {
                Some(r) => r,
                None => {
                    let r = scope.rows.push(Row::empty(lid)) as u32;
                    let i = learner.members.partition_point(|m| m.0 < s);
                    insert_at(&mut learner.members, i, (s, r));
                    r
                }
            };
            // Active learners, checked before the entry is added.
            let active =
                periods.map(|(_, from, to)| active_between(&learner.entries, ctxsets, s, from, to));
            bump_day(&mut scope.days, day, |d| {
                d.statements += 1;
                d.active += u32::from(!active[0]);
            });
            bump(&mut scope.verbs, (day, verb), 1);
            if !active[1] {
                bump(&mut scope.weeks, periods[1].0, 1);
            }
            if !active[2] {
                bump(&mut scope.months, periods[2].0, 1);
            }
            let threshold = scope.threshold;
            let Some(row) = scope.rows.get_mut(row_at as usize) else {
                continue;
            };
            let old_e = row.e;
            if row.e == NEVER {
                *row = Row {
                    e: time,
                    last: time,
                    ..Row::empty(lid)
                };
            } else {
                if time < row.e {
                    if day < day_of(row.e) {
                        row.a = row.e;
                    }
                    row.e = time;
                } else if day > day_of(row.e) {
                    row.a = row.a.min(time);
                }
                row.last = row.last.max(time);
            }
            if object == s {
                if completes {
                    row.c = row.c.min(time);
                }
                if resolved.competent(verb, flags, fact.scaled, threshold) {
                    row.k = row.k.min(time);
                }
            }
            let new_e = row.e;
            move_enrolment(scope, old_e, new_e);
            if let (Some(kind), Some(raw)) = (survey, fact.raw) {
                scope.answers.insert(Answer {
                    time,
                    seq,
                    row: row_at,
                    kind,
                    point: kind.point(raw).unwrap_or(INVALID_POINT),
                });
            }
        }
        insert_at(
            &mut learner.entries,
            at,
            Entry {
                time,
                seq,
                verb,
                object,
                otype,
                ctx,
                flags,
            },
        );
        if flags & FLAG_SCORE != 0 {
            let i = learner
                .extras
                .partition_point(|x| (x.time, x.seq) < (time, seq));
            insert_at(
                &mut learner.extras,
                i,
                Extra {
                    time,
                    seq,
                    scaled: fact.scaled.unwrap_or(f64::NAN),
                    raw: fact.raw.unwrap_or(f64::NAN),
                },
            );
        }
        if let Some(p) = &fact.purchase {
            let before = learner.second_purchase();
            let i = learner
                .purchases
                .partition_point(|x| (x.time, x.seq) < (time, seq));
            let purchase = Purchase {
                time,
                seq,
                refund: p.refund,
                valid: p.valid.is_some(),
                amount: p.valid.as_ref().map_or(0.0, |v| v.0),
                currency: currency.unwrap_or(NONE),
                object,
                ctx,
            };
            learner.purchases.insert(i, purchase);
            sales.insert(Sale { lid, purchase });
            move_repeat(repeats, lid, before, learner.second_purchase());
        }
        if let Some((experiment, variant)) = exposure {
            let i = learner
                .exposures
                .partition_point(|x| (x.time, x.seq) < (time, seq));
            learner.exposures.insert(
                i,
                Exposure {
                    time,
                    seq,
                    experiment,
                    variant,
                },
            );
            if let Some(run) = experiments.get_mut(experiment as usize) {
                run.insert(Exposed {
                    lid,
                    time,
                    seq,
                    variant,
                });
            }
        }
        self.counted += 1;
        true
    }

    /// Retracts the counted statement of `learner` (`None`: a Group) at
    /// (time, seq); false when it is not held.
    pub fn retract(&mut self, learner: Option<&str>, time: i64, seq: i64) -> bool {
        let day = day_of(time);
        let Some(key) = learner else {
            let probe = GroupEntry {
                time,
                seq,
                verb: 0,
                object: NONE,
                ctx: 0,
            };
            let Some(group) = self.groups.remove(&probe) else {
                return false;
            };
            for s in self.scopes_of(group.object, group.ctx) {
                if let Some(scope) = self.scopes.get_mut(s as usize) {
                    count_statement(Arc::make_mut(scope), day, group.verb, -1);
                }
            }
            self.counted -= 1;
            return true;
        };
        let Some(lid) = self.learner_names.get(key) else {
            return false;
        };
        let Some(held) = self.learner(lid).and_then(|l| {
            l.entries
                .binary_search_by(|e| e.key().cmp(&(time, seq)))
                .ok()
                .and_then(|i| l.entries.get(i).copied())
        }) else {
            return false;
        };
        let scopes = self.scopes_of(held.object, held.ctx);
        let State {
            learners,
            scopes: scope_states,
            ctxsets,
            resolved,
            experiments,
            sales,
            repeats,
            ..
        } = self;
        let Some(slot) = learners.get_mut(lid as usize) else {
            return false;
        };
        let learner = Arc::make_mut(slot);
        learner.entries.retain(|e| e.key() != (time, seq));
        learner.extras.retain(|x| (x.time, x.seq) != (time, seq));
        if let Some(i) = learner
            .purchases
            .iter()
            .position(|x| (x.time, x.seq) == (time, seq))
        {
            let before = learner.second_purchase();
            let purchase = learner.purchases.remove(i);
            sales.remove(&Sale { lid, purchase });
            move_repeat(repeats, lid, before, learner.second_purchase());
        }
        if let Some(i) = learner
            .exposures
            .iter()
            .position(|x| (x.time, x.seq) == (time, seq))
        {
            let x = learner.exposures.remove(i);
            if let Some(run) = experiments.get_mut(x.experiment as usize) {
                run.remove(&Exposed {
                    lid,
                    time,
                    seq,
                    variant: x.variant,
                });
            }
        }
        let periods = periods_of(day);
        for s in scopes {
            let Some(row_at) = learner.row_in(s) else {
                continue;
            };
            let Some(scope) = scope_states.get_mut(s as usize) else {
                continue;
            };
            let scope = Arc::make_mut(scope);
            let active =
                periods.map(|(_, from, to)| active_between(&learner.entries, ctxsets, s, from, to));
            bump_day(&mut scope.days, day, |d| {
                d.statements = add(d.statements, -1);
                d.active = add(d.active, -i64::from(!active[0]));
            });
            bump(&mut scope.verbs, (day, held.verb), -1);
            if !active[1] {
                bump(&mut scope.weeks, periods[1].0, -1);
            }
            if !active[2] {
                bump(&mut scope.months, periods[2].0, -1);
            }
            let row = summarize(learner, ctxsets, resolved, s, scope.threshold, lid);
            let Some(slot) = scope.rows.get_mut(row_at as usize) else {
                continue;
            };
            let old_e = std::mem::replace(slot, row).e;
            move_enrolment(scope, old_e, row.e);
            scope.answers.remove(&Answer {
                time,
                seq,
                row: row_at,
                kind: SurveyKind::Nps,
                point: 0,
            });
        }
        self.counted -= 1;
        true
    }

    /// The scopes of a statement with this object and context set: the
    /// global scope, the object Activity, the context Activities.
    pub fn scopes_of(&self, object: u32, ctx: u32) -> Vec<u32> {
        let mut scopes = vec![GLOBAL];
        if object != NONE && object != GLOBAL {
            scopes.push(object);
        }
        for &c in self.ctxset_members(ctx) {
            if !scopes.contains(&c) {
                scopes.push(c);
            }
        }
        scopes
    }
}
