//! Storage: the store traits every backend implements, split by concern,
//! and the backend-neutral types they speak.
//!
//! # Layout
//! - `log`: `StatementLog`, statements, attachments and the log order;
//!   `attachment_access`: which statements' readers get an attachment.
//! - `documents`: `DocumentStore`, documents and Activity definitions.
//! - `credentials`: `CredentialStore`.
//! - `consumers`: `ConsumerState`, checkpoints and aggregate records of log
//!   consumers.
//! - `error`: `StoreError`.
//! - `layer`: `Op`, the one list of operations, and `StoreLayer`, the
//!   wrappers' mechanism; `instrumented` (metrics) and `faulty` (tests) are
//!   layers.
//! - `sqlite`, `mongo`: the backends, each with its settings.
//! - `open`: `StoreSettings` (which backend, with its settings) and opening
//!   the configured backend.
//! - `contract`: the behaviour suite every backend runs.
//!
//! Each trait carries its written contract. `Store` is all of them plus the
//! operations on the whole store; handlers hold an `Arc<dyn Store>`.
//! Conveniences built from the traits live in `StoreExt`, so backends
//! cannot drift apart on them.
//!
//! What a backend keeps has a schema version, moved forward by numbered
//! migrations before the store is used (`sqlite::schema`, at open;
//! `mongo::schema`, in `initialize`). `OpenedStore::initialize` answers the
//! version, which readiness reports. This module never reads configuration:
//! `StoreSettings` is built by `config`.

mod attachment_access;
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
mod open;
pub mod sqlite;

use std::future::Future;

use async_trait::async_trait;

pub use consumers::{AggregateCommit, ConsumerState};
pub use credentials::{Credential, CredentialStore};
pub use documents::{Document, DocumentScope, DocumentStore, DocumentWrite, Precondition};
pub use error::StoreError;
pub use layer::{Op, StoreLayer};
pub(crate) use log::{query_terms, term_keys, term_keys_of, CREDENTIAL_PREFIX};
pub use log::{
    Attachment, Cursor, NewStatement, StatementLog, StatementPage, StatementQuery, StoredStatement,
};
pub use open::{open, open_store, OpenedStore, StoreSettings};

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
