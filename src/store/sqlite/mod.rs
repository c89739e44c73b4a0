//! `SqliteStore`: the embedded default backend, one SQLite database in the
//! data directory.
//!
//! # Layout
//! - `writer`: the writer thread, which owns the only write connection and
//!   group-commits the writes of many requests in one transaction.
//! - `index`: the query index, a second database kept behind the log by a
//!   background indexer thread.
//! - `schema`: the numbered schema migrations (`migrations/*.sql`), tracked
//!   in `PRAGMA user_version` and run at open.
//! - `statements`: the statement log (insert, voiding, query terms, query
//!   plans, the log order).
//! - `documents`: documents and canonical Activity definitions.
//! - `attachments`: attachment content and who may get it (grants,
//!   senders).
//! - `credentials`, `consumers` (checkpoints and aggregate records).
//! - this file: opening the database, the reader pool, the whole-store
//!   operations.
//!
//! Reads use a small pool of connections on the blocking thread pool (WAL
//! mode lets them run beside the writer).

mod attachments;
mod consumers;
mod credentials;
mod documents;
mod index;
mod schema;
mod statements;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use rusqlite::Connection;

use super::{Store, StoreError};
use index::Index;
use writer::{Writer, WriterState};

/// How long SQLite waits for a lock held by another process (the CLI).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the embedded store keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSettings {
    /// The directory holding `trellis.db` (created when missing).
    pub data_dir: PathBuf,
}

impl Default for SqliteSettings {
    fn default() -> SqliteSettings {
        SqliteSettings {
            data_dir: PathBuf::from("./trellis-data"),
        }
    }
}

pub struct SqliteStore {
    writer: Writer,
    index: Index,
    readers: Arc<ReaderPool>,
    /// The schema version the database was brought to at open.
    schema_version: u32,
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (or creates) the database `trellis.db` in `data_dir` and
    /// brings its schema to the newest version (see `schema`); refuses a
    /// database written by a newer release.
    pub fn open(data_dir: &Path) -> anyhow::Result<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let path = data_dir.join("trellis.db");
        let mut conn = open_writer(&path)?;
        let schema_version =
            schema::migrate(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
        let log_end: i64 = conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM statements", [], |r| {
                r.get(0)
            })
            .context("reading the end of the log")?;
        let index = Index::start(&path, &index::index_path(&path), log_end)?;
        Ok(SqliteStore {
            schema_version,
            writer: Writer::start(conn, index.shared.clone())?,
            index,
            readers: Arc::new(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The schema version of the database (the newest this binary knows).
    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// Runs `f` in the writer's transaction (in its own savepoint).
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, &WriterState) -> Result<T, StoreError>
            + Send
            + 'static,
    {
        self.writer.run(f).await
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
                _ => index::open_reader(&pool.path).map_err(backend)?,
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
    use_wal(&conn)?;
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;",
    )
    .context("configuring the connection")?;
    Ok(conn)
}

/// Puts the database in WAL mode. Processes opening a new database together
/// race to switch it, and SQLite refuses all but one of them with
/// SQLITE_BUSY at once, without waiting for the busy timeout (each holds a
/// shared lock while asking for an exclusive one, which waiting could
/// deadlock). The switch is idempotent, so it is retried until the timeout.
pub(super) fn use_wal(conn: &Connection) -> anyhow::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => anyhow::bail!("the database stays in journal mode {mode:?}, not WAL"),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e).context("switching the database to WAL"),
        }
    }
}

fn backend(e: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Backend {
        backend: "sqlite",
        source: e.into(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        if !self.writer.is_running() {
            return Err(writer::stopped());
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
    use crate::store::StatementLog;

    #[tokio::test]
    async fn sqlite_store_passes_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        crate::store::contract::run_all(&store).await;
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

    /// SQLite answers all but one of several connections switching a new
    /// database to WAL at the same moment with SQLITE_BUSY, busy timeout or
    /// not (about 2 % of such connections failed before the retry).
    #[test]
    fn connections_racing_to_configure_a_new_database_all_succeed() {
        for _ in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("race.db");
            let start = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                let racers: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            open_connection(&path).map(drop)
                        })
                    })
                    .collect();
                for racer in racers {
                    racer.join().unwrap().unwrap();
                }
            });
        }
    }
}
