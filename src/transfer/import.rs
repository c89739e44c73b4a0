//! `trellis import`: statements from files straight into the store,
//! validated exactly as the Statement Resource validates them: each record
//! goes through `ingest::prepare` as a POST of that statement alone, under
//! `ingest::Options::import`, which differs from the Statement Resource's
//! options only in these policies:
//!
//! - **Ids.** A statement keeps its `id`; one without gets a UUID v5
//!   derived from its content (`ingest::MissingIds::FromContent`), so
//!   importing the same file again resubmits the same statements and the
//!   store skips the equivalent ones: an interrupted import is resumed by
//!   running it again, storing nothing twice.
//! - **Authority.** The LRS sets the authority of statements it receives
//!   from a client; an import carries statements another LRS already
//!   received, so a statement keeps its `authority` when it has one
//!   (`ingest::AuthorityRule::KeepGiven`), and otherwise gets the import's
//!   authority (an Agent with account `import` on the server's public URL).
//! - **Stored.** `stored` is always assigned anew by the store (it orders
//!   the log); `timestamp` is kept, and set to the original `stored` when
//!   a statement has no `timestamp` but a `stored`.
//! - **Versions.** Optionally, a statement the chosen version's rules
//!   refuse is tried under 1.0.3's (`--fallback-1-0-3`).
//! - **Throughput.** `push_all` validates a chunk of records on every core
//!   (validation is most of an import's work) and keeps one batch write in
//!   flight while the next chunk is validated; batches are still written one
//!   after the other, in file order.
//! - **Atomicity.** Statements go to the store in batches, each atomic. A
//!   batch the store refuses (a conflicting id, a void of a voiding
//!   statement) is retried statement by statement so that only the faulty
//!   ones are rejected. Ids repeated within a file are no duplicate
//!   submission: each record is its own; a repeat starts a new batch, so
//!   the store sees it as a resubmission (equivalent, or a conflict).
//!
//! A file carries no attachment content, so a statement declaring an
//! attachment without `fileUrl`, or a signature, is refused as a POST
//! without its parts would be.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use super::source::{Location, Record};
use crate::ingest::{self, Sender, Submission};
use crate::store::{NewStatement, Store, StoreError};
use crate::xapi::XapiVersion;

/// The credential key imported statements are recorded under.
pub const IMPORT_KEY: &str = "import";

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub version: XapiVersion,
    /// Rules to try when `version`'s refuse a statement (e.g. 1.0.3 files).
    pub fallback: Option<XapiVersion>,
    pub batch_size: usize,
    /// The authority of statements that carry none.
    pub authority: Value,
}

impl ImportOptions {
    /// The ingestion policy of an import (see the module header).
    fn ingest(&self) -> ingest::Options {
        let sender = Sender {
            authority: self.authority.clone(),
            key: IMPORT_KEY.into(),
            // An export carries the definitions the source LRS held.
            may_define: true,
        };
        ingest::Options::import(self.version, self.fallback, sender)
    }
}

/// A statement that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub file: String,
    pub location: Location,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Statements read (valid or not).
    pub read: usize,
    /// Statements now in the store (newly stored or already there).
    pub stored: usize,
    pub rejected: Vec<Rejected>,
}

/// The authority given to imported statements without one.
pub fn import_authority(home_page: &str) -> Value {
    serde_json::json!({
        "objectType": "Agent",
        "name": "Trellis import",
        "account": {"homePage": home_page, "name": IMPORT_KEY}
    })
}

/// Validates one record into a statement ready to store.
fn prepare(value: Value, options: &ingest::Options) -> Result<NewStatement, String> {
    let batch = ingest::prepare(Submission::single(value), Vec::new(), options)
        .map_err(|e| e.to_string())?;
    // A submission of one statement that passed yields one statement.
    batch
        .statements
        .into_iter()
        .next()
        .ok_or_else(|| "the record holds no statement".to_owned())
}

/// What storing one batch came to.
#[derive(Debug, Default)]
struct Written {
    stored: usize,
    rejected: Vec<Rejected>,
}

/// Feeds validated statements to the store in atomic batches.
pub struct Importer {
    store: Arc<dyn Store>,
    options: ImportOptions,
    ingest: Arc<ingest::Options>,
    batch: Vec<(Rejected, NewStatement)>,
    ids: HashSet<Uuid>,
    /// The batch being written, at most one.
    writing: Option<tokio::task::JoinHandle<Result<Written, StoreError>>>,
    pub report: ImportReport,
}

impl Importer {
    pub fn new(store: Arc<dyn Store>, options: ImportOptions) -> Importer {
        Importer {
            store,
            ingest: Arc::new(options.ingest()),
            options,
            batch: Vec::new(),
            ids: HashSet::new(),
            writing: None,
            report: ImportReport::default(),
        }
    }

    /// Takes one record of `file`; stores a batch when one is full.
    pub async fn push(&mut self, file: &str, record: Record) -> Result<(), StoreError> {
        let location = record.location;
        let prepared = record.value.and_then(|value| prepare(value, &self.ingest));
        self.take(file, location, prepared).await
    }

    /// Takes records of `file` in file order, validated on every core.
    pub async fn push_all(&mut self, file: &str, records: Vec<Record>) -> Result<(), StoreError> {
        let ingest = self.ingest.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare_all(records, &ingest))
            .await
            .map_err(|e| StoreError::Unavailable(format!("validation failed: {e}")))?;
        for (location, statement) in prepared {
            self.take(file, location, statement).await?;
        }
        Ok(())
    }

    async fn take(
        &mut self,
        file: &str,
        location: Location,
        prepared: Result<NewStatement, String>,
    ) -> Result<(), StoreError> {
        self.report.read += 1;
        let reject = |reason: String| Rejected {
            file: file.to_owned(),
            location,
            reason,
        };
        match prepared {
            Err(reason) => self.report.rejected.push(reject(reason)),
            Ok(statement) => {
                let id = statement.statement.id().unwrap_or_default();
                // A batch must not repeat an id: store what came before.
                if self.ids.contains(&id) {
                    self.write_batch().await?;
                }
                self.ids.insert(id);
                self.batch.push((reject(String::new()), statement));
                if self.batch.len() >= self.options.batch_size {
                    self.write_batch().await?;
                }
            }
        }
        Ok(())
    }

    /// Starts writing the pending batch once the previous write finished.
    async fn write_batch(&mut self) -> Result<(), StoreError> {
        self.wait_for_writes().await?;
        let batch = std::mem::take(&mut self.batch);
        self.ids.clear();
        if !batch.is_empty() {
            let store = self.store.clone();
            self.writing = Some(tokio::spawn(write(store, batch)));
        }
        Ok(())
    }

    pub async fn wait_for_writes(&mut self) -> Result<(), StoreError> {
        if let Some(writing) = self.writing.take() {
            let written = writing
                .await
                .map_err(|e| StoreError::Unavailable(format!("the write failed: {e}")))??;
            self.report.stored += written.stored;
            self.report.rejected.extend(written.rejected);
        }
        Ok(())
    }

    /// Stores the pending batch and waits for every write. Statements the
    /// store refuses are reported; an unavailable store is an error
    /// (nothing of the failed batch is stored).
    pub async fn flush(&mut self) -> Result<(), StoreError> {
        self.write_batch().await?;
        self.wait_for_writes().await
    }
}

/// Validates records in order, splitting them over the available cores.
fn prepare_all(
    records: Vec<Record>,
    options: &ingest::Options,
) -> Vec<(Location, Result<NewStatement, String>)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = records.len().div_ceil(threads).max(1);
    let mut records = records;
    let mut parts = Vec::with_capacity(threads);
    while records.len() > chunk {
        let rest = records.split_off(chunk);
        parts.push(records);
        records = rest;
    }
    parts.push(records);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|r| {
                            let prepared = r.value.and_then(|value| prepare(value, options));
                            (r.location, prepared)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![(Location::Line(0), Err("validation panicked".to_owned()))]
                })
            })
            .collect()
    })
}

/// Stores one batch; when the store refuses it, statement by statement so
/// that only the faulty ones are rejected.
async fn write(
    store: Arc<dyn Store>,
    batch: Vec<(Rejected, NewStatement)>,
) -> Result<Written, StoreError> {
    let statements: Vec<NewStatement> = batch.iter().map(|(_, s)| s.clone()).collect();
    let mut written = Written::default();
    match store.insert_statements(statements, Vec::new()).await {
        Ok(ids) => written.stored += ids.len(),
        Err(StoreError::Conflict(_) | StoreError::Invalid(_)) => {
            for (mut origin, statement) in batch {
                match store.insert_statements(vec![statement], Vec::new()).await {
                    Ok(_) => written.stored += 1,
                    Err(e @ (StoreError::Conflict(_) | StoreError::Invalid(_))) => {
                        origin.reason = e.to_string();
                        written.rejected.push(origin);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(e) => return Err(e),
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::StatementQuery;
    use serde_json::json;

    fn options() -> ImportOptions {
        ImportOptions {
            version: XapiVersion::V2_0,
            fallback: Some(XapiVersion::V1_0),
            batch_size: 3,
            authority: import_authority("http://lrs.example.com"),
        }
    }

    fn statement(n: usize) -> Value {
        json!({
            "actor": {"mbox": format!("mailto:l{n}@example.com")},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": format!("http://example.com/a/{n}")},
            "timestamp": "2026-01-01T10:00:00.000Z"
        })
    }

    fn record(n: usize, value: Value) -> Record {
        Record {
            location: Location::Line(n),
            value: Ok(value),
            offset: 0,
        }
    }

    async fn count(store: &Arc<dyn Store>) -> usize {
        store.log_after(0, 10_000).await.unwrap().len()
    }

    #[test]
    fn authority_is_kept_when_present_and_set_otherwise() {
        let mut with = statement(1);
        let theirs = json!({"objectType": "Agent", "account": {"homePage": "http://other.example.com", "name": "lms"}});
        with["authority"] = theirs.clone();
        let prepared = prepare(with, &options().ingest()).unwrap();
        assert_eq!(prepared.statement.body()["authority"], theirs);
        let prepared = prepare(statement(2), &options().ingest()).unwrap();
        assert_eq!(
            prepared.statement.body()["authority"]["account"]["name"],
            IMPORT_KEY
        );
    }

    #[test]
    fn a_1_0_3_statement_needs_the_fallback() {
        // A timestamp without seconds' time zone colon is ISO 8601 but not
        // RFC 3339: 1.0.3 accepts it, 2.0 does not.
        let mut old = statement(1);
        old["timestamp"] = json!("2026-01-01T10:00:00+0100");
        assert!(prepare(old.clone(), &options().ingest()).is_ok());
        let strict = ImportOptions {
            fallback: None,
            ..options()
        };
        assert!(prepare(old, &strict.ingest()).is_err());
    }

    #[tokio::test]
    async fn invalid_statements_are_reported_and_the_rest_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let mut importer = Importer::new(store.clone(), options());
        for n in 1..=7 {
            let value = if n == 4 {
                json!({"actor": {"mbox": "not-a-mailbox"}, "verb": {"id": "http://v.example.com"}, "object": {"id": "http://o.example.com"}})
            } else {
                statement(n)
            };
            importer.push("f.jsonl", record(n, value)).await.unwrap();
        }
        importer.flush().await.unwrap();
        assert_eq!(importer.report.read, 7);
        assert_eq!(importer.report.stored, 6);
        assert_eq!(importer.report.rejected.len(), 1);
        assert_eq!(importer.report.rejected[0].location, Location::Line(4));
        assert!(importer.report.rejected[0].reason.contains("mbox"));
        assert_eq!(count(&store).await, 6);
    }

    #[tokio::test]
    async fn a_conflicting_statement_is_rejected_without_losing_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let id = "0b6e3b6c-1b1a-4c38-9d2e-9c7f0c1d2e3f";
        let mut first = statement(1);
        first["id"] = json!(id);
        let mut clash = statement(2);
        clash["id"] = json!(id);
        let mut importer = Importer::new(store.clone(), options());
        importer.push("f", record(1, first)).await.unwrap();
        importer.flush().await.unwrap();
        for (n, value) in [(2, statement(5)), (3, clash), (4, statement(6))] {
            importer.push("f", record(n, value)).await.unwrap();
        }
        importer.flush().await.unwrap();
        assert_eq!(importer.report.rejected.len(), 1, "{:?}", importer.report);
        assert_eq!(importer.report.rejected[0].location, Location::Line(3));
        assert_eq!(count(&store).await, 3);
        let q = StatementQuery {
            limit: 10,
            ..StatementQuery::default()
        };
        assert_eq!(store.query(&q).await.unwrap().statements.len(), 3);
    }

    #[tokio::test]
    async fn rerunning_an_interrupted_import_stores_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        // The first run stops after two batches of three...
        let mut importer = Importer::new(store.clone(), options());
        for n in 1..=7 {
            importer.push("f", record(n, statement(n))).await.unwrap();
        }
        importer.wait_for_writes().await.unwrap();
        drop(importer);
        assert_eq!(count(&store).await, 6);
        // ...the second reads the whole file again.
        let mut importer = Importer::new(store.clone(), options());
        for n in 1..=10 {
            importer.push("f", record(n, statement(n))).await.unwrap();
        }
        importer.flush().await.unwrap();
        assert!(importer.report.rejected.is_empty());
        assert_eq!(count(&store).await, 10);
    }
}
