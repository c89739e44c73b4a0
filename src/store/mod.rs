//! Storage: the store traits every backend implements, split by concern,
//! and the backend-neutral types they speak.
//!
//! # Layout
//! - `log`: `StatementLog`, statements, attachments and the log order.
//! - `documents`: `DocumentStore`, documents and Activity definitions.
//! - `credentials`: `CredentialStore`.
//! - `consumers`: `ConsumerState`, checkpoints and aggregate records of log
//!   consumers.
//! - `error`: `StoreError`.
//! - `layer`: `Op`, the one list of operations, and `StoreLayer`, the
//!   wrappers' mechanism; `instrumented` (metrics) and `faulty` (tests) are
//!   layers.
//! - `sqlite`, `mongo`: the backends.
//! - `contract`: the behaviour suite every backend runs.
//!
//! Each trait carries its written contract. `Store` is all of them plus the
//! operations on the whole store; handlers hold an `Arc<dyn Store>`.
//! Conveniences built from the traits live in `StoreExt`, so backends
//! cannot drift apart on them.

pub mod consumers;
pub mod contract;
pub mod credentials;
pub mod documents;
pub mod error;
#[cfg(any(test, feature = "contract-tests"))]
pub mod faulty;
pub mod instrumented;
pub mod layer;
pub mod log;
pub mod mongo;
pub mod sqlite;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::Settings;

pub use consumers::{AggregateCommit, ConsumerState};
pub use credentials::{Credential, CredentialStore};
pub use documents::{Document, DocumentScope, DocumentStore, DocumentWrite, Precondition};
pub use error::StoreError;
pub use layer::{Op, StoreLayer};
pub(crate) use log::{query_terms, term_keys};
pub use log::{
    Attachment, Cursor, NewStatement, StatementLog, StatementPage, StatementQuery, StoredStatement,
};

/// Opens the configured store for a command-line tool (`import`, `export`,
/// `credentials`): like `open`, but usable at once or a clear error.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let opened = open(settings, None).await?;
    opened
        .initialize()
        .await
        .map_err(|e| anyhow::anyhow!("cannot use the {} store: {e}", opened.backend()))?;
    Ok(opened.store)
}

/// The whole store: every concern, plus the operations on the store as a
/// whole.
///
/// # Contract
/// - `ping` is one cheap round trip to the backend (no table scan, no
///   write): `Ok` means the store can serve reads now. Readiness calls it
///   every few seconds under a short timeout, so it must not queue behind
///   writes.
/// - `flush` returns once every write accepted before the call has finished
///   and is durable, then lets the backend checkpoint its journal. Shutdown
///   calls it after the HTTP server stopped; the store stays usable after it.
#[async_trait]
pub trait Store: StatementLog + DocumentStore + CredentialStore + ConsumerState {
    /// One cheap round trip to the backend (see the contract above).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Waits until every write accepted before the call is durable, then
    /// checkpoints the backend's journal if it has one.
    async fn flush(&self) -> Result<(), StoreError>;
}

/// Conveniences over any `Store`, built only from the trait operations.
pub trait StoreExt: Store {
    /// Folds every aggregate record of `consumer` into `T::default()` with
    /// `fold`, in key order, reading `page` records at a time. The records
    /// all belong to the returned checkpoint: when a commit lands while they
    /// are read, the fold starts over.
    fn fold_aggregate<'a, T, F>(
        &'a self,
        consumer: &'a str,
        page: usize,
        mut fold: F,
    ) -> impl Future<Output = Result<(i64, T), StoreError>> + Send + 'a
    where
        T: Default + Send + 'a,
        F: FnMut(&mut T, &str, &[u8]) -> Result<(), StoreError> + Send + 'a,
    {
        async move {
            loop {
                let before = self.checkpoint(consumer).await?;
                let mut folded = T::default();
                let mut after = None;
                loop {
                    let records = self
                        .aggregate_records(consumer, after.clone(), page.max(1))
                        .await?;
                    let Some((last, _)) = records.last() else {
                        break;
                    };
                    after = Some(last.clone());
                    for (key, value) in &records {
                        fold(&mut folded, key, value)?;
                    }
                }
                if self.checkpoint(consumer).await? == before {
                    return Ok((before, folded));
                }
            }
        }
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// The configured backend, opened but maybe not yet usable (a MongoDB
/// server may still be unreachable).
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    mongo: Option<mongo::MongoStore>,
}

/// Opens the backend `settings` select: MongoDB when a URI is set,
/// otherwise the embedded SQLite store in the data directory. With
/// `metrics`, the store records its operations there.
pub async fn open(
    settings: &Settings,
    metrics: Option<&Arc<crate::metrics::Metrics>>,
) -> anyhow::Result<OpenedStore> {
    fn wrap<S: Store>(
        store: S,
        backend: &'static str,
        metrics: Option<&Arc<crate::metrics::Metrics>>,
    ) -> Arc<dyn Store> {
        match metrics {
            Some(m) => Arc::new(instrumented::InstrumentedStore::new(store, backend, m)),
            None => Arc::new(store),
        }
    }
    Ok(match &settings.mongodb {
        Some(m) => {
            let store = mongo::MongoStore::connect(m).await?;
            OpenedStore {
                store: wrap(store.clone(), "mongodb", metrics),
                mongo: Some(store),
            }
        }
        None => OpenedStore {
            store: wrap(
                sqlite::SqliteStore::open(&settings.data_dir)?,
                "sqlite",
                metrics,
            ),
            mongo: None,
        },
    })
}

impl OpenedStore {
    pub fn backend(&self) -> &'static str {
        if self.mongo.is_some() {
            "mongodb"
        } else {
            "sqlite"
        }
    }

    /// One attempt at making the store usable. For MongoDB: reach the
    /// server, check it has transactions, create the indexes.
    pub async fn initialize(&self) -> Result<(), StoreError> {
        match &self.mongo {
            Some(m) => m.initialize().await,
            None => Ok(()),
        }
    }

    /// Retries `initialize` until it succeeds, waiting 1 s and doubling up
    /// to 30 s between attempts, and logs every failure.
    pub async fn initialize_with_retry(&self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.initialize().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), backend = self.backend(), "the store is not usable yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::store::sqlite::SqliteStore;

    /// Commits a step of consumer `c` just before the first read of its
    /// records: a commit landing while a fold reads.
    struct CommitsWhileReading {
        inner: SqliteStore,
        fired: AtomicBool,
    }

    impl StoreLayer for CommitsWhileReading {
        type Inner = SqliteStore;

        fn inner(&self) -> &SqliteStore {
            &self.inner
        }

        async fn around<'a, T: Send + 'a>(
            &'a self,
            op: Op,
            call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
        ) -> Result<T, StoreError> {
            if op == Op::AggregateRecords && !self.fired.swap(true, Ordering::SeqCst) {
                let step = AggregateCommit {
                    expected_checkpoint: 1,
                    checkpoint: 2,
                    deletes: vec!["a".into()],
                    puts: vec![("b".into(), b"2".to_vec())],
                };
                assert!(self.inner.commit_aggregate("c", step).await?);
            }
            call.await
        }
    }

    #[tokio::test]
    async fn a_fold_started_before_a_commit_answers_the_state_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = CommitsWhileReading {
            inner: SqliteStore::open(dir.path()).unwrap(),
            fired: AtomicBool::new(false),
        };
        let first = AggregateCommit {
            expected_checkpoint: 0,
            checkpoint: 1,
            deletes: vec![],
            puts: vec![("a".into(), b"1".to_vec())],
        };
        assert!(store.commit_aggregate("c", first).await.unwrap());
        let folded = store
            .fold_aggregate("c", 10, |keys: &mut Vec<String>, k, _| {
                keys.push(k.to_owned());
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(folded, (2, vec!["b".to_owned()]));
    }
}
