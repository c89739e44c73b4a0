//! `MongoStore`: the production backend, on a MongoDB replica set or sharded
//! cluster, shared by any number of stateless Trellis instances.
//!
//! # Layout
//! - `statements`: the statement log (one document per statement, `_id` =
//!   log position), the write path in one transaction, and query filters.
//! - `attachments`: attachment content and who may get it (grants,
//!   senders; migration 2).
//! - `documents`: State / Activity Profile / Agent Profile documents and
//!   canonical Activity definitions.
//! - `credentials`, `consumers` (checkpoints and aggregate records).
//! - `schema`: the indexes and the numbered schema migrations, tracked in
//!   the `meta` collection and run by `initialize`.
//! - `transaction`: the transaction retry loop (`in_transaction!`).
//! - `group`: group commit of this instance's statement writes.
//! - `error`: driver errors as `StoreError`, typed field reads.
//! - this file: settings, connection, start-up (capability check, schema),
//!   and the whole-store operations.
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
//! - Every query runs on an index created at start (`schema`).

mod attachments;
mod consumers;
mod credentials;
mod documents;
mod error;
mod group;
mod schema;
mod statements;
mod transaction;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{doc, Document as BsonDocument};
use mongodb::options::{Acknowledgment, ClientOptions, TransactionOptions, WriteConcern};
use mongodb::{Client, ClientSession, Collection, Database};

use super::{Store, StoreError};
use error::map_error;

const BACKEND: &str = "mongodb";

/// How to reach MongoDB (`StoreSettings::Mongo`).
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
    db: Database,
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
            db: db.clone(),
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
    /// Statement writes of this instance go one at a time, each taking
    /// every write waiting behind it into its transaction (`group`).
    writes: Arc<group::WriteQueue>,
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
        let transaction = transaction::options(write_concern);
        Ok(MongoStore {
            c: Collections::new(&db),
            client,
            db,
            transaction,
            initialized: Arc::new(AtomicBool::new(false)),
            writes: Arc::new(group::WriteQueue::default()),
        })
    }

    /// Checks that the deployment supports transactions and brings the
    /// schema to the newest version (see `schema`); answers that version.
    /// Safe to call again after a failure, and from several instances at
    /// once.
    pub async fn initialize(&self) -> Result<u32, StoreError> {
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
        let version = schema::migrate(&self.db).await?;
        self.initialized.store(true, Ordering::Release);
        Ok(version)
    }

    /// Drops the whole database (tests use one database per run).
    #[cfg(any(test, feature = "contract-tests"))]
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

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl Store for MongoStore {
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
        self.writes.drain().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::StatementQuery;

    /// Settings for a fresh database of the test server, or `None` (skip)
    /// when no server is configured outside CI. Under `CI=true` a missing
    /// server fails the test: the MongoDB tests must never silently skip
    /// there.
    pub(crate) fn test_settings() -> Option<MongoSettings> {
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
        Some(settings)
    }

    /// A usable store on a fresh database of the test server (see
    /// `test_settings`).
    pub(crate) async fn test_store() -> Option<MongoStore> {
        let store = MongoStore::connect(&test_settings()?)
            .await
            .expect("client");
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
        assert_eq!(store.initialize().await.unwrap(), schema::latest());
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
            doc! {"find": "statements", "filter": {"_id": {"$gt": 2}}, "sort": {"_id": 1}, "hint": schema::LOG_ORDER_INDEX},
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
