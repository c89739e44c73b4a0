//! The in-memory aggregated state: for every scope (the global scope and
//! each Activity IRI), the event times of each learner, the statements
//! whose object is the scope itself (completion and competency), survey
//! answers, and the scope's statements in event-time order. Built
//! incrementally from `Fact`s; a voided statement's fact is retracted by id.
//! Strings are interned so each learner, scope and verb is held once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::facts::Fact;
use super::period::Period;

/// Counts of one complete period of one scope (see `PeriodCache`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodTotals {
    pub statements: usize,
    pub active: usize,
    pub verbs: BTreeMap<u32, usize>,
}

/// Totals of periods that end at or before the `as_of` of the request
/// that computed them: such totals do not depend on `as_of`, so later
/// requests reuse them. Every insert or removal drops the entries of the
/// periods its event time falls in, so an entry always equals a
/// recomputation.
#[derive(Debug, Default)]
pub struct PeriodCache {
    entries: Mutex<HashMap<(u32, Period, i64), Arc<PeriodTotals>>>,
}

impl PeriodCache {
    /// Bound on entries; the cache is emptied when it is reached.
    const MAX_ENTRIES: usize = 200_000;

    pub fn get(&self, scope: u32, period: Period, start: i64) -> Option<Arc<PeriodTotals>> {
        self.entries
            .lock()
            .ok()?
            .get(&(scope, period, start))
            .cloned()
    }

    pub fn put(&self, scope: u32, period: Period, start: i64, totals: Arc<PeriodTotals>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert((scope, period, start), totals);
        }
    }

    fn forget(&mut self, scopes: &[u32], time: i64) {
        let entries = self.entries.get_mut().unwrap_or_else(|e| e.into_inner());
        if entries.is_empty() {
            return;
        }
        for period in Period::ALL {
            let start = period.start_of(time);
            for &s in scopes {
                entries.remove(&(s, period, start));
            }
        }
    }
}

/// The id of the global scope.
pub const GLOBAL: u32 = 0;

/// Strings to dense `u32` ids and back.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A statement of a scope, keyed in the scope by `(event time, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub learner: Option<u32>,
    pub verb: u32,
}

/// A statement whose object is the scope itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub time: i64,
    pub seq: i64,
    pub verb: u32,
    pub completion: bool,
    pub success: bool,
    pub scaled: Option<f64>,
}

/// A statement with `result.score.raw` on an Activity with a
/// `definition.type` (whether that type is a survey type is decided by
/// configuration when a metric is computed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub learner: u32,
    pub activity_type: u32,
    pub raw: f64,
}

/// One learner in one scope.
#[derive(Debug, Default)]
pub struct LearnerScope {
    /// `(event time, seq)` of each counted statement, sorted.
    pub times: Vec<(i64, i64)>,
    pub marks: Vec<Mark>,
}

impl LearnerScope {
    /// E(l, S) as of `as_of`.
    pub fn enrolment(&self, as_of: i64) -> Option<i64> {
        self.times.first().map(|t| t.0).filter(|&t| t <= as_of)
    }

    /// The last event time at or before `as_of`.
    pub fn last_activity(&self, as_of: i64) -> Option<i64> {
        let n = self.times.partition_point(|t| t.0 <= as_of);
        n.checked_sub(1).map(|i| self.times[i].0)
    }

    /// Whether some event time lies in `[from, as_of]`.
    pub fn active_between(&self, from: i64, as_of: i64) -> bool {
        let i = self.times.partition_point(|t| t.0 < from);
        self.times.get(i).is_some_and(|t| t.0 <= as_of)
    }
}

#[derive(Debug, Default)]
pub struct ScopeData {
    pub events: BTreeMap<(i64, i64), Event>,
    /// Learners' answers, keyed by `(event time, seq)`.
    pub answers: BTreeMap<(i64, i64), Answer>,
    pub learners: HashMap<u32, LearnerScope>,
}

/// A fact as held in memory, to retract it.
#[derive(Debug)]
struct Held {
    seq: i64,
    time: i64,
    learner: Option<u32>,
    object: Option<u32>,
    scopes: Box<[u32]>,
}

#[derive(Debug)]
pub struct Index {
    pub learners: Interner,
    pub scopes: Interner,
    pub verbs: Interner,
    pub types: Interner,
    held: HashMap<Uuid, Held>,
    data: Vec<ScopeData>,
    pub period_cache: PeriodCache,
}

impl Default for Index {
    fn default() -> Index {
        let mut scopes = Interner::default();
        scopes.intern("");
        Index {
            learners: Interner::default(),
            scopes,
            verbs: Interner::default(),
            types: Interner::default(),
            held: HashMap::new(),
            data: vec![ScopeData::default()],
            period_cache: PeriodCache::default(),
        }
    }
}

impl Index {
    /// The data of a scope: `None` is the global scope; an unknown IRI has
    /// no data.
    pub fn scope(&self, activity: Option<&str>) -> Option<&ScopeData> {
        match activity {
            None => Some(&self.data[GLOBAL as usize]),
            Some(iri) => self.scopes.get(iri).map(|id| &self.data[id as usize]),
        }
    }

    /// The id of a scope (`None` is the global scope).
    pub fn scope_id(&self, activity: Option<&str>) -> Option<u32> {
        match activity {
            None => Some(GLOBAL),
            Some(iri) => self.scopes.get(iri),
        }
    }

    pub fn global(&self) -> &ScopeData {
        &self.data[GLOBAL as usize]
    }

    /// Activity scopes (not the global one) with their data.
    pub fn activity_scopes(&self) -> impl Iterator<Item = (&str, &ScopeData)> {
        self.data
            .iter()
            .enumerate()
            .skip(1)
            .map(|(id, d)| (self.scopes.name(id as u32), d))
    }

    pub fn facts(&self) -> usize {
        self.held.len()
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.held.contains_key(id)
    }

    /// Adds a counted statement; false (and no change) if it is already held.
    pub fn insert(&mut self, id: Uuid, fact: &Fact) -> bool {
        if self.held.contains_key(&id) {
            return false;
        }
        let learner = fact.learner.as_deref().map(|l| self.learners.intern(l));
        let verb = self.verbs.intern(&fact.verb);
        let object = fact.object.as_deref().map(|o| self.scopes.intern(o));
        let mut scopes = vec![GLOBAL];
        scopes.extend(object);
        for c in &fact.context {
            let s = self.scopes.intern(c);
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let answer_type = match (&fact.activity_type, fact.raw) {
            (Some(t), Some(raw)) => Some((self.types.intern(t), raw)),
            _ => None,
        };
        while self.data.len() < self.scopes.len() {
            self.data.push(ScopeData::default());
        }
        let key = (fact.time, fact.seq);
        self.period_cache.forget(&scopes, fact.time);
        for &s in &scopes {
            let data = &mut self.data[s as usize];
            data.events.insert(key, Event { learner, verb });
            let Some(l) = learner else { continue };
            let ls = data.learners.entry(l).or_default();
            let at = ls.times.partition_point(|t| *t < key);
            ls.times.insert(at, key);
            if Some(s) == object {
                ls.marks.push(Mark {
                    time: fact.time,
                    seq: fact.seq,
                    verb,
                    completion: fact.completion,
                    success: fact.success,
                    scaled: fact.scaled,
                });
            }
            if let Some((activity_type, raw)) = answer_type {
                data.answers.insert(
                    key,
                    Answer {
                        learner: l,
                        activity_type,
                        raw,
                    },
                );
            }
        }
        self.held.insert(
            id,
            Held {
                seq: fact.seq,
                time: fact.time,
                learner,
                object,
                scopes: scopes.into_boxed_slice(),
            },
        );
        true
    }

    /// Retracts a statement (voided); false if it was not held.
    pub fn remove(&mut self, id: &Uuid) -> bool {
        let Some(held) = self.held.remove(id) else {
            return false;
        };
        let key = (held.time, held.seq);
        self.period_cache.forget(&held.scopes, held.time);
        for &s in held.scopes.iter() {
            let data = &mut self.data[s as usize];
            data.events.remove(&key);
            data.answers.remove(&key);
            let Some(l) = held.learner else { continue };
            let Some(ls) = data.learners.get_mut(&l) else {
                continue;
            };
            if let Ok(at) = ls.times.binary_search(&key) {
                ls.times.remove(at);
            }
            if Some(s) == held.object {
                ls.marks.retain(|m| m.seq != held.seq);
            }
            if ls.times.is_empty() {
                data.learners.remove(&l);
            }
        }
        true
    }
}
