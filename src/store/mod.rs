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

pub mod contract;
pub mod documents;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::config::Settings;

use crate::xapi::Statement;
pub use documents::{Document, DocumentScope, DocumentWrite, Precondition};

/// Opens the store the settings name: the one place the server and the
/// command line (`import`, `export`, `credentials`) choose a backend.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(sqlite::SqliteStore::open(&settings.data_dir)?))
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
}
