//! The writer thread: it owns the only write connection and runs every
//! write of the store.
//!
//! It takes every request waiting in its queue, runs each in its own
//! SAVEPOINT inside one transaction and commits once (group commit), so a
//! request stays atomic while many requests share one fsync. A request's
//! caller hears back only after the commit, so `Ok` means durable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use anyhow::Context as _;
use rusqlite::{Connection, Transaction};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::index::IndexShared;
use super::{backend, now_ms};
use crate::store::StoreError;

/// The most requests one group commit takes.
const MAX_GROUP: usize = 256;
/// `in_flight` sentinel: no write in flight.
const IDLE: i64 = i64::MAX;
/// Bound on `WriterState::activities`.
const MAX_CACHED_ACTIVITIES: usize = 100_000;

type Responder = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Transaction<'_>, &WriterState) -> (bool, Responder) + Send>;

/// State only the writer thread changes; jobs read and update it.
pub(super) struct WriterState {
    /// The `stored` value (ms) of the newest committed or in-flight statement.
    last_stored: AtomicI64,
    /// The `stored` floor of the transaction in flight, or `IDLE`.
    in_flight: Arc<AtomicI64>,
    /// Canonical Activity definitions as stored, so a statement repeating a
    /// known definition costs no read or write. Cleared whenever a write
    /// rolls back, so it never holds what the database does not.
    activities: Mutex<HashMap<String, Map<String, Value>>>,
}

impl WriterState {
    /// The `stored` time for statements written now: never before the
    /// newest one, so `stored` never decreases in log order.
    pub(super) fn next_stored(&self) -> i64 {
        now_ms().max(self.last_stored.load(Ordering::Acquire))
    }

    /// Records the `stored` time a job just gave its statements.
    pub(super) fn stored_at(&self, stored_ms: i64) {
        self.last_stored.store(stored_ms, Ordering::Release);
    }

    pub(super) fn cached_activity(&self, id: &str) -> Option<Map<String, Value>> {
        self.activities.lock().ok().and_then(|c| c.get(id).cloned())
    }

    pub(super) fn cache_activity(&self, id: &str, definition: Map<String, Value>) {
        if let Ok(mut cache) = self.activities.lock() {
            if cache.len() >= MAX_CACHED_ACTIVITIES {
                cache.clear();
            }
            cache.insert(id.to_owned(), definition);
        }
    }

    fn forget_activities(&self) {
        if let Ok(mut cache) = self.activities.lock() {
            cache.clear();
        }
    }
}

/// The handle the store keeps on its writer thread.
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    in_flight: Arc<AtomicI64>,
    /// False once the thread has ended (it only ends on a panic or when the
    /// store is dropped).
    running: Arc<AtomicBool>,
}

/// Marks the writer stopped when its thread ends, however it ends.
struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Writer {
    /// Starts the writer thread on `conn`, a database whose schema is
    /// current.
    pub(super) fn start(mut conn: Connection, index: Arc<IndexShared>) -> anyhow::Result<Writer> {
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
        let running = Arc::new(AtomicBool::new(true));
        let guard = RunningGuard(running.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let _guard = guard;
                writer_loop(&mut conn, &state, &index, queue)
            })
            .context("starting the writer thread")?;
        Ok(Writer {
            jobs,
            in_flight,
            running,
        })
    }

    /// Runs `f` in the writer's transaction (in its own savepoint) and
    /// answers once that transaction has committed.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
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
        self.jobs.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    pub(super) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// `now_ms`, or just before the `stored` of the transaction in flight:
    /// its statements are not visible yet.
    pub(super) fn visible_through(&self, now_ms: i64) -> i64 {
        let floor = self.in_flight.load(Ordering::Acquire);
        if floor == IDLE {
            now_ms
        } else {
            now_ms.min(floor - 1)
        }
    }
}

pub(super) fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".into())
}

fn writer_loop(
    conn: &mut Connection,
    state: &WriterState,
    index: &IndexShared,
    queue: mpsc::Receiver<Job>,
) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        state
            .in_flight
            .store(state.next_stored(), Ordering::Release);
        let responders = run_group(conn, state, group);
        // Before `in_flight` clears: a reader that sees no write in flight
        // also sees the log end this write committed.
        if let Ok(end) = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM statements", [], |r| {
            r.get::<_, i64>(0)
        }) {
            index.committed(end);
        }
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
