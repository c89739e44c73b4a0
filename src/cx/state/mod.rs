//! The aggregated CX state: compact, columnar, persistent (snapshots share
//! everything they did not change).
//!
//! # Layout
//! - Per learner (dense `u32` id, `Learner`): the learner's counted
//!   statements as `Entry` keys in (event time, arrival) order: verb,
//!   object, object type, context set, flags; scores (`Extra`), purchases
//!   and refunds, experiment exposures; and the learner's row in each scope
//!   it appears in (`members`).
//! - Per scope (dense `u32` id; 0 is the global scope, `ScopeState`): one
//!   summary `Row` per learner (enrolment, last activity, first completion,
//!   first competency at the configured threshold, activation), in chunks
//!   of 64; per UTC day the statements, per-verb counts, active learners
//!   and enrolments; active learners per ISO week and month (ordered maps,
//!   copied with the scope when a snapshot shares it); survey answers in
//!   (event time, arrival) order.
//! - Interned names (learners, activities, verbs, types, currencies,
//!   experiments, variants) and context sets (the sorted scope ids of a
//!   statement's `parent` and `grouping` activities).
//!
//! The derived parts (rows, day counts, answers) apply the configuration
//! (`Resolved`), and are rebuilt from facts at every start, so a settings
//! change needs no rebuild of the persisted facts. `apply` changes the
//! state fact by fact; `view` answers the questions metrics ask of it.

mod apply;
pub mod names;
pub mod pvec;
pub mod view;

use std::cmp::Ordering;
use std::sync::Arc;

use std::collections::BTreeMap;

use super::metrics::SurveyKind;
use super::settings::Settings;
use names::Names;
use pvec::{PVec, Run};

pub use view::ScopeView;

/// The id of the global scope.
pub const GLOBAL: u32 = 0;
/// No id (an object that is not an Activity, an Activity without a type).
pub const NONE: u32 = u32::MAX;
/// No time (a learner that never completed, an empty row).
pub const NEVER: i64 = i64::MAX;

pub const FLAG_COMPLETION: u8 = 1;
pub const FLAG_SUCCESS: u8 = 2;
pub const FLAG_SCORE: u8 = 4;

/// A learner's counted statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub time: i64,
    pub seq: i64,
    pub verb: u32,
    /// The object Activity's scope id, or `NONE`.
    pub object: u32,
    /// The object's `definition.type` id, or `NONE`.
    pub otype: u32,
    /// The context set id.
    pub ctx: u32,
    pub flags: u8,
}

impl Entry {
    pub fn key(&self) -> (i64, i64) {
        (self.time, self.seq)
    }
}

/// `result.score` of an entry with one (`NaN` where absent).
#[derive(Debug, Clone, Copy)]
pub struct Extra {
    pub time: i64,
    pub seq: i64,
    pub scaled: f64,
    pub raw: f64,
}

/// A purchase or refund by a learner.
#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub time: i64,
    pub seq: i64,
    pub refund: bool,
    /// Amount and currency well formed.
    pub valid: bool,
    pub amount: f64,
    pub currency: u32,
    pub object: u32,
    pub ctx: u32,
}

/// An exposure of a learner to a variant of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub time: i64,
    pub seq: i64,
    pub experiment: u32,
    pub variant: u32,
}

/// A purchase or refund in the state's index of all of them (by time).
#[derive(Debug, Clone, Copy)]
pub struct Sale {
    pub lid: u32,
    pub purchase: Purchase,
}

impl PartialEq for Sale {
    fn eq(&self, other: &Sale) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Sale {}
impl PartialOrd for Sale {
    fn partial_cmp(&self, other: &Sale) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sale {
    fn cmp(&self, other: &Sale) -> Ordering {
        (self.purchase.time, self.purchase.seq, self.lid).cmp(&(
            other.purchase.time,
            other.purchase.seq,
            other.lid,
        ))
    }
}

/// One learner: everything kept per statement, in (time, seq) order.
#[derive(Debug, Clone, Default)]
pub struct Learner {
    pub entries: Vec<Entry>,
    /// (scope, row in the scope), sorted by scope.
    pub members: Vec<(u32, u32)>,
    pub extras: Vec<Extra>,
    pub purchases: Vec<Purchase>,
    pub exposures: Vec<Exposure>,
}

impl Learner {
    /// The learner's row in a scope.
    pub fn row_in(&self, scope: u32) -> Option<u32> {
        let i = self.members.binary_search_by_key(&scope, |m| m.0).ok()?;
        self.members.get(i).map(|m| m.1)
    }

    /// The score of an entry.
    pub fn extra(&self, key: (i64, i64)) -> Option<&Extra> {
        let i = self
            .extras
            .binary_search_by(|x| (x.time, x.seq).cmp(&key))
            .ok()?;
        self.extras.get(i)
    }

    /// The time of the learner's second valid purchase (refunds are not
    /// purchases), if any.
    pub fn second_purchase(&self) -> i64 {
        self.purchases
            .iter()
            .filter(|p| p.valid && !p.refund)
            .nth(1)
            .map_or(NEVER, |p| p.time)
    }
}

/// A learner in a scope (times in microseconds; `NEVER` when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub lid: u32,
    /// Enrolment E(l, S): the first event time (`NEVER` once every
    /// statement of the learner in the scope is voided).
    pub e: i64,
    /// The last event time.
    pub last: i64,
    /// First completion of the scope's own Activity.
    pub c: i64,
    /// First competency on the scope's own Activity at the scope's
    /// configured threshold.
    pub k: i64,
    /// Activation: the first event on a later UTC day than E's.
    pub a: i64,
}

impl Row {
    pub fn empty(lid: u32) -> Row {
        Row {
            lid,
            e: NEVER,
            last: NEVER,
            c: NEVER,
            k: NEVER,
            a: NEVER,
        }
    }
}

/// Counts of one scope on one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayStat {
    /// Counted statements (Groups' included).
    pub statements: u32,
    /// Learners with a statement that day.
    pub active: u32,
    /// Learners whose enrolment falls that day.
    pub enrolled: u32,
}

/// `Answer::point` of an answer outside its scale.
pub const INVALID_POINT: u8 = u8::MAX;

/// A survey answer: a learner's statement whose object's type is a survey
/// type (as configured) and which carries `result.score.raw`.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub time: i64,
    pub seq: i64,
    pub row: u32,
    pub kind: SurveyKind,
    /// The point of the scale, or `INVALID_POINT`.
    pub point: u8,
}

impl Answer {
    pub fn valid_point(&self) -> Option<u8> {
        (self.point != INVALID_POINT).then_some(self.point)
    }
}

impl PartialEq for Answer {
    fn eq(&self, other: &Answer) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Answer {}
impl PartialOrd for Answer {
    fn partial_cmp(&self, other: &Answer) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Answer {
    fn cmp(&self, other: &Answer) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// A Group's counted statement (in statement totals only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupEntry {
    pub time: i64,
    pub seq: i64,
    pub verb: u32,
    pub object: u32,
    pub ctx: u32,
}

impl PartialOrd for GroupEntry {
    fn partial_cmp(&self, other: &GroupEntry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for GroupEntry {
    fn cmp(&self, other: &GroupEntry) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// An exposure in an experiment's index, ordered by learner then
/// (time, seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exposed {
    pub lid: u32,
    pub time: i64,
    pub seq: i64,
    pub variant: u32,
}

/// One scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeState {
    pub rows: PVec<Row>,
    /// Keyed by day number.
    pub days: BTreeMap<i64, DayStat>,
    /// Statements per (day number, verb).
    pub verbs: BTreeMap<(i64, u32), u32>,
    /// Active learners per ISO week (`Period::Week` index).
    pub weeks: BTreeMap<i64, u32>,
    /// Active learners per month (`Period::Month` index).
    pub months: BTreeMap<i64, u32>,
    pub answers: Run<Answer>,
    /// The context sets that contain this scope.
    pub ctxsets: Vec<u32>,
    /// The competency threshold configured for the scope.
    pub threshold: f64,
}

/// The configuration resolved against the interned ids.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub completion_verbs: Vec<u32>,
    pub competency_verbs: Vec<u32>,
    pub survey_types: Vec<(u32, SurveyKind)>,
}

impl Resolved {
    pub fn completes(&self, verb: u32, flags: u8) -> bool {
        flags & FLAG_COMPLETION != 0 || self.completion_verbs.contains(&verb)
    }

    pub fn competent(&self, verb: u32, flags: u8, scaled: Option<f64>, threshold: f64) -> bool {
        flags & FLAG_SUCCESS != 0
            || self.competency_verbs.contains(&verb)
            || scaled.is_some_and(|s| s >= threshold)
    }

    pub fn survey_kind(&self, otype: u32) -> Option<SurveyKind> {
        self.survey_types
            .iter()
            .find(|(t, _)| *t == otype)
            .map(|(_, k)| *k)
    }
}

/// The whole aggregated state; `Clone` is cheap (see the module doc).
#[derive(Debug, Clone)]
pub struct State {
    pub settings: Arc<Settings>,
    pub resolved: Resolved,
    pub learner_names: Names,
    pub learners: PVec<Arc<Learner>>,
    pub scope_names: Names,
    pub scopes: PVec<Arc<ScopeState>>,
    pub verbs: Names,
    pub types: Names,
    pub currencies: Names,
    pub experiment_names: Names,
    pub variants: Names,
    /// Per experiment, its exposures.
    pub experiments: PVec<Run<Exposed>>,
    pub ctxsets: PVec<Arc<[u32]>>,
    pub ctxset_ids: imbl::HashMap<Arc<[u32]>, u32>,
    pub groups: Run<GroupEntry>,
    /// Every purchase and refund of a learner, by (time, seq).
    pub sales: Run<Sale>,
    /// (time of the second valid purchase, learner) of learners with one.
    pub repeats: Run<(i64, u32)>,
    /// Counted statements held.
    pub counted: u64,
}

impl State {
    pub fn new(settings: Arc<Settings>) -> State {
        let mut state = State {
            settings,
            resolved: Resolved::default(),
            learner_names: Names::default(),
            learners: PVec::default(),
            scope_names: Names::default(),
            scopes: PVec::default(),
            verbs: Names::default(),
            types: Names::default(),
            currencies: Names::default(),
            experiment_names: Names::default(),
            variants: Names::default(),
            experiments: PVec::default(),
            ctxsets: PVec::default(),
            ctxset_ids: imbl::HashMap::new(),
            groups: Run::default(),
            sales: Run::default(),
            repeats: Run::default(),
            counted: 0,
        };
        state.scope("");
        state.ctxset(Vec::new());
        state
    }

    /// The scope id of an activity (`None` is the global scope); `None`
    /// for an Activity never seen.
    pub fn scope_id(&self, activity: Option<&str>) -> Option<u32> {
        match activity {
            None => Some(GLOBAL),
            Some(iri) => self.scope_names.get(iri).filter(|&id| id != GLOBAL),
        }
    }

    pub fn scope_state(&self, id: u32) -> Option<&ScopeState> {
        self.scopes.get(id as usize).map(|s| &**s)
    }

    pub fn learner(&self, lid: u32) -> Option<&Learner> {
        self.learners.get(lid as usize).map(|l| &**l)
    }

    pub fn ctxset_members(&self, ctx: u32) -> &[u32] {
        self.ctxsets.get(ctx as usize).map(|c| &**c).unwrap_or(&[])
    }

    /// The scope's id, created with its state when new.
    fn scope(&mut self, name: &str) -> u32 {
        let (id, new) = self.scope_names.intern(name);
        if new {
            let threshold = self
                .settings
                .competency_thresholds
                .get(name)
                .copied()
                .unwrap_or(self.settings.competency_threshold);
            self.scopes.push(Arc::new(ScopeState {
                threshold,
                ..ScopeState::default()
            }));
        }
        id
    }

    fn verb(&mut self, name: &str) -> u32 {
        let (id, new) = self.verbs.intern(name);
        if new {
            if self.settings.completion_verbs.iter().any(|v| v == name) {
                self.resolved.completion_verbs.push(id);
            }
            if super::metrics::COMPETENCY_VERBS.contains(&name) {
                self.resolved.competency_verbs.push(id);
            }
        }
        id
    }

    fn activity_type(&mut self, name: &str) -> u32 {
        let (id, new) = self.types.intern(name);
        if new {
            let configured = self.settings.survey_types.get(name).copied();
            let default = SurveyKind::ALL
                .into_iter()
                .find(|k| k.activity_type() == name);
            if let Some(kind) = configured.or(default) {
                self.resolved.survey_types.push((id, kind));
            }
        }
        id
    }

    /// The id of a set of scope ids (sorted, deduplicated), created when
    /// new and recorded in each member scope.
    fn ctxset(&mut self, mut members: Vec<u32>) -> u32 {
        members.sort_unstable();
        members.dedup();
        let members: Arc<[u32]> = members.into();
        if let Some(&id) = self.ctxset_ids.get(&members) {
            return id;
        }
        let id = self.ctxsets.push(members.clone()) as u32;
        for &s in members.iter() {
            if let Some(scope) = self.scopes.get_mut(s as usize) {
                Arc::make_mut(scope).ctxsets.push(id);
            }
        }
        self.ctxset_ids.insert(members, id);
        id
    }

    /// Whether an entry with this object and context set is in scope `s`.
    pub fn in_scope(&self, s: u32, object: u32, ctx: u32) -> bool {
        s == GLOBAL || object == s || self.ctxset_members(ctx).contains(&s)
    }

    /// The time of a learner's first counted statement anywhere.
    pub fn first_anywhere(&self, lid: u32) -> i64 {
        self.scope_state(GLOBAL)
            .and_then(|g| g.rows.get(lid as usize))
            .map_or(NEVER, |r| r.e)
    }
}
