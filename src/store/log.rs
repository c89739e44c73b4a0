//! The statement log: `StatementLog`, the part of the store that keeps
//! statements, their attachments and their order, and the types it speaks.
//!
//! # Contract
//! - `insert_statements` is atomic: every statement of the call is stored,
//!   or none is. A statement whose id is already stored is skipped when it is
//!   equivalent (`Statement::is_equivalent_to`) and fails the whole call with
//!   `Conflict` otherwise. Voiding marks the target voided (also when the
//!   target arrives later); a voiding statement targeting another voiding
//!   statement fails with `Invalid`. Canonical Activity definitions carried
//!   by the statements are recorded in the same atomic step (see
//!   `DocumentStore::activity_definition`).
//! - `stored` is assigned by the backend, never decreasing in log order, in
//!   UTC milliseconds. When the call returns `Ok`, the statements are durable.
//! - Queries see statements in log (`seq`) order and leave voided ones out;
//!   a page's `next` cursor stays valid while new statements arrive (it is
//!   bounded by a snapshot).
//! - A statement whose object is a StatementRef answers the filters of the
//!   statement it targets as well.
//! - `consistent_through` is an instant up to which every statement with an
//!   earlier `stored` is visible to queries.
//! - `log_after` reads the whole log, voided statements included, in `seq`
//!   order: a reader that has seen position `n` has seen every position below
//!   it (log consumers rely on this).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::xapi::statement::StatementTerms;
use crate::xapi::Statement;

#[async_trait]
pub trait StatementLog: Send + Sync + 'static {
    /// Stores a request's statements and attachments atomically; returns the
    /// statement ids in request order.
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError>;

    /// One statement by id, whatever its voided state.
    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError>;

    /// One page of the statements matching `query` (voided ones excluded).
    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError>;

    /// The attachment content the readers of `statements` may get with
    /// them, each hash once: content carried by a statement's own request,
    /// or sent earlier by the statement's credential
    /// (`store::attachment_access`). A declared `sha2` alone grants nothing.
    async fn attachments(&self, statements: &[Uuid]) -> Result<Vec<Attachment>, StoreError>;

    /// Milliseconds up to which every stored statement is visible.
    async fn consistent_through(&self) -> Result<i64, StoreError>;

    /// The ordered log: statements with `seq > after`, oldest first.
    async fn log_after(&self, after: i64, limit: usize)
        -> Result<Vec<StoredStatement>, StoreError>;
}

/// A validated statement ready to store, with the key of the credential that
/// sent it (for `statements/read/mine`).
#[derive(Debug, Clone)]
pub struct NewStatement {
    pub statement: Statement,
    /// `statement` serialised (`Statement::serialize`), done by the caller so
    /// a backend's serial write path only splices in the stored time.
    pub json: String,
    pub authority_key: String,
    /// Whether the sender may change canonical Activity definitions (scope
    /// `define` or `all`); otherwise only unknown Activities are recorded.
    pub may_define: bool,
}

impl NewStatement {
    pub fn new(statement: Statement, authority_key: String, may_define: bool) -> NewStatement {
        NewStatement {
            json: statement.serialize(),
            statement,
            authority_key,
            may_define,
        }
    }
}

/// Raw attachment content, addressed by its SHA-2 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub sha2: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A statement as stored: its log position and its exact JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    pub seq: i64,
    pub id: Uuid,
    /// `stored`, in milliseconds since the Unix epoch.
    pub stored_ms: i64,
    pub voided: bool,
    pub json: String,
}

/// The filters of a statement query, already parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementQuery {
    /// IFI key (`xapi::statement::ifi_key`).
    pub agent: Option<String>,
    pub related_agents: bool,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub related_activities: bool,
    pub registration: Option<String>,
    /// Exclusive lower bound on `stored` (ms).
    pub since_ms: Option<i64>,
    /// Inclusive upper bound on `stored` (ms).
    pub until_ms: Option<i64>,
    pub ascending: bool,
    /// Page size (at least 1).
    pub limit: usize,
    /// Only statements sent with this credential (`statements/read/mine`).
    pub authority_key: Option<String>,
    /// Continue after this `seq` (from a previous page's cursor).
    pub after_seq: Option<i64>,
    /// Consider only `seq <= snapshot` (fixed by the first page).
    pub snapshot_seq: Option<i64>,
}

/// Where the next page of a query starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub after_seq: i64,
    pub snapshot_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPage {
    pub statements: Vec<StoredStatement>,
    pub next: Option<Cursor>,
}

impl StatementPage {
    /// A page from up to `limit + 1` statements in query order, read under
    /// `snapshot_seq`: the extra one only says that a next page exists.
    pub(crate) fn from_overfetch(
        mut statements: Vec<StoredStatement>,
        limit: usize,
        snapshot_seq: i64,
    ) -> StatementPage {
        let next = if statements.len() > limit {
            statements.truncate(limit);
            statements.last().map(|s| Cursor {
                after_seq: s.seq,
                snapshot_seq,
            })
        } else {
            None
        };
        StatementPage { statements, next }
    }
}

/// The index keys a statement is found by, one string each: `a|` agent,
/// `A|` related agent, `v|` verb, `o|` activity, `O|` related activity,
/// `r|` registration, `u|` the sending credential. Sorted, deduplicated.
/// A statement whose object is a StatementRef also gets its target's keys
/// (except `u|`), added by the backend.
pub(crate) fn term_keys(new: &NewStatement) -> Vec<String> {
    term_keys_of(&new.statement.terms(), &new.authority_key)
}

/// `term_keys` from a statement's terms and the key of the credential that
/// sent it.
pub(crate) fn term_keys_of(t: &StatementTerms, authority_key: &str) -> Vec<String> {
    let mut rows = Vec::with_capacity(8);
    rows.extend(t.agents.iter().map(|a| format!("a|{a}")));
    rows.extend(t.related_agents.iter().map(|a| format!("A|{a}")));
    rows.push(format!("v|{}", t.verb));
    rows.extend(t.activity.iter().map(|a| format!("o|{a}")));
    rows.extend(t.related_activities.iter().map(|a| format!("O|{a}")));
    rows.extend(t.registration.iter().map(|r| format!("r|{r}")));
    rows.push(format!("{CREDENTIAL_PREFIX}{authority_key}"));
    rows.sort();
    rows.dedup();
    rows
}

/// The prefix of the `term_keys` key of the sending credential, the one
/// key a StatementRef does not inherit from its target.
pub(crate) const CREDENTIAL_PREFIX: &str = "u|";

/// The query's filters as `term_keys` strings; a statement matches when it
/// has all of them.
pub(crate) fn query_terms(q: &StatementQuery) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(a) = &q.agent {
        terms.push(format!("{}|{a}", if q.related_agents { 'A' } else { 'a' }));
    }
    if let Some(r) = &q.registration {
        terms.push(format!("r|{r}"));
    }
    if let Some(a) = &q.activity {
        terms.push(format!(
            "{}|{a}",
            if q.related_activities { 'O' } else { 'o' }
        ));
    }
    if let Some(v) = &q.verb {
        terms.push(format!("v|{v}"));
    }
    if let Some(k) = &q.authority_key {
        terms.push(format!("{CREDENTIAL_PREFIX}{k}"));
    }
    terms
}
