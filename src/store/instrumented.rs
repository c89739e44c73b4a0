//! `InstrumentedStore`: any backend with per-operation latency and error
//! metrics (`trellis_store_operation_duration_seconds`,
//! `trellis_store_errors_total`), labelled by operation and backend.
//!
//! Only failures of the backend itself count as errors (`Unavailable`,
//! `Backend`); a conflict or a failed precondition is an answer, not a fault.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use prometheus::{Histogram, IntCounter};
use uuid::Uuid;

use super::{
    AggregateCommit, Attachment, Credential, Document, DocumentScope, DocumentWrite, NewStatement,
    Precondition, StatementPage, StatementQuery, Store, StoreError, StoredStatement,
};
use crate::metrics::Metrics;

/// Every `Store` operation, as it appears in the `operation` label.
pub const OPERATIONS: [&str; 22] = [
    "insert_statements",
    "statement",
    "query",
    "attachments",
    "consistent_through",
    "log_after",
    "checkpoint",
    "set_checkpoint",
    "aggregate_records",
    "commit_aggregate",
    "reset_aggregate",
    "activity_definition",
    "document",
    "document_ids",
    "put_document",
    "delete_documents",
    "credential",
    "put_credential",
    "credentials",
    "revoke_credential",
    "ping",
    "flush",
];

pub struct InstrumentedStore<S> {
    inner: S,
    /// Per operation, in `OPERATIONS` order: its latency histogram and its
    /// error counter, resolved once so a call costs no label lookup.
    series: Vec<(&'static str, Histogram, IntCounter)>,
}

impl<S: Store> InstrumentedStore<S> {
    /// Wraps `inner`; `backend` is its label value (`sqlite`, `mongodb`).
    /// Every operation's series exist from the start (at zero).
    pub fn new(inner: S, backend: &'static str, metrics: &Arc<Metrics>) -> InstrumentedStore<S> {
        let series = OPERATIONS
            .iter()
            .map(|&op| {
                (
                    op,
                    metrics.store_duration.with_label_values(&[op, backend]),
                    metrics.store_errors.with_label_values(&[op, backend]),
                )
            })
            .collect();
        InstrumentedStore { inner, series }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        if let Some((_, duration, errors)) = self.series.iter().find(|(op, ..)| *op == operation) {
            duration.observe(started.elapsed().as_secs_f64());
            if matches!(
                result,
                Err(StoreError::Unavailable(_) | StoreError::Backend { .. })
            ) {
                errors.inc();
            }
        }
        result
    }
}

#[async_trait]
impl<S: Store> Store for InstrumentedStore<S> {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.timed(
            "insert_statements",
            self.inner.insert_statements(batch, attachments),
        )
        .await
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        self.timed("statement", self.inner.statement(id)).await
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        self.timed("query", self.inner.query(query)).await
    }

    async fn attachments(&self, sha2: &[String]) -> Result<Vec<Attachment>, StoreError> {
        self.timed("attachments", self.inner.attachments(sha2))
            .await
    }

    async fn consistent_through(&self) -> Result<i64, StoreError> {
        self.timed("consistent_through", self.inner.consistent_through())
            .await
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        self.timed("log_after", self.inner.log_after(after, limit))
            .await
    }

    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        self.timed("checkpoint", self.inner.checkpoint(consumer))
            .await
    }

    async fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        self.timed("set_checkpoint", self.inner.set_checkpoint(consumer, seq))
            .await
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.timed(
            "aggregate_records",
            self.inner.aggregate_records(consumer, after_key, limit),
        )
        .await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        self.timed(
            "commit_aggregate",
            self.inner.commit_aggregate(consumer, commit),
        )
        .await
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        self.timed("reset_aggregate", self.inner.reset_aggregate(consumer))
            .await
    }

    async fn activity_definition(
        &self,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.timed(
            "activity_definition",
            self.inner.activity_definition(activity_id),
        )
        .await
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        self.timed("document", self.inner.document(scope, id)).await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.timed("document_ids", self.inner.document_ids(scope, since_ms))
            .await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        self.timed(
            "put_document",
            self.inner.put_document(scope, id, write, precondition),
        )
        .await
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        self.timed(
            "delete_documents",
            self.inner.delete_documents(scope, id, precondition),
        )
        .await
    }

    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        self.timed("credential", self.inner.credential(key)).await
    }

    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError> {
        self.timed("put_credential", self.inner.put_credential(credential))
            .await
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.timed("credentials", self.inner.credentials()).await
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        self.timed("revoke_credential", self.inner.revoke_credential(key))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.timed("flush", self.inner.flush()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::faulty::FaultyStore;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn instrumented_sqlite_store_passes_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new().unwrap();
        let store =
            InstrumentedStore::new(SqliteStore::open(dir.path()).unwrap(), "sqlite", &metrics);
        crate::store::contract::run_all(&store).await;
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            "trellis_store_operation_duration_seconds_count{backend=\"sqlite\",operation=\"insert_statements\"}"
        ));
    }

    #[tokio::test]
    async fn backend_failures_count_as_errors_and_answers_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new().unwrap();
        let faulty = FaultyStore::new(SqliteStore::open(dir.path()).unwrap());
        let control = faulty.control();
        let store = InstrumentedStore::new(faulty, "sqlite", &metrics);
        let errors = |op: &str| {
            metrics
                .store_errors
                .with_label_values(&[op, "sqlite"])
                .get()
        };
        let s = crate::store::contract::new_statement("mailto:m@example.com", "http://x.io/v");
        store.insert_statements(vec![s], vec![]).await.unwrap();
        assert_eq!(store.statement(Uuid::new_v4()).await.unwrap(), None);
        assert_eq!(errors("insert_statements") + errors("statement"), 0);
        control.fail(true);
        assert!(store.ping().await.is_err());
        assert_eq!(errors("ping"), 1);
        let count = metrics
            .store_duration
            .with_label_values(&["ping", "sqlite"])
            .get_sample_count();
        assert_eq!(count, 1);
    }
}
