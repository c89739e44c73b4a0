//! `MongoStore`: the production backend, on a MongoDB replica set or sharded
//! cluster, shared by any number of stateless Trellis instances.
//!
//! # Layout
//! - `statements`: the statement log (one document per statement, `_id` =
//!   log position), the write path in one transaction, and query filters.
//! - `documents`: State / Activity Profile / Agent Profile documents.
//! - this file: connection, start-up (indexes, capability check), error
//!   mapping, the transaction retry loop, and the `Store` implementation.
//!
//! # Invariants
//! - Every write that changes more than one document runs in one
//!   multi-document transaction with the configured write concern (default
//!   `majority`, journaled). `Ok` is returned only after the commit is
//!   acknowledged, so an acknowledged statement is durable.
//! - The log position (`seq`) and `stored` are allocated from one counter
//!   document inside the write transaction. Two transactions that both
//!   allocate conflict, so positions commit in order: a reader that has seen
//!   position `n` has seen every position below it. This is what keeps
//!   `more` cursors, Consistent-Through and the aggregator checkpoints right
//!   with several instances writing.
//! - The statement JSON is kept as a string: the exact original survives
//!   byte for byte, including extension keys with `.` or a leading `$`.
//! - Every query runs on an index created at start (`indexes`).

mod aggregates;
mod documents;
mod statements;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document as BsonDocument};
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::{
    Acknowledgment, ClientOptions, Hint, IndexOptions, ReadConcern, TransactionOptions,
    WriteConcern,
};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use serde_json::Value;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{
    AggregateCommit, Attachment, Credential, Document, DocumentScope, DocumentWrite, NewStatement,
    Precondition, StatementPage, StatementQuery, Store, StoreError, StoredStatement,
};

const BACKEND: &str = "mongodb";
/// How often a transaction is retried after a transient error (a write
/// conflict with another instance, a primary election).
const MAX_TRANSACTION_ATTEMPTS: u32 = 30;
/// The longest one transaction attempt may take, commit included.
const TRANSACTION_DEADLINE: Duration = Duration::from_secs(10);
/// How long the server may spend on a commit (`maxCommitTimeMS`).
const MAX_COMMIT_TIME: Duration = Duration::from_secs(5);
/// How long after taking its `stored` a write can still become visible:
/// the attempt deadline, the commit time, and one second of clock skew
/// between instances.
const WRITE_WINDOW_MS: i64 = 16_000;

/// How to reach MongoDB; part of `Settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MongoSettings {
    /// A MongoDB connection string (`mongodb://` or `mongodb+srv://`).
    pub uri: String,
    /// The database; defaults to the one named in the URI, else `trellis`.
    pub database: Option<String>,
    /// `majority` or a number of nodes.
    pub write_concern: String,
    /// Whether writes wait for the journal.
    pub journal: bool,
    /// How long an operation waits for a usable server before failing with
    /// 503.
    pub server_timeout: Duration,
}

impl MongoSettings {
    pub fn new(uri: String) -> MongoSettings {
        MongoSettings {
            uri,
            database: None,
            write_concern: "majority".into(),
            journal: true,
            server_timeout: Duration::from_secs(5),
        }
    }

    fn write_concern(&self) -> anyhow::Result<WriteConcern> {
        let w = match self.write_concern.as_str() {
            "majority" => Acknowledgment::Majority,
            n => match n.parse::<u32>() {
                Ok(n) if n >= 1 => Acknowledgment::Nodes(n),
                _ => anyhow::bail!(
                    "the MongoDB write concern must be `majority` or a number of nodes (at least 1), not {n:?}"
                ),
            },
        };
        Ok(WriteConcern::builder()
            .w(w)
            .journal(self.journal)
            .w_timeout(Duration::from_secs(30))
            .build())
    }
}

/// The collections, typed for raw BSON documents.
#[derive(Clone)]
struct Collections {
    statements: Collection<BsonDocument>,
    counters: Collection<BsonDocument>,
    attachments: Collection<BsonDocument>,
    activities: Collection<BsonDocument>,
    documents: Collection<BsonDocument>,
    credentials: Collection<BsonDocument>,
    checkpoints: Collection<BsonDocument>,
    aggregates: Collection<BsonDocument>,
}

impl Collections {
    fn new(db: &Database) -> Collections {
        Collections {
            statements: db.collection("statements"),
            counters: db.collection("counters"),
            attachments: db.collection("attachments"),
            activities: db.collection("activities"),
            documents: db.collection("documents"),
            credentials: db.collection("credentials"),
            checkpoints: db.collection("checkpoints"),
            aggregates: db.collection("aggregates"),
        }
    }
}

/// Cheap to clone: clones share the client, the start-up state and the
/// write lock.
#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
    c: Collections,
    transaction: TransactionOptions,
    /// Set once the indexes exist and transactions are known to work.
    initialized: Arc<AtomicBool>,
    /// Statement writes of this instance go one at a time: they all update
    /// the log counter, so running them side by side only buys conflicts.
    write_lock: Arc<Mutex<()>>,
}

impl MongoStore {
    /// Builds the client; connects lazily, so this succeeds while MongoDB
    /// is down. Call `initialize` (and retry it) before use.
    pub async fn connect(settings: &MongoSettings) -> anyhow::Result<MongoStore> {
        let mut options = ClientOptions::parse(&settings.uri)
            .await
            .map_err(|e| anyhow::anyhow!("invalid MongoDB URI: {e}"))?;
        options.app_name.get_or_insert_with(|| "trellis".into());
        options.server_selection_timeout = Some(settings.server_timeout);
        options.connect_timeout = Some(settings.server_timeout);
        let write_concern = settings.write_concern()?;
        options.write_concern = Some(write_concern.clone());
        let name = settings
            .database
            .clone()
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| "trellis".into());
        let client = Client::with_options(options)?;
        let db = client.database(&name);
        let transaction = TransactionOptions::builder()
            .read_concern(ReadConcern::snapshot())
            .write_concern(write_concern)
            .max_commit_time(MAX_COMMIT_TIME)
            .build();
        Ok(MongoStore {
            c: Collections::new(&db),
            client,
            db,
            transaction,
            initialized: Arc::new(AtomicBool::new(false)),
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    /// Checks that the deployment supports transactions and creates every
    /// index (idempotent). Safe to call again after a failure.
    pub async fn initialize(&self) -> Result<(), StoreError> {
        let hello = self
            .db
            .run_command(doc! {"hello": 1})
            .await
            .map_err(map_error)?;
        let replicated = hello.get_str("setName").is_ok() || hello.get_str("msg") == Ok("isdbgrid");
        if !replicated {
            return Err(StoreError::Unavailable(
                "this MongoDB is a standalone server, which has no multi-document transactions; \
                 run it as a replica set (a one-node replica set is enough)"
                    .into(),
            ));
        }
        for (collection, name, keys, unique, partial) in index_plan() {
            let mut options = IndexOptions::builder()
                .name(name.to_owned())
                .unique(unique)
                .build();
            if let Some(filter) = partial {
                options.partial_filter_expression = Some(filter);
            }
            let model = IndexModel::builder().keys(keys).options(options).build();
            self.db
                .collection::<BsonDocument>(collection)
                .create_index(model)
                .await
                .map_err(map_error)?;
        }
        self.initialized.store(true, Ordering::Release);
        Ok(())
    }

    /// Drops the whole database (tests use one database per run).
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.db.drop().await.map_err(map_error)
    }

    fn ready(&self) -> Result<&Collections, StoreError> {
        if self.initialized.load(Ordering::Acquire) {
            Ok(&self.c)
        } else {
            Err(StoreError::Unavailable(
                "MongoDB is not reachable yet (start-up is still retrying)".into(),
            ))
        }
    }

    async fn session(&self) -> Result<ClientSession, StoreError> {
        self.client.start_session().await.map_err(map_error)
    }
}

/// The built-in index on `_id`: the log order of statements.
const LOG_ORDER_INDEX: &str = "_id_";
/// Statement queries: `terms` (agent, verb, activity, registration, related
/// agents and activities, the sending credential) then log order.
const TERMS_INDEX: &str = "terms_seq";
const VOIDS_INDEX: &str = "voids";
const DOCUMENT_KEY_INDEX: &str = "document_key";
const CREDENTIAL_ORDER_INDEX: &str = "created_key";
const AGGREGATE_KEY_INDEX: &str = "consumer_key";

type IndexSpec = (
    &'static str,
    &'static str,
    BsonDocument,
    bool,
    Option<BsonDocument>,
);

/// Every index Trellis needs: (collection, name, keys, unique, partial
/// filter). Queries name the index they use (`hint`), so none can fall back
/// to a collection scan.
fn index_plan() -> Vec<IndexSpec> {
    vec![
        ("statements", "sid", doc! {"sid": 1}, true, None),
        (
            "statements",
            TERMS_INDEX,
            doc! {"terms": 1, "_id": 1},
            false,
            None,
        ),
        (
            "statements",
            VOIDS_INDEX,
            doc! {"voids": 1},
            false,
            Some(doc! {"voids": {"$type": "string"}}),
        ),
        (
            "documents",
            DOCUMENT_KEY_INDEX,
            doc! {"kind": 1, "activity": 1, "agent": 1, "registration": 1, "doc_id": 1},
            true,
            None,
        ),
        (
            "aggregates",
            AGGREGATE_KEY_INDEX,
            doc! {"consumer": 1, "key": 1},
            true,
            None,
        ),
        (
            "credentials",
            CREDENTIAL_ORDER_INDEX,
            doc! {"created": 1, "_id": 1},
            false,
            None,
        ),
    ]
}

/// An error inside a transaction body: ours (returned as is) or the
/// driver's (maybe retried).
enum TxnError {
    Store(StoreError),
    Driver(mongodb::error::Error),
}

impl From<StoreError> for TxnError {
    fn from(e: StoreError) -> Self {
        TxnError::Store(e)
    }
}

impl From<mongodb::error::Error> for TxnError {
    fn from(e: mongodb::error::Error) -> Self {
        TxnError::Driver(e)
    }
}

/// Runs `$body` (an expression using `$session`, evaluating to
/// `Result<T, TxnError>`) in a transaction, retrying the whole transaction
/// on transient errors and the commit on an unknown commit result.
macro_rules! in_transaction {
    ($store:expr, |$session:ident| $body:expr) => {{
        let store: &MongoStore = $store;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut session = store.session().await?;
            session
                .start_transaction()
                .with_options(store.transaction.clone())
                .await
                .map_err(map_error)?;
            // The whole attempt, commit included, has a deadline: a write
            // that took its `stored` is visible within `WRITE_WINDOW` or
            // never, which is what `consistent_through` relies on.
            let attempt_outcome = tokio::time::timeout(TRANSACTION_DEADLINE, async {
                let outcome = {
                    let $session: &mut ClientSession = &mut session;
                    $body
                };
                match outcome {
                    Ok(value) => commit(&mut session)
                        .await
                        .map(|()| value)
                        .map_err(|e| (TxnError::Driver(e), true)),
                    Err(e) => Err((e, false)),
                }
            })
            .await;
            match attempt_outcome {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err((TxnError::Store(e), _))) => {
                    let _ = session.abort_transaction().await;
                    break Err(e);
                }
                Ok(Err((TxnError::Driver(e), committing))) => {
                    if !committing {
                        let _ = session.abort_transaction().await;
                    }
                    if retryable(&e) && attempt < MAX_TRANSACTION_ATTEMPTS {
                        backoff(attempt).await;
                        continue;
                    }
                    break Err(map_error(e));
                }
                Err(_elapsed) => {
                    let _ = session.abort_transaction().await;
                    break Err(StoreError::Unavailable(format!(
                        "MongoDB did not complete the write within {} s",
                        TRANSACTION_DEADLINE.as_secs()
                    )));
                }
            }
        }
    }};
}

/// Commits, retrying while the outcome is unknown (commit is idempotent).
async fn commit(session: &mut ClientSession) -> Result<(), mongodb::error::Error> {
    let mut tries = 0;
    loop {
        match session.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < 3 => {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Whether the whole transaction may simply run again: after a write
/// conflict or a duplicate key (another instance got there first). Not when
/// the server is unreachable: that fails at once with 503, so clients learn
/// of an outage within the server selection timeout instead of hanging.
fn retryable(e: &mongodb::error::Error) -> bool {
    if unreachable(e) {
        return false;
    }
    e.contains_label(TRANSIENT_TRANSACTION_ERROR) || is_duplicate_key(e)
}

fn unreachable(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::Shutdown
    )
}

async fn backoff(attempt: u32) {
    let ms = (5u64 << attempt.min(6)).min(250);
    let jitter = u64::from(getrandom::u32().unwrap_or(0) % 10);
    tokio::time::sleep(Duration::from_millis(ms + jitter)).await;
}

/// A unique index refused a write: another instance inserted the same
/// statement or document in a transaction that committed first. Running the
/// transaction again sees that write.
fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    const DUPLICATE_KEY: i32 = 11000;
    match e.kind.as_ref() {
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == DUPLICATE_KEY)),
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// Server codes meaning "not now": elections, shutdown, unreachable hosts.
const UNAVAILABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Maps a driver error: the server being unreachable is `Unavailable`
/// (503 with Retry-After); anything else is a backend error (500).
fn map_error(e: mongodb::error::Error) -> StoreError {
    let unavailable = unreachable(&e)
        || match e.kind.as_ref() {
            ErrorKind::Command(c) => UNAVAILABLE_CODES.contains(&c.code),
            ErrorKind::Write(mongodb::error::WriteFailure::WriteConcernError(_)) => true,
            ErrorKind::InsertMany(m) => m.write_concern_error.is_some(),
            _ => {
                e.contains_label(TRANSIENT_TRANSACTION_ERROR)
                    || e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    || e.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
            }
        };
    if unavailable {
        StoreError::Unavailable(format!("MongoDB: {e}"))
    } else {
        StoreError::Backend {
            backend: BACKEND,
            source: e.into(),
        }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        source: anyhow::anyhow!("unexpected document shape: {what}"),
    }
}

fn get_i64(d: &BsonDocument, key: &str) -> Result<i64, StoreError> {
    match d.get(key) {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Double(f)) if f.fract() == 0.0 => Ok(*f as i64),
        _ => Err(corrupt(key)),
    }
}

fn get_str<'a>(d: &'a BsonDocument, key: &str) -> Result<&'a str, StoreError> {
    d.get_str(key).map_err(|_| corrupt(key))
}

fn to_stored(d: &BsonDocument) -> Result<StoredStatement, StoreError> {
    Ok(StoredStatement {
        seq: get_i64(d, "_id")?,
        id: Uuid::parse_str(get_str(d, "sid")?).map_err(|_| corrupt("sid"))?,
        stored_ms: get_i64(d, "stored")?,
        voided: d.get_bool("voided").unwrap_or(false),
        json: get_str(d, "json")?.to_owned(),
    })
}

fn to_credential(d: &BsonDocument) -> Result<Credential, StoreError> {
    let scopes = d
        .get_array("scopes")
        .map_err(|_| corrupt("scopes"))?
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    Ok(Credential {
        key: get_str(d, "_id")?.to_owned(),
        name: get_str(d, "name")?.to_owned(),
        scopes,
        secret_hash: get_str(d, "secret_hash")?.to_owned(),
        created: get_str(d, "created")?.to_owned(),
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl Store for MongoStore {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let c = self.ready()?.clone();
        let _serial = self.write_lock.lock().await;
        let plan = statements::prepare(&batch)?;
        in_transaction!(self, |session| {
            statements::insert(session, &c, &batch, &plan, &attachments).await
        })
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        let c = self.ready()?;
        c.statements
            .find_one(doc! {"sid": id.to_string()})
            .await
            .map_err(map_error)?
            .as_ref()
            .map(to_stored)
            .transpose()
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        let c = self.ready()?;
        statements::query(c, query).await
    }

    async fn attachments(&self, sha2: &[String]) -> Result<Vec<Attachment>, StoreError> {
        let c = self.ready()?;
        let found: Vec<BsonDocument> = c
            .attachments
            .find(doc! {"_id": {"$in": sha2}})
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        let mut out = Vec::with_capacity(found.len());
        // In the order asked for, like the embedded store.
        for hash in sha2 {
            if let Some(d) = found.iter().find(|d| d.get_str("_id") == Ok(hash)) {
                out.push(Attachment {
                    sha2: hash.clone(),
                    content_type: get_str(d, "content_type")?.to_owned(),
                    data: d
                        .get_binary_generic("data")
                        .map_err(|_| corrupt("data"))?
                        .clone(),
                });
            }
        }
        Ok(out)
    }

    /// Every later write gets a `stored` strictly greater than the newest
    /// committed one (see `statements::allocate`), and a write in flight
    /// becomes visible within `WRITE_WINDOW_MS` of taking its `stored` or
    /// never. So both the newest committed `stored` and
    /// now - `WRITE_WINDOW_MS` are safe; the later of the two is answered.
    async fn consistent_through(&self) -> Result<i64, StoreError> {
        let c = self.ready()?;
        let counter = c
            .counters
            .find_one(doc! {"_id": statements::LOG_COUNTER})
            .await
            .map_err(map_error)?;
        let floor = now_ms() - WRITE_WINDOW_MS;
        Ok(match counter {
            Some(d) => get_i64(&d, "stored")?.max(floor),
            None => floor,
        })
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        let c = self.ready()?;
        let docs: Vec<BsonDocument> = c
            .statements
            .find(doc! {"_id": {"$gt": after}})
            .sort(doc! {"_id": 1})
            .hint(Hint::Name(LOG_ORDER_INDEX.into()))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        docs.iter().map(to_stored).collect()
    }

    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        let c = self.ready()?;
        match c
            .checkpoints
            .find_one(doc! {"_id": consumer})
            .await
            .map_err(map_error)?
        {
            Some(d) => get_i64(&d, "seq"),
            None => Ok(0),
        }
    }

    async fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        let c = self.ready()?;
        c.checkpoints
            .update_one(doc! {"_id": consumer}, doc! {"$set": {"seq": seq}})
            .upsert(true)
            .await
            .map(drop)
            .map_err(map_error)
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let c = self.ready()?;
        aggregates::records(c, consumer, after_key, limit).await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            aggregates::commit(session, &c, consumer, &commit).await
        })
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            aggregates::reset(session, &c, consumer).await
        })
    }

    async fn activity_definition(&self, activity_id: &str) -> Result<Option<Value>, StoreError> {
        let c = self.ready()?;
        match c
            .activities
            .find_one(doc! {"_id": activity_id})
            .await
            .map_err(map_error)?
        {
            Some(d) => serde_json::from_str(get_str(&d, "definition")?)
                .map(Some)
                .map_err(|_| corrupt("definition")),
            None => Ok(None),
        }
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let c = self.ready()?;
        documents::read(&c.documents, None, scope, id).await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let c = self.ready()?;
        documents::ids(&c.documents, scope, since_ms).await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            documents::put(session, &c.documents, scope, id, &write, &precondition).await
        })
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            documents::delete(session, &c.documents, scope, id, &precondition).await
        })
    }

    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        let c = self.ready()?;
        c.credentials
            .find_one(doc! {"_id": key})
            .await
            .map_err(map_error)?
            .as_ref()
            .map(to_credential)
            .transpose()
    }

    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError> {
        let c = self.ready()?;
        let d = doc! {
            "_id": &credential.key,
            "name": &credential.name,
            "scopes": &credential.scopes,
            "secret_hash": &credential.secret_hash,
            "created": &credential.created,
        };
        c.credentials
            .replace_one(doc! {"_id": &credential.key}, d)
            .upsert(true)
            .await
            .map(drop)
            .map_err(map_error)
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let c = self.ready()?;
        let docs: Vec<BsonDocument> = c
            .credentials
            .find(doc! {})
            .sort(doc! {"created": 1, "_id": 1})
            .hint(Hint::Name(CREDENTIAL_ORDER_INDEX.into()))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        docs.iter().map(to_credential).collect()
    }

    /// A cheap round trip to the server; not ready until start-up is done.
    async fn ping(&self) -> Result<(), StoreError> {
        self.ready()?;
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(drop)
            .map_err(map_error)
    }

    /// Every acknowledged write is already durable (write concern); this
    /// waits for the writes of this instance still in flight.
    async fn flush(&self) -> Result<(), StoreError> {
        drop(self.write_lock.lock().await);
        Ok(())
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        let c = self.ready()?;
        c.credentials
            .delete_one(doc! {"_id": key})
            .await
            .map(|r| r.deleted_count > 0)
            .map_err(map_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on a fresh database of the test server, or `None` (skip) when
    /// no server is configured outside CI. Under `CI=true` a missing server
    /// fails the test: the MongoDB tests must never silently skip there.
    pub(crate) async fn test_store() -> Option<MongoStore> {
        let Ok(uri) = std::env::var("TRELLIS_TEST_MONGODB_URI") else {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "TRELLIS_TEST_MONGODB_URI is not set under CI: the MongoDB tests must run"
            );
            eprintln!("skipped: TRELLIS_TEST_MONGODB_URI is not set");
            return None;
        };
        let mut settings = MongoSettings::new(uri);
        settings.database = Some(format!("trellis_test_{}", Uuid::new_v4().simple()));
        let store = MongoStore::connect(&settings).await.expect("client");
        store.initialize().await.expect("initialize");
        Some(store)
    }

    #[tokio::test]
    async fn mongo_store_passes_the_contract() {
        let Some(store) = test_store().await else {
            return;
        };
        crate::store::contract::run_all(&store).await;
        store.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn initialize_is_idempotent() {
        let Some(store) = test_store().await else {
            return;
        };
        store.initialize().await.unwrap();
        store.ping().await.unwrap();
        store.drop_database().await.unwrap();
    }

    /// The winning plan of `find` on `statements`, as the server explains it.
    async fn explain(store: &MongoStore, find: BsonDocument) -> String {
        let explained = store
            .db
            .run_command(doc! {"explain": find, "verbosity": "queryPlanner"})
            .await
            .unwrap();
        let planner = explained.get_document("queryPlanner").unwrap();
        planner.get_document("winningPlan").unwrap().to_string()
    }

    #[tokio::test]
    async fn no_statement_query_scans_the_collection() {
        let Some(store) = test_store().await else {
            return;
        };
        crate::store::contract::run_all(&store).await;
        let queries = [
            StatementQuery::default(),
            StatementQuery {
                agent: Some("mbox:mailto:a@example.com".into()),
                ..Default::default()
            },
            StatementQuery {
                verb: Some("http://x.io/v".into()),
                activity: Some("http://x.io/a".into()),
                related_activities: true,
                ascending: true,
                after_seq: Some(3),
                ..Default::default()
            },
            StatementQuery {
                registration: Some(Uuid::nil().to_string()),
                since_ms: Some(1),
                until_ms: Some(i64::MAX),
                ..Default::default()
            },
            StatementQuery {
                since_ms: Some(1),
                authority_key: Some("k".into()),
                ..Default::default()
            },
        ];
        for q in queries {
            let p = statements::plan(&q, 1_000);
            let plan = explain(
                &store,
                doc! {"find": "statements", "filter": p.filter, "sort": p.sort, "hint": p.hint, "limit": p.limit},
            )
            .await;
            assert!(!plan.contains("COLLSCAN"), "{q:?} scans: {plan}");
            assert!(plan.contains("IXSCAN"), "{q:?}: {plan}");
        }
        let log = explain(
            &store,
            doc! {"find": "statements", "filter": {"_id": {"$gt": 2}}, "sort": {"_id": 1}, "hint": LOG_ORDER_INDEX},
        )
        .await;
        assert!(!log.contains("COLLSCAN"), "{log}");
        store.drop_database().await.unwrap();
    }

    #[test]
    fn write_concern_is_majority_or_a_node_count() {
        let mut s = MongoSettings::new("mongodb://127.0.0.1".into());
        assert!(s.write_concern().is_ok());
        s.write_concern = "2".into();
        assert_eq!(s.write_concern().unwrap().w, Some(Acknowledgment::Nodes(2)));
        s.write_concern = "all".into();
        assert!(s.write_concern().is_err());
        s.write_concern = "0".into();
        assert!(s.write_concern().is_err());
    }
}
