//! Storage: the narrow `Store` trait every backend implements, and the
//! backend-neutral types it speaks.
//!
//! # Contract
//! - `insert_statements` is atomic: every statement of the call is stored,
//!   or none is. A statement whose id is already stored is skipped when it is
//!   equivalent (`Statement::is_equivalent_to`) and fails the whole call with
//!   `Conflict` otherwise. Voiding marks the target voided (also when the
//!   target arrives later); a voiding statement targeting another voiding
//!   statement fails with `Invalid`.
//! - `stored` is assigned by the backend, never decreasing in log order, in
//!   UTC milliseconds. When the call returns `Ok`, the statements are durable.
//! - Queries see statements in log (`seq`) order; a page's `next` cursor
//!   stays valid while new statements arrive (it is bounded by a snapshot).
//! - A statement whose object is a StatementRef answers the filters of the
//!   statement it targets as well.
//! - `consistent_through` is an instant up to which every statement with an
//!   earlier `stored` is visible to queries.
//! - `ping` is one cheap round trip to the backend (no table scan, no write):
//!   `Ok` means the store can serve reads now. Readiness calls it every few
//!   seconds under a short timeout, so it must not queue behind writes.
//! - `flush` returns once every write accepted before the call has finished
//!   and is durable, then lets the backend checkpoint its journal. Shutdown
//!   calls it after the HTTP server stopped; the store stays usable after it.
//! - Aggregate state (`aggregate_records`, `commit_aggregate`,
//!   `reset_aggregate`): each log consumer owns a set of `(key, value)`
//!   records and its checkpoint (the same one `checkpoint` reads). A commit
//!   applies its deletes, then its puts (insert or replace), and moves the
//!   checkpoint, all in one atomic step, and only when the stored checkpoint
//!   (0 when none) equals `expected_checkpoint`; otherwise it writes nothing
//!   and answers `false`. So several processes folding the same log can
//!   never interleave partial states, and a reader that sees checkpoint `c`
//!   sees exactly the records committed up to `c`.

pub mod contract;
pub mod documents;
#[cfg(any(test, feature = "contract-tests"))]
pub mod faulty;
pub mod instrumented;
pub mod mongo;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::config::Settings;

use crate::xapi::Statement;
pub use documents::{Document, DocumentScope, DocumentWrite, Precondition};

/// Opens the configured store for a command-line tool (`import`, `export`,
/// `credentials`): like `open`, but usable at once or a clear error.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let opened = open(settings, None).await?;
    opened
        .initialize()
        .await
        .map_err(|e| anyhow::anyhow!("cannot use the {} store: {e}", opened.backend()))?;
    Ok(opened.store)
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

/// An API credential; the secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub key: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// PHC string of the secret's Argon2id hash.
    pub secret_hash: String,
    pub created: String,
}

/// One atomic step of a log consumer's aggregate state (see the contract).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateCommit {
    /// The checkpoint this step starts from; the commit is refused when the
    /// stored checkpoint differs.
    pub expected_checkpoint: i64,
    /// The checkpoint after this step.
    pub checkpoint: i64,
    /// Records to delete (absent keys are ignored).
    pub deletes: Vec<String>,
    /// Records to insert or replace.
    pub puts: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("statement {0} already exists with different content")]
    Conflict(Uuid),
    #[error("{0}")]
    Invalid(String),
    /// An `If-Match` / `If-None-Match` precondition does not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A document write that needs a precondition came without one.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("{backend} backend error")]
    Backend {
        backend: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a request's statements and attachments atomically; returns the
    /// statement ids in request order.
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError>;

    /// One statement by id, whatever its voided state.
    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError>;

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError>;

    /// Attachment content for the given hashes (unknown hashes are skipped).
    async fn attachments(&self, sha2: &[String]) -> Result<Vec<Attachment>, StoreError>;

    /// Milliseconds up to which every stored statement is visible.
    async fn consistent_through(&self) -> Result<i64, StoreError>;

    /// The ordered log: statements with `seq > after`, oldest first.
    async fn log_after(&self, after: i64, limit: usize)
        -> Result<Vec<StoredStatement>, StoreError>;

    /// A background consumer's durable position in the log (0 if none).
    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError>;
    async fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError>;

    /// A consumer's aggregate records with keys greater than `after_key`
    /// (all when `None`), ordered by key, at most `limit`.
    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Applies `commit` atomically if the consumer's checkpoint equals
    /// `commit.expected_checkpoint`; answers whether it was applied.
    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError>;
    /// Deletes every record of a consumer and its checkpoint (back to 0).
    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError>;

    /// The canonical definition of an Activity, merged from the statements
    /// that carried it.
    async fn activity_definition(
        &self,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError>;
    /// Ids, with their last change (ms), of the documents in `scope`
    /// changed after `since_ms`, ordered by id.
    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Writes one document after checking `precondition` against it, in one
    /// atomic step. Returns the document as stored.
    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError>;
    /// Deletes one document (`Some(id)`, after checking `precondition`) or
    /// every document in `scope`.
    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError>;

    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError>;
    /// Inserts or replaces the credential with this key.
    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError>;
    async fn credentials(&self) -> Result<Vec<Credential>, StoreError>;
    /// Deletes a credential; false when there was none.
    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError>;

    /// One cheap round trip to the backend (see the contract above).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Waits until every write accepted before the call is durable, then
    /// checkpoints the backend's journal if it has one.
    async fn flush(&self) -> Result<(), StoreError>;
}

/// The index keys a statement is found by, one string each: `a|` agent,
/// `A|` related agent, `v|` verb, `o|` activity, `O|` related activity,
/// `r|` registration, `u|` the sending credential. Sorted, deduplicated.
/// A statement whose object is a StatementRef also gets its target's keys
/// (except `u|`), added by the backend.
pub(crate) fn term_keys(new: &NewStatement) -> Vec<String> {
    let t = new.statement.terms();
    let mut rows = Vec::with_capacity(8);
    rows.extend(t.agents.iter().map(|a| format!("a|{a}")));
    rows.extend(t.related_agents.iter().map(|a| format!("A|{a}")));
    rows.push(format!("v|{}", t.verb));
    rows.extend(t.activity.iter().map(|a| format!("o|{a}")));
    rows.extend(t.related_activities.iter().map(|a| format!("O|{a}")));
    rows.extend(t.registration.iter().map(|r| format!("r|{r}")));
    rows.push(format!("u|{}", new.authority_key));
    rows.sort();
    rows.dedup();
    rows
}

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
        terms.push(format!("u|{k}"));
    }
    terms
}

/// The configured backend, opened but maybe not yet usable (a MongoDB
/// server may still be unreachable).
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    mongo: Option<mongo::MongoStore>,
}

/// Opens the backend `settings` select: MongoDB when a URI is set,
/// otherwise the embedded SQLite store in the data directory. With
/// `metrics`, the store records its operations there.
pub async fn open(
    settings: &Settings,
    metrics: Option<&Arc<crate::metrics::Metrics>>,
) -> anyhow::Result<OpenedStore> {
    fn wrap<S: Store>(
        store: S,
        backend: &'static str,
        metrics: Option<&Arc<crate::metrics::Metrics>>,
    ) -> Arc<dyn Store> {
        match metrics {
            Some(m) => Arc::new(instrumented::InstrumentedStore::new(store, backend, m)),
            None => Arc::new(store),
        }
    }
    Ok(match &settings.mongodb {
        Some(m) => {
            let store = mongo::MongoStore::connect(m).await?;
            OpenedStore {
                store: wrap(store.clone(), "mongodb", metrics),
                mongo: Some(store),
            }
        }
        None => OpenedStore {
            store: wrap(
                sqlite::SqliteStore::open(&settings.data_dir)?,
                "sqlite",
                metrics,
            ),
            mongo: None,
        },
    })
}

impl OpenedStore {
    pub fn backend(&self) -> &'static str {
        if self.mongo.is_some() {
            "mongodb"
        } else {
            "sqlite"
        }
    }

    /// One attempt at making the store usable. For MongoDB: reach the
    /// server, check it has transactions, create the indexes.
    pub async fn initialize(&self) -> Result<(), StoreError> {
        match &self.mongo {
            Some(m) => m.initialize().await,
            None => Ok(()),
        }
    }

    /// Retries `initialize` until it succeeds, waiting 1 s and doubling up
    /// to 30 s between attempts, and logs every failure.
    pub async fn initialize_with_retry(&self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.initialize().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), backend = self.backend(), "the store is not usable yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
