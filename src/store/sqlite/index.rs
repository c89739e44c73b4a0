//! The query index: a second SQLite database beside the statement log
//! (`trellis-index.db`), kept by a background indexer thread.
//!
//! Why a second database: the statement writer's transaction then holds
//! only the statement rows (about a dozen index rows per statement, in
//! random places of large B-trees, were most of its work), and the indexer
//! writes its own file under its own write lock, so neither waits for the
//! other. The index is derived data: it is rebuilt from the log when it is
//! missing, of another format, or does not match the log, and it may lose
//! its last transactions in a power cut (it is written with
//! `synchronous=NORMAL`), since the indexer then redoes them from its
//! recorded position.
//!
//! Layout: `terms` interns each query key (`store::term_keys`) to an
//! integer id, `postings (term, seq)` lists the statements a key finds in
//! log order (a `WITHOUT ROWID` table of two integers), and `position` is
//! the log position (with its statement's `stored` and id) up to which
//! every statement is indexed. Each indexer step reads the statements
//! after the position from the log, derives their keys from the stored
//! text, and inserts the postings of up to `STEP` statements in key order
//! with the new position, in one transaction.
//!
//! Queries read only postings at or below the published position, so they
//! never see a partial answer; `SqliteStore::query` first waits (briefly)
//! for the indexer to reach the log's end as of the query.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::{open_connection, use_wal, BUSY_TIMEOUT};
use crate::store::{term_keys_of, CREDENTIAL_PREFIX};
use crate::xapi::statement::{statement_ref_target, StatementTerms};

/// The index database's file name, in the data directory.
pub(super) const INDEX_FILE: &str = "trellis-index.db";
/// The format of the index database (its `user_version`). An index of any
/// other format is dropped and rebuilt from the log.
const FORMAT: i64 = 1;
/// The most statements one indexer step takes.
const STEP: i64 = 50_000;
/// How often the indexer looks at the log when nothing wakes it (another
/// process, such as `trellis import`, may append to it).
const POLL: Duration = Duration::from_millis(500);
/// How long the indexer waits after a failed step.
const RETRY: Duration = Duration::from_secs(1);
/// Bound on the indexer's cache of interned keys.
const MAX_CACHED_TERMS: usize = 1_000_000;
/// How deep a chain of StatementRefs passes its target's keys on.
const MAX_REF_DEPTH: usize = 16;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS terms (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS postings (
    term INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (term, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS position (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
    seq INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    id TEXT NOT NULL
);";

/// Where the index stands: every statement with `seq <= self.seq` is
/// indexed; `stored_ms` is that statement's `stored` (0 for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Position {
    pub seq: i64,
    pub stored_ms: i64,
}

/// What the writer, the readers and the indexer thread share.
pub(super) struct IndexShared {
    /// The newest committed log position, set by the writer after each
    /// commit.
    committed: AtomicI64,
    /// Bumped with `committed`; the indexer sleeps on it.
    wake: Mutex<u64>,
    woken: Condvar,
    position: watch::Sender<Position>,
    stop: AtomicBool,
}

impl IndexShared {
    /// Records that the log now ends at `seq` and wakes the indexer.
    pub(super) fn committed(&self, seq: i64) {
        self.committed.fetch_max(seq, Ordering::AcqRel);
        if let Ok(mut generation) = self.wake.lock() {
            *generation = generation.wrapping_add(1);
        }
        self.woken.notify_one();
    }

    /// The newest committed log position the writer reported.
    pub(super) fn log_end(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
    }

    pub(super) fn position(&self) -> Position {
        *self.position.borrow()
    }

    /// Waits until the index covers `seq`, at most `timeout`; answers the
    /// position then (which may still be behind `seq`).
    pub(super) async fn wait_for(&self, seq: i64, timeout: Duration) -> Position {
        let mut rx = self.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| p.seq >= seq)).await;
        match reached {
            Ok(Ok(p)) => *p,
            _ => self.position(),
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Ok(mut generation) = self.wake.lock() {
            *generation = generation.wrapping_add(1);
        }
        self.woken.notify_one();
    }
}

/// The store's handle on its indexer thread; dropping it stops the thread.
pub(super) struct Index {
    pub(super) shared: Arc<IndexShared>,
}

impl Drop for Index {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

impl Index {
    /// Opens (creating or resetting it as needed) the index of the log at
    /// `log_path` and starts its indexer thread. `log_end` is the log's
    /// newest position.
    pub(super) fn start(log_path: &Path, index_path: &Path, log_end: i64) -> anyhow::Result<Index> {
        let log = open_connection(log_path)?;
        let mut conn = open_index(index_path)?;
        let position = prepare(&mut conn, &log)?;
        let (tx, _) = watch::channel(position);
        let shared = Arc::new(IndexShared {
            committed: AtomicI64::new(log_end),
            wake: Mutex::new(0),
            woken: Condvar::new(),
            position: tx,
            stop: AtomicBool::new(false),
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("sqlite-indexer".into())
            .spawn(move || indexer_loop(&log, conn, &thread_shared))
            .context("starting the indexer thread")?;
        Ok(Index { shared })
    }
}

/// The index database's write connection. The log is read through a
/// connection of its own: with the log attached, the index's write
/// transactions would take the log's write lock too.
fn open_index(index_path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(index_path)
        .with_context(|| format!("opening {}", index_path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL: a power cut may undo the last steps, which the indexer redoes
    // from its recorded position; the log itself stays FULL.
    use_wal(&conn)?;
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;",
    )
    .context("configuring the index connection")?;
    Ok(conn)
}

/// Attaches the database at `path` to `conn` as `name`.
pub(super) fn attach(conn: &Connection, path: &Path, name: &str) -> anyhow::Result<()> {
    let path = path
        .to_str()
        .with_context(|| format!("the path {} is not UTF-8", path.display()))?;
    conn.execute("ATTACH DATABASE ?1 AS ?2", params![path, name])
        .with_context(|| format!("attaching {path}"))?;
    Ok(())
}

/// The path of the index beside the log at `log_path`.
pub(super) fn index_path(log_path: &Path) -> PathBuf {
    log_path.with_file_name(INDEX_FILE)
}

/// Creates the schema, or drops an index that is of another format or does
/// not match the log (its position names another statement); answers the
/// position to go on from.
fn prepare(conn: &mut Connection, log: &Connection) -> anyhow::Result<Position> {
    let txn = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("preparing the index")?;
    let format: i64 = txn.pragma_query_value(Some("main"), "user_version", |r| r.get(0))?;
    let matches_log = if format == FORMAT {
        let recorded: Option<(i64, String)> = txn
            .query_row("SELECT seq, id FROM main.position", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match recorded {
            None => true,
            Some((seq, id)) => {
                let at: Option<String> = log
                    .query_row("SELECT id FROM statements WHERE seq = ?1", [seq], |r| {
                        r.get(0)
                    })
                    .optional()?;
                at.as_deref() == Some(id.as_str())
            }
        }
    } else {
        false
    };
    if !matches_log {
        if format != 0 {
            tracing::warn!(
                format,
                "the query index does not match the statement log; rebuilding it"
            );
        }
        txn.execute_batch(
            "DROP TABLE IF EXISTS main.terms; DROP TABLE IF EXISTS main.postings;
             DROP TABLE IF EXISTS main.position;",
        )?;
    }
    txn.execute_batch(SCHEMA).context("creating the index")?;
    txn.pragma_update(Some("main"), "user_version", FORMAT)?;
    let position = read_position(&txn)?;
    txn.commit().context("preparing the index")?;
    Ok(position)
}

fn read_position(conn: &Connection) -> rusqlite::Result<Position> {
    Ok(conn
        .query_row("SELECT seq, stored FROM main.position", [], |r| {
            Ok(Position {
                seq: r.get(0)?,
                stored_ms: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

fn indexer_loop(log: &Connection, mut conn: Connection, shared: &IndexShared) {
    let mut terms = TermCache::default();
    let mut seen = 0u64;
    while !shared.stop.load(Ordering::Acquire) {
        match step(log, &mut conn, &mut terms) {
            Ok(Some(position)) => {
                shared.position.send_replace(position);
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "indexing statements failed; retrying");
                terms.clear();
                std::thread::sleep(RETRY);
                continue;
            }
        }
        // Caught up: sleep until the writer reports a commit (or a poll).
        let Ok(generation) = shared.wake.lock() else {
            return;
        };
        if *generation == seen && !shared.stop.load(Ordering::Acquire) {
            let waited = shared.woken.wait_timeout(generation, POLL);
            if let Ok((generation, _)) = waited {
                seen = *generation;
            }
        } else {
            seen = *generation;
        }
    }
}

/// Interned keys the indexer has seen, so most keys cost no lookup.
#[derive(Default)]
struct TermCache {
    ids: HashMap<String, i64>,
}

impl TermCache {
    fn clear(&mut self) {
        self.ids.clear();
    }

    fn id(&mut self, conn: &Connection, key: &str) -> rusqlite::Result<i64> {
        if let Some(id) = self.ids.get(key) {
            return Ok(*id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM main.terms WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO main.terms (key) VALUES (?1)")?
                    .execute([key])?;
                conn.last_insert_rowid()
            }
        };
        if self.ids.len() >= MAX_CACHED_TERMS {
            self.ids.clear();
        }
        self.ids.insert(key.to_owned(), id);
        Ok(id)
    }
}

/// One statement of the log as the indexer reads it.
struct LogRow {
    seq: i64,
    stored_ms: i64,
    id: String,
    credential: Option<String>,
    json: String,
}

/// Indexes the statements after the position, up to `STEP` of them, in one
/// transaction; answers the new position, or `None` when there was nothing
/// to index.
fn step(
    log: &Connection,
    conn: &mut Connection,
    terms: &mut TermCache,
) -> anyhow::Result<Option<Position>> {
    let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read inside the transaction: another process indexing the same log
    // moves the position under the same write lock.
    let from = read_position(&txn)?;
    let rows: Vec<LogRow> = log
        .prepare_cached(
            "SELECT seq, stored, id, cred, json FROM statements
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![from.seq, STEP], |r| {
            Ok(LogRow {
                seq: r.get(0)?,
                stored_ms: r.get(1)?,
                id: r.get(2)?,
                credential: r.get(3)?,
                json: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let position = Position {
        seq: last.seq,
        stored_ms: last.stored_ms,
    };
    let last_id = last.id.clone();
    let mut postings: Vec<(i64, i64)> = Vec::with_capacity(rows.len() * 10);
    for row in &rows {
        for key in statement_keys(log, row)? {
            postings.push((terms.id(&txn, &key)?, row.seq));
        }
    }
    // In key order: the postings of one key land on the same pages.
    postings.sort_unstable();
    {
        let mut insert =
            txn.prepare_cached("INSERT OR IGNORE INTO main.postings (term, seq) VALUES (?1, ?2)")?;
        for (term, seq) in postings {
            insert.execute(params![term, seq])?;
        }
    }
    txn.execute(
        "INSERT OR REPLACE INTO main.position (singleton, seq, stored, id) VALUES (0, ?1, ?2, ?3)",
        params![position.seq, position.stored_ms, last_id],
    )?;
    txn.commit()?;
    Ok(Some(position))
}

/// The keys of one stored statement: its own, and those its StatementRef
/// target (stored before it) answers to, except the target's credential.
fn statement_keys(log: &Connection, row: &LogRow) -> anyhow::Result<Vec<String>> {
    let body = parse_body(&row.json)?;
    let mut keys = term_keys_of(
        &StatementTerms::of(&body),
        row.credential.as_deref().unwrap_or_default(),
    );
    if row.credential.is_none() {
        // No credential recorded (a statement written without one): no
        // `u|` key rather than an empty one.
        keys.retain(|k| k != CREDENTIAL_PREFIX);
    }
    let mut target = statement_ref_target(&body);
    let mut before = row.seq;
    for _ in 0..MAX_REF_DEPTH {
        let Some(id) = target else {
            break;
        };
        let found: Option<(i64, String)> = log
            .prepare_cached("SELECT seq, json FROM statements WHERE id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((seq, json)) = found.filter(|(seq, _)| *seq < before) else {
            break;
        };
        let target_body = parse_body(&json)?;
        keys.extend(
            term_keys_of(&StatementTerms::of(&target_body), "")
                .into_iter()
                .filter(|k| !k.starts_with(CREDENTIAL_PREFIX)),
        );
        target = statement_ref_target(&target_body);
        before = seq;
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

fn parse_body(json: &str) -> anyhow::Result<Map<String, Value>> {
    serde_json::from_str(json).context("a stored statement is not a JSON object")
}

/// A read connection on the log with the index attached as `ix`.
pub(super) fn open_reader(log_path: &Path) -> anyhow::Result<Connection> {
    let conn = open_connection(log_path)?;
    attach(&conn, &index_path(log_path), "ix")?;
    Ok(conn)
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
