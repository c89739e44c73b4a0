//! `SqliteStore`: the embedded default backend, one SQLite database in the
//! data directory.
//!
//! Writes go through one writer thread that owns the only write connection.
//! It takes every request waiting in its queue, runs each in its own
//! SAVEPOINT inside one transaction and commits once (group commit), so a
//! request stays atomic while many requests share one fsync. Reads use a
//! small pool of connections on the blocking thread pool (WAL mode lets them
//! run beside the writer).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::documents::apply_write;
use super::{
    AggregateCommit, Attachment, Credential, Document, DocumentScope, DocumentWrite, NewStatement,
    Precondition, StatementPage, StatementQuery, Store, StoreError, StoredStatement,
};
use crate::xapi::activity::{defined_activities, merge_definition};
use crate::xapi::datatypes::format_timestamp;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    stored INTEGER NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0,
    voids TEXT,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_voids ON statements(voids) WHERE voids IS NOT NULL;
CREATE TABLE IF NOT EXISTS terms (
    term TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (term, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachments (
    sha2 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    kind INTEGER NOT NULL,
    activity TEXT NOT NULL,
    agent TEXT NOT NULL,
    registration TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    etag TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (kind, activity, agent, registration, doc_id)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    consumer TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS aggregate_records (
    consumer TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (consumer, key)
) WITHOUT ROWID;
";

/// How long SQLite waits for a lock held by another process (the CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most requests one group commit takes.
const MAX_GROUP: usize = 256;
/// `consistent_through` sentinel: no write in flight.
const IDLE: i64 = i64::MAX;

type Responder = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Transaction<'_>, &WriterState) -> (bool, Responder) + Send>;

/// State only the writer thread changes, readable by everyone.
struct WriterState {
    /// The `stored` value (ms) of the newest committed or in-flight statement.
    last_stored: AtomicI64,
    /// The `stored` floor of the transaction in flight, or `IDLE`.
    in_flight: Arc<AtomicI64>,
    /// Canonical Activity definitions as stored, so a statement repeating a
    /// known definition costs no read or write. Cleared whenever a write
    /// rolls back, so it never holds what the database does not.
    activities: Mutex<HashMap<String, serde_json::Map<String, Value>>>,
}

/// Bound on `WriterState::activities`.
const MAX_CACHED_ACTIVITIES: usize = 100_000;

impl WriterState {
    fn forget_activities(&self) {
        if let Ok(mut cache) = self.activities.lock() {
            cache.clear();
        }
    }
}

pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: Arc<ReaderPool>,
    in_flight: Arc<AtomicI64>,
    /// False once the writer thread has ended (it only ends on a panic or
    /// when the store is dropped).
    writer_running: Arc<AtomicBool>,
}

/// Marks the writer stopped when its thread ends, however it ends.
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (or creates) the database `trellis.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> anyhow::Result<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let path = data_dir.join("trellis.db");
        let mut conn = open_writer(&path)?;
        conn.execute_batch(SCHEMA).context("creating the schema")?;
        let last_stored: i64 = conn
            .query_row("SELECT COALESCE(MAX(stored), 0) FROM statements", [], |r| {
                r.get(0)
            })
            .context("reading the newest stored time")?;
        let in_flight = Arc::new(AtomicI64::new(IDLE));
        let state = WriterState {
            last_stored: AtomicI64::new(last_stored),
            in_flight: in_flight.clone(),
            activities: Mutex::new(HashMap::new()),
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer_running = Arc::new(AtomicBool::new(true));
        let guard = RunningGuard(writer_running.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let _guard = guard;
                writer_loop(&mut conn, &state, queue)
            })
            .context("starting the writer thread")?;
        Ok(SqliteStore {
            jobs,
            readers: Arc::new(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            in_flight,
            writer_running,
        })
    }

    /// Runs `f` in the writer's transaction (in its own savepoint).
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &WriterState) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |txn, state| {
            let result = f(txn, state);
            let ok = result.is_ok();
            let responder: Responder = Box::new(move |commit| {
                let _ = tx.send(commit.and(result));
            });
            (ok, responder)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }

    /// Runs `f` on a pooled read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.idle.lock().map(|mut idle| idle.pop()) {
                Ok(Some(conn)) => conn,
                _ => open_connection(&pool.path).map_err(backend)?,
            };
            let result = f(&conn);
            if let Ok(mut idle) = pool.idle.lock() {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| backend(anyhow::anyhow!("read task failed: {e}")))?
    }
}

/// The writer keeps a large page cache; readers a small one, because every
/// commit invalidates a reader's cache and dropping a large one is costly.
fn open_writer(path: &Path) -> anyhow::Result<Connection> {
    let conn = open_connection(path)?;
    conn.execute_batch("PRAGMA cache_size=-262144;")
        .context("sizing the writer cache")?;
    Ok(conn)
}

fn open_connection(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer. synchronous=FULL: a committed
    // transaction survives a crash of the process and of the machine.
    // Memory-mapped reads avoid a system call per page of a large index.
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;",
    )
    .context("configuring the connection")?;
    Ok(conn)
}

fn backend(e: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Backend {
        backend: "sqlite",
        source: e.into(),
    }
}

fn writer_loop(conn: &mut Connection, state: &WriterState, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        state.in_flight.store(
            now_ms().max(state.last_stored.load(Ordering::Acquire)),
            Ordering::Release,
        );
        let responders = run_group(conn, state, group);
        state.in_flight.store(IDLE, Ordering::Release);
        for (responder, outcome) in responders {
            responder(outcome);
        }
    }
}

/// Runs a group of jobs in one transaction; each job in a savepoint.
fn run_group(
    conn: &mut Connection,
    state: &WriterState,
    group: Vec<Job>,
) -> Vec<(Responder, Result<(), StoreError>)> {
    // A job that never runs drops its reply channel: its caller then gets
    // `Unavailable`, which is the truth.
    let Ok(txn) = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) else {
        return Vec::new();
    };
    let before = state.last_stored.load(Ordering::Acquire);
    let mut responders = Vec::with_capacity(group.len());
    for job in group {
        if txn.execute_batch("SAVEPOINT job").is_err() {
            continue;
        }
        let (ok, responder) = job(&txn, state);
        let end = if ok {
            "RELEASE job"
        } else {
            state.forget_activities();
            "ROLLBACK TO job; RELEASE job"
        };
        match txn.execute_batch(end) {
            Ok(()) => responders.push((responder, Ok(()))),
            Err(e) => responders.push((responder, Err(backend(e)))),
        }
    }
    match txn.commit() {
        Ok(()) => responders,
        Err(e) => {
            state.last_stored.store(before, Ordering::Release);
            state.forget_activities();
            let msg = e.to_string();
            responders
                .into_iter()
                .map(|(r, _)| {
                    (
                        r,
                        Err(StoreError::Unavailable(format!("commit failed: {msg}"))),
                    )
                })
                .collect()
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn insert_batch(
    txn: &Transaction<'_>,
    state: &WriterState,
    batch: Vec<NewStatement>,
    attachments: &[Attachment],
) -> Result<Vec<Uuid>, StoreError> {
    let stored_ms = now_ms().max(state.last_stored.load(Ordering::Acquire));
    let stored =
        format_timestamp(chrono::DateTime::from_timestamp_millis(stored_ms).unwrap_or_default());
    let mut ids = Vec::with_capacity(batch.len());
    let mut pending_terms: Vec<(String, i64)> = Vec::with_capacity(batch.len() * 8);
    let mut pending_refs: Vec<(String, i64)> = Vec::new();
    let mut select = txn
        .prepare_cached("SELECT json FROM statements WHERE id = ?1")
        .map_err(backend)?;
    let mut insert = txn
        .prepare_cached(
            "INSERT INTO statements (id, stored, voided, voids, json) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend)?;
    let mut insert_term = txn
        .prepare_cached("INSERT OR IGNORE INTO terms (term, seq) VALUES (?1, ?2)")
        .map_err(backend)?;
    let mut inherit = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO terms (term, seq)
             SELECT t.term, ?2 FROM terms t JOIN statements s ON s.seq = t.seq
             WHERE s.id = ?1 AND substr(t.term, 1, 2) <> 'u|'",
        )
        .map_err(backend)?;
    for new in batch {
        let Some(id) = new.statement.id() else {
            return Err(StoreError::Invalid(
                "a statement reached the store without an id".into(),
            ));
        };
        let key = id.to_string();
        let existing: Option<String> = select
            .query_row([&key], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(existing) = existing {
            let existing: serde_json::Map<String, Value> =
                serde_json::from_str(&existing).map_err(backend)?;
            if new.statement.is_equivalent_to(&existing) {
                ids.push(id);
                continue;
            }
            return Err(StoreError::Conflict(id));
        }
        let voids = new.statement.voided_target().map(|t| t.to_string());
        if let Some(target) = &voids {
            let target_voids: Option<Option<String>> = txn
                .query_row(
                    "SELECT voids FROM statements WHERE id = ?1",
                    [target],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if let Some(Some(_)) = target_voids {
                return Err(StoreError::Invalid(format!(
                    "statement {target} is a voiding statement, and a voiding statement cannot be voided"
                )));
            }
            txn.execute("UPDATE statements SET voided = 1 WHERE id = ?1", [target])
                .map_err(backend)?;
        }
        // A voiding statement stored before its target voids it on arrival.
        let voided_already = voids.is_none()
            && txn
                .query_row(
                    "SELECT 1 FROM statements WHERE voids = ?1 LIMIT 1",
                    [&key],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
        let ref_target = new.statement.statement_ref_target();
        let rows = super::term_keys(&new);
        for (activity, definition) in defined_activities(new.statement.body()) {
            record_activity(txn, state, &activity, &definition, new.may_define)?;
        }
        let json = new.statement.stored_json(&new.json, &stored);
        insert
            .execute(params![key, stored_ms, voided_already, voids, json])
            .map_err(backend)?;
        let seq = txn.last_insert_rowid();
        pending_terms.extend(rows.into_iter().map(|term| (term, seq)));
        if let Some(target) = ref_target {
            pending_refs.push((target.to_string(), seq));
        }
        ids.push(id);
    }
    // Inserted in key order: rows of the same term land on the same pages.
    pending_terms.sort_unstable();
    for (term, seq) in pending_terms {
        insert_term.execute(params![term, seq]).map_err(backend)?;
    }
    for (target, seq) in pending_refs {
        inherit.execute(params![target, seq]).map_err(backend)?;
    }
    let mut put_attachment = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO attachments (sha2, content_type, data) VALUES (?1, ?2, ?3)",
        )
        .map_err(backend)?;
    for a in attachments {
        put_attachment
            .execute(params![a.sha2, a.content_type, a.data])
            .map_err(backend)?;
    }
    state.last_stored.store(stored_ms, Ordering::Release);
    Ok(ids)
}

/// Records an Activity's definition: merged into the canonical one when
/// the sender may define Activities, otherwise only if none is known yet.
fn record_activity(
    txn: &Transaction<'_>,
    state: &WriterState,
    id: &str,
    definition: &serde_json::Map<String, Value>,
    may_define: bool,
) -> Result<(), StoreError> {
    let cached = state
        .activities
        .lock()
        .ok()
        .and_then(|c| c.get(id).cloned());
    let stored = match cached {
        Some(known) => Some(known),
        None => {
            let text: Option<String> = txn
                .prepare_cached("SELECT definition FROM activities WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
                .map_err(backend)?;
            text.map(|t| serde_json::from_str(&t).map_err(backend))
                .transpose()?
        }
    };
    let merged = match &stored {
        Some(_) if !may_define => return Ok(()),
        Some(current) => {
            let mut merged = current.clone();
            merge_definition(&mut merged, definition);
            merged
        }
        None => definition.clone(),
    };
    if stored.as_ref() != Some(&merged) {
        let text = serde_json::to_string(&merged).map_err(backend)?;
        txn.prepare_cached("INSERT OR REPLACE INTO activities (id, definition) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![id, text]))
            .map_err(backend)?;
    }
    if let Ok(mut cache) = state.activities.lock() {
        if cache.len() >= MAX_CACHED_ACTIVITIES {
            cache.clear();
        }
        cache.insert(id.to_owned(), merged);
    }
    Ok(())
}

const DOCUMENT_COLUMNS: &str = "content_type, content, etag, updated";

fn row_to_document(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    Ok(Document {
        content_type: r.get(0)?,
        content: r.get(1)?,
        etag: r.get(2)?,
        updated_ms: r.get(3)?,
    })
}

fn read_document(
    conn: &Connection,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<Document>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents
         WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND doc_id = ?5"
    ))
    .and_then(|mut s| {
        s.query_row(
            params![
                scope.kind.as_i64(),
                scope.activity,
                scope.agent,
                scope.registration.as_deref().unwrap_or(""),
                id
            ],
            row_to_document,
        )
        .optional()
    })
    .map_err(backend)
}

fn row_to_statement(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredStatement> {
    let id: String = r.get(1)?;
    Ok(StoredStatement {
        seq: r.get(0)?,
        id: Uuid::parse_str(&id).unwrap_or_default(),
        stored_ms: r.get(2)?,
        voided: r.get(3)?,
        json: r.get(4)?,
    })
}

fn query_page(conn: &Connection, q: &StatementQuery) -> Result<StatementPage, StoreError> {
    let snapshot = match q.snapshot_seq {
        Some(s) => s,
        None => conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM statements", [], |r| {
                r.get(0)
            })
            .map_err(backend)?,
    };
    let terms = super::query_terms(q);
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut sql = String::from("SELECT s.seq, s.id, s.stored, s.voided, s.json FROM ");
    let seq_col = if terms.is_empty() {
        sql.push_str("statements s WHERE s.voided = 0");
        "s.seq"
    } else {
        sql.push_str(
            "terms t0 JOIN statements s ON s.seq = t0.seq WHERE t0.term = ? AND s.voided = 0",
        );
        args.push(terms[0].clone().into());
        for term in &terms[1..] {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM terms tx WHERE tx.term = ? AND tx.seq = t0.seq)",
            );
            args.push(term.clone().into());
        }
        "t0.seq"
    };
    sql.push_str(&format!(" AND {seq_col} <= ?"));
    args.push(snapshot.into());
    if let Some(after) = q.after_seq {
        sql.push_str(&format!(
            " AND {seq_col} {} ?",
            if q.ascending { ">" } else { "<" }
        ));
        args.push(after.into());
    }
    if let Some(since) = q.since_ms {
        sql.push_str(" AND s.stored > ?");
        args.push(since.into());
    }
    if let Some(until) = q.until_ms {
        sql.push_str(" AND s.stored <= ?");
        args.push(until.into());
    }
    let limit = q.limit.max(1);
    sql.push_str(&format!(
        " ORDER BY {seq_col} {} LIMIT {}",
        if q.ascending { "ASC" } else { "DESC" },
        limit + 1
    ));
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let statements: Vec<StoredStatement> = stmt
        .query_map(rusqlite::params_from_iter(args), row_to_statement)
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(StatementPage::from_overfetch(statements, limit, snapshot))
}

fn row_to_credential(r: &rusqlite::Row<'_>) -> rusqlite::Result<Credential> {
    let scopes: String = r.get(2)?;
    Ok(Credential {
        key: r.get(0)?,
        name: r.get(1)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        secret_hash: r.get(3)?,
        created: r.get(4)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.write(move |txn, state| insert_batch(txn, state, batch, &attachments))
            .await
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT seq, id, stored, voided, json FROM statements WHERE id = ?1",
                [id.to_string()],
                row_to_statement,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        let query = query.clone();
        self.read(move |conn| query_page(conn, &query)).await
    }

    async fn attachments(&self, sha2: &[String]) -> Result<Vec<Attachment>, StoreError> {
        let wanted = sha2.to_vec();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT sha2, content_type, data FROM attachments WHERE sha2 = ?1")
                .map_err(backend)?;
            let mut out = Vec::new();
            for hash in wanted {
                let found = stmt
                    .query_row([&hash], |r| {
                        Ok(Attachment {
                            sha2: r.get(0)?,
                            content_type: r.get(1)?,
                            data: r.get(2)?,
                        })
                    })
                    .optional()
                    .map_err(backend)?;
                out.extend(found);
            }
            Ok(out)
        })
        .await
    }

    async fn consistent_through(&self) -> Result<i64, StoreError> {
        let now = now_ms();
        let floor = self.in_flight.load(Ordering::Acquire);
        Ok(if floor == IDLE {
            now
        } else {
            now.min(floor - 1)
        })
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, id, stored, voided, json FROM statements WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![after, limit as i64], row_to_statement)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT seq FROM checkpoints WHERE consumer = ?1",
                [consumer],
                |r| r.get(0),
            )
            .optional()
            .map(|s| s.unwrap_or(0))
            .map_err(backend)
        })
        .await
    }

    async fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |txn, _| {
            txn.execute(
                "INSERT INTO checkpoints (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                params![consumer, seq],
            )
            .map(drop)
            .map_err(backend)
        })
        .await
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, value FROM aggregate_records
                     WHERE consumer = ?1 AND (?2 IS NULL OR key > ?2) ORDER BY key LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![consumer, after_key, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |txn, _| {
            let current: i64 = txn
                .query_row(
                    "SELECT seq FROM checkpoints WHERE consumer = ?1",
                    [&consumer],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != commit.expected_checkpoint {
                return Ok(false);
            }
            {
                let mut delete = txn
                    .prepare_cached("DELETE FROM aggregate_records WHERE consumer = ?1 AND key = ?2")
                    .map_err(backend)?;
                for key in &commit.deletes {
                    delete.execute(params![consumer, key]).map_err(backend)?;
                }
                let mut put = txn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO aggregate_records (consumer, key, value) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(backend)?;
                for (key, value) in &commit.puts {
                    put.execute(params![consumer, key, value]).map_err(backend)?;
                }
            }
            txn.execute(
                "INSERT INTO checkpoints (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                params![consumer, commit.checkpoint],
            )
            .map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |txn, _| {
            txn.execute(
                "DELETE FROM aggregate_records WHERE consumer = ?1",
                [&consumer],
            )
            .map_err(backend)?;
            txn.execute("DELETE FROM checkpoints WHERE consumer = ?1", [&consumer])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn activity_definition(&self, activity_id: &str) -> Result<Option<Value>, StoreError> {
        let id = activity_id.to_owned();
        self.read(move |conn| {
            let text: Option<String> = conn
                .query_row(
                    "SELECT definition FROM activities WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            text.map(|t| serde_json::from_str(&t).map_err(backend))
                .transpose()
        })
        .await
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.read(move |conn| read_document(conn, &scope, &id))
            .await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let scope = scope.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT doc_id, updated FROM documents
                     WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND (?4 IS NULL OR registration = ?4) AND updated > ?5
                     ORDER BY doc_id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration, since_ms.unwrap_or(i64::MIN)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.write(move |txn, _| {
            let current = read_document(txn, &scope, &id)?;
            precondition.check(current.as_ref())?;
            // Last-Modified must move forward even within one millisecond.
            let now = now_ms().max(current.as_ref().map_or(0, |d| d.updated_ms + 1));
            let doc = apply_write(current.as_ref(), write, now)?;
            txn.prepare_cached(
                "INSERT OR REPLACE INTO documents (kind, activity, agent, registration, doc_id, content_type, content, etag, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    scope.kind.as_i64(),
                    scope.activity,
                    scope.agent,
                    scope.registration.as_deref().unwrap_or(""),
                    id,
                    doc.content_type,
                    doc.content,
                    doc.etag,
                    doc.updated_ms
                ])
            })
            .map_err(backend)?;
            Ok(doc)
        })
        .await
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let (scope, id) = (scope.clone(), id.map(str::to_owned));
        self.write(move |txn, _| {
            match id {
                Some(id) => {
                    let current = read_document(txn, &scope, &id)?;
                    precondition.check(current.as_ref())?;
                    txn.execute(
                        "DELETE FROM documents WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND doc_id = ?5",
                        params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration.as_deref().unwrap_or(""), id],
                    )
                    .map_err(backend)?;
                }
                None => {
                    txn.execute(
                        "DELETE FROM documents WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND (?4 IS NULL OR registration = ?4)",
                        params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration],
                    )
                    .map_err(backend)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT key, name, scopes, secret_hash, created FROM credentials WHERE key = ?1",
                [key],
                row_to_credential,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn put_credential(&self, c: Credential) -> Result<(), StoreError> {
        self.write(move |txn, _| {
            txn.execute(
                "INSERT OR REPLACE INTO credentials (key, name, scopes, secret_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![c.key, c.name, c.scopes.join(" "), c.secret_hash, c.created],
            )
            .map(drop)
            .map_err(backend)
        })
        .await
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, name, scopes, secret_hash, created FROM credentials ORDER BY created, key")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], row_to_credential)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(move |txn, _| {
            txn.execute("DELETE FROM credentials WHERE key = ?1", [key])
                .map(|n| n > 0)
                .map_err(backend)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if !self.writer_running.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(
                "the SQLite writer has stopped".into(),
            ));
        }
        // Reads the schema page through a pooled reader: touches the file
        // without scanning a table or waiting for the writer.
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(drop)
            .map_err(backend)
        })
        .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // The writer runs jobs in queue order, so once this empty job has
        // committed every write queued before it has too.
        self.write(|_, _| Ok(())).await?;
        self.read(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(backend)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_passes_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        crate::store::contract::run_all(&store).await;
    }

    fn defining(id: Uuid, verb: &str, activity: &str) -> NewStatement {
        use crate::xapi::{JsonPath, Statement, XapiVersion};
        let value = serde_json::json!({
            "id": id.to_string(),
            "actor": {"mbox": "mailto:ana@example.com"},
            "verb": {"id": verb},
            "object": {"id": activity, "definition": {"name": {"en": "Lesson"}}}
        });
        let statement = Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).unwrap();
        NewStatement::new(statement, "test".into(), false)
    }

    #[tokio::test]
    async fn a_rolled_back_batch_leaves_no_cached_activity_definition() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let taken = Uuid::new_v4();
        store
            .insert_statements(
                vec![defining(taken, "http://x.io/v", "http://x.io/other")],
                vec![],
            )
            .await
            .unwrap();
        // The batch records a new definition, then fails on the taken id.
        let batch = vec![
            defining(Uuid::new_v4(), "http://x.io/v", "http://x.io/rolled-back"),
            defining(taken, "http://x.io/different", "http://x.io/other"),
        ];
        assert!(store.insert_statements(batch, vec![]).await.is_err());
        assert_eq!(
            store
                .activity_definition("http://x.io/rolled-back")
                .await
                .unwrap(),
            None
        );
        // Sent again, the same definition must be stored this time.
        store
            .insert_statements(
                vec![defining(
                    Uuid::new_v4(),
                    "http://x.io/v",
                    "http://x.io/rolled-back",
                )],
                vec![],
            )
            .await
            .unwrap();
        assert!(store
            .activity_definition("http://x.io/rolled-back")
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn statements_survive_reopening_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = SqliteStore::open(dir.path()).unwrap();
            let ids = store
                .insert_statements(
                    vec![crate::store::contract::new_statement(
                        "mailto:reopen@example.com",
                        "http://x.io/v",
                    )],
                    vec![],
                )
                .await
                .unwrap();
            ids[0]
        };
        let store = SqliteStore::open(dir.path()).unwrap();
        assert!(store.statement(id).await.unwrap().is_some());
    }
}
