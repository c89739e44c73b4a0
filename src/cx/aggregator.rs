//! The CX aggregator: reads the store's ordered log from its checkpoint,
//! folds each entry into its working state, publishes an immutable snapshot
//! for readers, and persists the step's facts with the checkpoint in one
//! atomic, checkpoint-guarded commit (`Store::commit_aggregate`).
//!
//! Several processes can fold the same log: each keeps its own state, and
//! only the one whose commit starts from the stored checkpoint writes. A
//! process whose commit is refused re-reads the stored checkpoint and, when
//! it is behind its own position, persists the missing range again from the
//! log (facts are a deterministic function of the log, and records carry
//! names, not ids, so any writer produces records any reader can use).
//! When the step records grow past half of the facts held, a step's commit
//! instead replaces every record with a snapshot of the whole state
//! (`record`). A restart loads the records and continues from the stored
//! checkpoint; records of another format (an upgrade) are dropped, and the
//! state is rebuilt from the whole log.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::facts::{extract, fact_of, LogEntry};
use super::record::{self, BlockWriter, RecordError, RECORD_FORMAT};
use super::state::State;
use super::{Cx, Snapshot};
use crate::store::{AggregateCommit, Store, StoreError, StoreExt, StoredStatement};

/// The aggregator's consumer name (checkpoint and records).
pub const CONSUMER: &str = "cx";
/// Statements read per step.
pub const PAGE: usize = 5000;
/// Records read per page while loading (snapshot chunks are about 1 MiB).
const LOAD_PAGE: usize = 16;
const IDLE_POLL: Duration = Duration::from_millis(100);
/// While catching up, a snapshot is published at most this often.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// The exported gauges are recomputed at least this often.
const GAUGES_EVERY: Duration = Duration::from_secs(5);
/// Steps are folded into a snapshot once they hold this many facts (and
/// half as many as the state).
const COMPACT_MIN: u64 = 100_000;

pub struct Aggregator {
    store: Arc<dyn Store>,
    cx: Arc<Cx>,
    /// The working state: it shares everything it did not change since with
    /// the published snapshot.
    state: State,
    /// The log position reflected in `state`.
    position: i64,
    /// The stored checkpoint as last seen by this process.
    persisted: i64,
    page: usize,
    /// Facts in the step records written since the last snapshot.
    step_facts: u64,
    stale: Vec<String>,
    /// Steps are folded into a snapshot once they hold this many facts
    /// (and half as many as the state).
    compact_min: u64,
    published: Option<Instant>,
    unpublished: bool,
    /// When the gauges were last computed, and what that cost.
    gauges: Option<(Instant, Duration)>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        backend: "cx",
        source: anyhow::anyhow!("{e}"),
    }
}

/// The statements voided by the voiding statements of a page, read again
/// from the store (a target the store does not hold is left out).
async fn targets(
    store: &dyn Store,
    page: &[StoredStatement],
) -> Result<HashMap<i64, StoredStatement>, StoreError> {
    let mut out = HashMap::new();
    for s in page {
        if let LogEntry::Voids(target) = extract(s) {
            if let Some(t) = store.statement(target).await? {
                out.insert(s.seq, t);
            }
        }
    }
    Ok(out)
}

/// Folds a page into `state` (when given) and encodes its step record;
/// answers the record and its number of facts.
fn fold(
    mut state: Option<&mut State>,
    page: &[StoredStatement],
    targets: &HashMap<i64, StoredStatement>,
) -> (Vec<u8>, u64) {
    let mut writer = BlockWriter::default();
    for s in page {
        match extract(s) {
            LogEntry::Counted(f) => {
                if let Some(state) = state.as_deref_mut() {
                    state.insert(&f);
                }
                writer.fact(&f);
            }
            LogEntry::Voids(_) => {
                if let Some(f) = targets.get(&s.seq).and_then(fact_of) {
                    if let Some(state) = state.as_deref_mut() {
                        state.retract(f.learner.as_deref(), f.time, f.seq);
                    }
                    writer.retract(f.seq);
                }
            }
            LogEntry::Ignored => {}
        }
    }
    let facts = writer.facts();
    (writer.finish(), facts)
}

/// The records as read at start.
#[derive(Default)]
struct Read {
    records: Vec<(String, Vec<u8>)>,
    /// The format of the first record of another format.
    other: Option<u8>,
}

fn step_commit(from: i64, to: i64, record: Vec<u8>) -> AggregateCommit {
    AggregateCommit {
        expected_checkpoint: from,
        checkpoint: to,
        deletes: Vec::new(),
        puts: vec![(record::step_key(from), record)],
    }
}

impl Aggregator {
    /// Loads the persisted state into `cx` and returns the aggregator that
    /// continues from the stored checkpoint. Records of another format (or
    /// unreadable ones) are deleted with the checkpoint, so the aggregator
    /// starts over from the beginning of the log.
    pub async fn load(store: Arc<dyn Store>, cx: Arc<Cx>) -> Result<Aggregator, StoreError> {
        loop {
            // The records all belong to one checkpoint, even when another
            // process commits while they are read.
            let (checkpoint, read) = store
                .fold_aggregate(CONSUMER, LOAD_PAGE, |acc: &mut Read, key, value| {
                    // Records of another format are not kept: the first
                    // one decides a rebuild.
                    match value.first() {
                        _ if acc.other.is_some() => {}
                        Some(&RECORD_FORMAT) => acc.records.push((key.to_owned(), value.to_vec())),
                        Some(b'{') => acc.other = Some(1),
                        found => acc.other = Some(found.copied().unwrap_or(0)),
                    }
                    Ok(())
                })
                .await?;
            let built = match read.other {
                Some(found) => Err(RecordError::OtherFormat { found }),
                None => {
                    let settings = cx.settings.clone();
                    tokio::task::spawn_blocking(move || record::load(settings, &read.records))
                        .await
                        .map_err(backend)?
                }
            };
            let loaded = match built {
                Ok(loaded) => loaded,
                Err(RecordError::OtherFormat { found }) => {
                    tracing::warn!(
                        found,
                        expected = RECORD_FORMAT,
                        "the persisted CX records are of another format; \
                         rebuilding them from the statement log"
                    );
                    store.reset_aggregate(CONSUMER).await?;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the persisted CX records cannot be read; \
                        rebuilding them from the statement log");
                    store.reset_aggregate(CONSUMER).await?;
                    continue;
                }
            };
            cx.publish(loaded.state.clone(), checkpoint);
            cx.loaded.store(true, Ordering::Release);
            return Ok(Aggregator {
                store,
                cx,
                state: loaded.state,
                position: checkpoint,
                persisted: checkpoint,
                page: PAGE,
                step_facts: loaded.step_facts,
                stale: loaded.stale,
                compact_min: COMPACT_MIN,
                published: Some(Instant::now()),
                unpublished: false,
                gauges: None,
            });
        }
    }

    /// Reads `page` statements per step: tests use small pages to cross
    /// page boundaries.
    #[cfg(test)]
    pub fn with_page(mut self, page: usize) -> Aggregator {
        self.page = page.max(1);
        self
    }

    /// Writes a snapshot once steps hold `facts` facts (and half as many
    /// as the state): tests use small numbers to exercise snapshots.
    #[cfg(test)]
    pub fn with_compaction(mut self, facts: u64) -> Aggregator {
        self.compact_min = facts.max(1);
        self
    }

    /// Publishes the working state (when it changed), with the exported
    /// gauges computed from it when they are due: the gauges of a snapshot
    /// are stored before the snapshot, so whoever sees a snapshot sees
    /// gauges at least as recent. Gauges are due when the state changed and
    /// their last computation is older than 20 times its cost (so they take
    /// at most 5% of a core), or every `GAUGES_EVERY` in any case (as of
    /// now changes the windows).
    async fn publish(&mut self, force: bool) {
        let due = self.published.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY);
        let changed = self.unpublished && (force || due);
        let gauges_due = self.gauges.is_none_or(|(at, cost)| {
            let age = at.elapsed();
            age >= GAUGES_EVERY || (changed && age >= cost * 20)
        });
        let snapshot = if changed {
            Arc::new(Snapshot {
                state: self.state.clone(),
                checkpoint: self.position,
            })
        } else if gauges_due {
            self.cx.snapshot()
        } else {
            return;
        };
        if gauges_due {
            let started = Instant::now();
            let state = snapshot.clone();
            let computed = tokio::task::spawn_blocking(move || {
                let now = chrono::Utc::now().timestamp_micros();
                super::exporter::compute(&state.state, now)
            })
            .await;
            if let Ok(families) = computed {
                self.cx.gauges.store(Arc::new(families));
            }
            self.gauges = Some((Instant::now(), started.elapsed()));
        }
        if changed {
            self.cx.snapshot.store(snapshot);
            self.unpublished = false;
            self.published = Some(Instant::now());
        }
    }

    /// Folds the next page of the log; answers how many statements it read.
    pub async fn run_once(&mut self) -> Result<usize, StoreError> {
        let from = self.position;
        let page = self.store.log_after(from, self.page).await?;
        let Some(last) = page.last() else {
            self.cx.pending_since_ms.store(-1, Ordering::Release);
            self.publish(true).await;
            return Ok(0);
        };
        let to = last.seq;
        let read = page.len();
        if self.cx.pending_since_ms.load(Ordering::Acquire) == -1 {
            self.cx
                .pending_since_ms
                .store(page[0].stored_ms, Ordering::Release);
        }
        let voided = targets(self.store.as_ref(), &page).await?;
        let mut state = std::mem::replace(&mut self.state, State::new(self.cx.settings.clone()));
        let (state, (record, facts)) = tokio::task::spawn_blocking(move || {
            let record = fold(Some(&mut state), &page, &voided);
            (state, record)
        })
        .await
        .map_err(backend)?;
        self.state = state;
        self.position = to;
        self.unpublished = true;
        let caught_up = read < self.page;
        self.publish(caught_up).await;
        let pending = if caught_up {
            -1
        } else {
            match self.store.log_after(to, 1).await?.first() {
                Some(next) => next.stored_ms,
                None => -1,
            }
        };
        if !self.unpublished {
            self.cx.pending_since_ms.store(pending, Ordering::Release);
        }
        self.persist(from, to, record, facts).await?;
        Ok(read)
    }

    /// Persists `(from, to]`, whose step record is given: as one step
    /// record, or, when steps have grown, as a new snapshot replacing every
    /// record.
    async fn persist(
        &mut self,
        from: i64,
        to: i64,
        record: Vec<u8>,
        facts: u64,
    ) -> Result<(), StoreError> {
        if self.persisted == from {
            let held = self.state.counted;
            let commit = if self.step_facts >= self.compact_min.max(held / 2) {
                self.snapshot_commit(from, to).await?
            } else {
                None
            };
            let compacted = commit.is_some();
            let commit = commit.unwrap_or_else(|| step_commit(from, to, record));
            if self.store.commit_aggregate(CONSUMER, commit).await? {
                self.persisted = to;
                if compacted {
                    self.step_facts = 0;
                    self.stale.clear();
                } else {
                    self.step_facts += facts;
                }
                return Ok(());
            }
        }
        self.catch_up(to).await
    }

    /// A commit of `(from, to]` replacing every record by a snapshot of the
    /// working state (which reflects exactly `to`).
    async fn snapshot_commit(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Option<AggregateCommit>, StoreError> {
        // Every record is replaced: the keys are listed from the store, so
        // records another instance wrote are replaced as well.
        let mut deletes = std::mem::take(&mut self.stale);
        let mut after = Some("l".to_owned());
        loop {
            let page = self
                .store
                .aggregate_records(CONSUMER, after.clone(), LOAD_PAGE)
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            deletes.extend(page.into_iter().map(|(k, _)| k));
        }
        let state = self.state.clone();
        let puts = tokio::task::spawn_blocking(move || record::snapshot_records(&state, to))
            .await
            .map_err(backend)?;
        Ok(Some(AggregateCommit {
            expected_checkpoint: from,
            checkpoint: to,
            deletes,
            puts,
        }))
    }

    /// Another process moved the stored checkpoint: persist whatever the
    /// store lacks up to `to` from the log.
    async fn catch_up(&mut self, to: i64) -> Result<(), StoreError> {
        self.persisted = self.store.checkpoint(CONSUMER).await?;
        while self.persisted < to {
            let from = self.persisted;
            let mut page = self.store.log_after(from, self.page).await?;
            page.retain(|s| s.seq <= to);
            let Some(last) = page.last().map(|s| s.seq) else {
                return Ok(());
            };
            let voided = targets(self.store.as_ref(), &page).await?;
            let (record, facts) = fold(None, &page, &voided);
            if self
                .store
                .commit_aggregate(CONSUMER, step_commit(from, last, record))
                .await?
            {
                self.persisted = last;
                self.step_facts += facts;
            } else {
                self.persisted = self.store.checkpoint(CONSUMER).await?;
            }
        }
        Ok(())
    }

    /// Folds until the log is exhausted.
    pub async fn catch_up_with_log(&mut self) -> Result<(), StoreError> {
        while self.run_once().await? > 0 {}
        Ok(())
    }

    /// Runs in the background until `shutdown` completes.
    pub async fn run_until_stopped(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let wait = match self.run_once().await {
                Ok(0) => IDLE_POLL,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = ?e, "the CX aggregator failed a step; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cx::Settings;
    use crate::store::sqlite::SqliteStore;
    use crate::store::NewStatement;
    use crate::telemetry::Captured;
    use crate::xapi::{JsonPath, Statement, XapiVersion};

    fn statement(learner: &str) -> NewStatement {
        let value = json!({
            "actor": {"mbox": format!("mailto:{learner}@example.com")},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "http://school.example/course"}
        });
        let mut statement = Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).unwrap();
        statement.ensure_id();
        NewStatement::new(statement, "test".into(), true)
    }

    async fn records(store: &dyn Store) -> Vec<(String, Vec<u8>)> {
        store.aggregate_records(CONSUMER, None, 100).await.unwrap()
    }

    #[tokio::test]
    async fn records_of_another_format_are_dropped_and_rebuilt_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        store
            .insert_statements(vec![statement("ana"), statement("ben")], vec![])
            .await
            .unwrap();
        let cx = Arc::new(Cx::new(Settings::default()));
        let mut first = Aggregator::load(store.clone(), cx).await.unwrap();
        first.catch_up_with_log().await.unwrap();
        let written = records(store.as_ref()).await;
        assert_eq!(written.len(), 1, "one step record");
        assert!(written.iter().all(|(_, v)| v[0] == RECORD_FORMAT));

        // What a build of format 2 left: one JSON fact per statement, keyed
        // by statement id, here also for a statement the log does not hold
        // (which a rebuild from the log cannot bring back).
        let checkpoint = store.checkpoint(CONSUMER).await.unwrap();
        let old = AggregateCommit {
            expected_checkpoint: checkpoint,
            checkpoint,
            deletes: written.iter().map(|(k, _)| k.clone()).collect(),
            puts: vec![
                (
                    uuid::Uuid::new_v4().to_string(),
                    b"\x02{\"seq\":1}".to_vec(),
                ),
                (
                    uuid::Uuid::new_v4().to_string(),
                    b"\x02{\"seq\":9}".to_vec(),
                ),
            ],
        };
        assert!(store.commit_aggregate(CONSUMER, old).await.unwrap());

        let (logs, guard) = Captured::start();
        let cx = Arc::new(Cx::new(Settings::default()));
        let mut upgraded = Aggregator::load(store.clone(), cx.clone()).await.unwrap();
        assert_eq!(cx.checkpoint(), 0, "starts over from the log");
        assert_eq!(cx.snapshot().state.counted, 0);
        assert!(records(store.as_ref()).await.is_empty());
        upgraded.catch_up_with_log().await.unwrap();
        drop(guard);
        let logged = logs.text();
        assert!(
            logged.contains("of another format") && logged.contains("found=2"),
            "{logged}"
        );
        assert_eq!(cx.checkpoint(), checkpoint);
        assert_eq!(cx.snapshot().state.counted, 2);
        assert_eq!(records(store.as_ref()).await, written);

        // Records of this build's format load as they are.
        let (logs, guard) = Captured::start();
        let cx = Arc::new(Cx::new(Settings::default()));
        Aggregator::load(store.clone(), cx.clone()).await.unwrap();
        drop(guard);
        assert_eq!(cx.checkpoint(), checkpoint);
        assert_eq!(cx.snapshot().state.counted, 2);
        assert!(!logs.text().contains("another format"), "{}", logs.text());
    }

    #[tokio::test]
    async fn a_snapshot_replaces_the_steps_and_a_restart_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let cx = Arc::new(Cx::new(Settings::default()));
        let mut a = Aggregator::load(store.clone(), cx.clone())
            .await
            .unwrap()
            .with_page(2)
            .with_compaction(3);
        for name in ["a", "b", "c", "d", "e"] {
            store
                .insert_statements(vec![statement(name)], vec![])
                .await
                .unwrap();
        }
        a.catch_up_with_log().await.unwrap();
        let keys: Vec<String> = records(store.as_ref())
            .await
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert!(keys.contains(&"m".to_owned()), "{keys:?}");
        assert!(keys.iter().any(|k| k.starts_with('s')), "{keys:?}");
        let restarted = Arc::new(Cx::new(Settings::default()));
        Aggregator::load(store.clone(), restarted.clone())
            .await
            .unwrap();
        assert_eq!(restarted.snapshot().state.counted, 5);
        assert_eq!(restarted.checkpoint(), cx.checkpoint());
    }
}
