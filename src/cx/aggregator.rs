//! The CX aggregator: reads the store's ordered log from its checkpoint,
//! folds each entry into the in-memory index, and persists the facts with
//! the checkpoint in one atomic, checkpoint-guarded commit
//! (`Store::commit_aggregate`).
//!
//! Several processes can fold the same log: each keeps its own index, and
//! only the one whose commit starts from the stored checkpoint writes. A
//! process whose commit is refused re-reads the stored checkpoint and, when
//! it is behind its own position, persists the missing range again from the
//! log (facts are a deterministic function of the log, so any writer
//! produces the same records). A restart loads the records and continues
//! from the stored checkpoint; records of another format (an upgrade) are
//! dropped, and the state is rebuilt from the whole log.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::facts::{extract, Fact, LogEntry, RecordError};
use super::index::Index;
use super::Cx;
use crate::store::{AggregateCommit, Store, StoreError, StoreExt, StoredStatement};

/// The aggregator's consumer name (checkpoint and records).
pub const CONSUMER: &str = "cx";
/// Statements read per step.
pub const PAGE: usize = 5000;
const LOAD_PAGE: usize = 20_000;
const IDLE_POLL: Duration = Duration::from_millis(100);

pub struct Aggregator {
    store: Arc<dyn Store>,
    cx: Arc<Cx>,
    /// The stored checkpoint as last seen by this process.
    persisted: i64,
    page: usize,
}

/// Net record changes of a range of the log, in log order.
fn record_changes(entries: &[(i64, LogEntry)]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut changes = BTreeMap::new();
    for (_, entry) in entries {
        match entry {
            LogEntry::Counted(id, fact) => {
                changes.insert(id.to_string(), Some(fact.to_record()));
            }
            LogEntry::Voids(target) => {
                changes.insert(target.to_string(), None);
            }
            LogEntry::Ignored => {}
        }
    }
    changes
}

fn commit_of(from: i64, to: i64, changes: BTreeMap<String, Option<Vec<u8>>>) -> AggregateCommit {
    let mut commit = AggregateCommit {
        expected_checkpoint: from,
        checkpoint: to,
        ..AggregateCommit::default()
    };
    for (key, value) in changes {
        match value {
            Some(bytes) => commit.puts.push((key, bytes)),
            None => commit.deletes.push(key),
        }
    }
    commit
}

fn entries_of(page: &[StoredStatement]) -> Vec<(i64, LogEntry)> {
    page.iter().map(|s| (s.seq, extract(s))).collect()
}

/// Applies log entries to an index, in order.
pub fn apply(index: &mut Index, entries: &[(i64, LogEntry)]) {
    for (_, entry) in entries {
        match entry {
            LogEntry::Counted(id, fact) => {
                index.insert(*id, fact);
            }
            LogEntry::Voids(target) => {
                index.remove(target);
            }
            LogEntry::Ignored => {}
        }
    }
}

/// The persisted records as read: the index they make up, or the format
/// of the first record of another format.
#[derive(Default)]
struct Loaded {
    index: Index,
    other_format: Option<u8>,
}

impl Aggregator {
    /// Loads the persisted state into `cx` and returns the aggregator that
    /// continues from the stored checkpoint. Records of another format
    /// are deleted with the checkpoint, so the aggregator starts over from
    /// the beginning of the log.
    pub async fn load(store: Arc<dyn Store>, cx: Arc<Cx>) -> Result<Aggregator, StoreError> {
        loop {
            // The records all belong to one checkpoint, even when another
            // process commits while they are read.
            let (checkpoint, loaded) = store
                .fold_aggregate(CONSUMER, LOAD_PAGE, |acc: &mut Loaded, key, value| {
                    if acc.other_format.is_some() {
                        return Ok(());
                    }
                    let id = Uuid::parse_str(key).map_err(|e| StoreError::Backend {
                        backend: "cx",
                        source: anyhow::anyhow!("aggregate record key {key:?}: {e}"),
                    })?;
                    match Fact::from_record(value) {
                        Ok(fact) => {
                            acc.index.insert(id, &fact);
                            Ok(())
                        }
                        Err(RecordError::OtherFormat { found }) => {
                            acc.other_format = Some(found);
                            Ok(())
                        }
                        Err(e) => Err(StoreError::Backend {
                            backend: "cx",
                            source: anyhow::anyhow!("aggregate record {key}: {e}"),
                        }),
                    }
                })
                .await?;
            if let Some(found) = loaded.other_format {
                tracing::warn!(
                    found,
                    expected = super::facts::RECORD_FORMAT,
                    "the persisted CX records are of another format; \
                     rebuilding them from the statement log"
                );
                store.reset_aggregate(CONSUMER).await?;
                continue;
            }
            *cx.write() = loaded.index;
            cx.checkpoint.store(checkpoint, Ordering::Release);
            cx.loaded.store(true, Ordering::Release);
            return Ok(Aggregator {
                store,
                cx,
                persisted: checkpoint,
                page: PAGE,
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

    /// Folds the next page of the log; answers how many statements it read.
    pub async fn run_once(&mut self) -> Result<usize, StoreError> {
        let from = self.cx.checkpoint();
        let page = self.store.log_after(from, self.page).await?;
        let Some(last) = page.last() else {
            self.cx.pending_since_ms.store(-1, Ordering::Release);
            return Ok(0);
        };
        let to = last.seq;
        self.cx
            .pending_since_ms
            .store(page[0].stored_ms, Ordering::Release);
        let entries = entries_of(&page);
        apply(&mut self.cx.write(), &entries);
        self.cx.checkpoint.store(to, Ordering::Release);
        let pending = if page.len() < self.page {
            -1
        } else {
            match self.store.log_after(to, 1).await?.first() {
                Some(next) => next.stored_ms,
                None => -1,
            }
        };
        self.cx.pending_since_ms.store(pending, Ordering::Release);
        self.persist(from, to, &entries).await?;
        Ok(page.len())
    }

    /// Persists `(from, to]`, whose entries are given.
    async fn persist(
        &mut self,
        from: i64,
        to: i64,
        entries: &[(i64, LogEntry)],
    ) -> Result<(), StoreError> {
        if self.persisted == from {
            let commit = commit_of(from, to, record_changes(entries));
            if self.store.commit_aggregate(CONSUMER, commit).await? {
                self.persisted = to;
                return Ok(());
            }
        }
        self.catch_up(to).await
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
            let commit = commit_of(from, last, record_changes(&entries_of(&page)));
            if self.store.commit_aggregate(CONSUMER, commit).await? {
                self.persisted = last;
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
    use crate::cx::facts::RECORD_FORMAT;
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
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|(_, v)| v[0] == RECORD_FORMAT));

        // What a build before numbered formats left: bare JSON objects, and
        // here also the fact of a statement the log does not hold, which a
        // rebuild from the log cannot bring back.
        let checkpoint = store.checkpoint(CONSUMER).await.unwrap();
        let mut puts: Vec<(String, Vec<u8>)> = written
            .iter()
            .map(|(k, v)| (k.clone(), v[1..].to_vec()))
            .collect();
        puts.push((Uuid::new_v4().to_string(), puts[0].1.clone()));
        let old = AggregateCommit {
            expected_checkpoint: checkpoint,
            checkpoint,
            deletes: vec![],
            puts,
        };
        assert!(store.commit_aggregate(CONSUMER, old).await.unwrap());

        let (logs, guard) = Captured::start();
        let cx = Arc::new(Cx::new(Settings::default()));
        let mut upgraded = Aggregator::load(store.clone(), cx.clone()).await.unwrap();
        assert_eq!(cx.checkpoint(), 0, "starts over from the log");
        assert_eq!(cx.read().facts(), 0);
        assert!(records(store.as_ref()).await.is_empty());
        upgraded.catch_up_with_log().await.unwrap();
        drop(guard);
        let logged = logs.text();
        assert!(
            logged.contains("of another format") && logged.contains("found=1"),
            "{logged}"
        );
        assert_eq!(cx.checkpoint(), checkpoint);
        assert_eq!(cx.read().facts(), 2);
        assert_eq!(records(store.as_ref()).await, written);

        // Records of this build's format load as they are.
        let (logs, guard) = Captured::start();
        let cx = Arc::new(Cx::new(Settings::default()));
        Aggregator::load(store.clone(), cx.clone()).await.unwrap();
        drop(guard);
        assert_eq!(cx.checkpoint(), checkpoint);
        assert_eq!(cx.read().facts(), 2);
        assert!(!logs.text().contains("another format"), "{}", logs.text());
    }
}
