//! `FaultyStore`: a test wrapper that makes any backend fail or hang on
//! demand, to check how the server behaves when its store goes away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    AggregateCommit, Attachment, Credential, Document, DocumentScope, DocumentWrite, NewStatement,
    Precondition, StatementPage, StatementQuery, Store, StoreError, StoredStatement,
};

/// Switches shared by a `FaultyStore` and whoever holds a copy.
#[derive(Clone, Default)]
pub struct FaultControl {
    failing: Arc<AtomicBool>,
    hanging: Arc<AtomicBool>,
}

impl FaultControl {
    /// Every call fails with `Unavailable` while on.
    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::Release);
    }

    /// Every call waits (without answering) while on.
    pub fn hang(&self, on: bool) {
        self.hanging.store(on, Ordering::Release);
    }
}

pub struct FaultyStore<S> {
    inner: S,
    control: FaultControl,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            control: FaultControl::default(),
        }
    }

    pub fn control(&self) -> FaultControl {
        self.control.clone()
    }

    pub fn fail(&self, on: bool) {
        self.control.fail(on);
    }

    pub fn hang(&self, on: bool) {
        self.control.hang(on);
    }

    async fn gate(&self) -> Result<(), StoreError> {
        while self.control.hanging.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.control.failing.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("fault injected".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: Store> Store for FaultyStore<S> {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.gate().await?;
        self.inner.insert_statements(batch, attachments).await
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        self.gate().await?;
        self.inner.statement(id).await
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        self.gate().await?;
        self.inner.query(query).await
    }

    async fn attachments(&self, sha2: &[String]) -> Result<Vec<Attachment>, StoreError> {
        self.gate().await?;
        self.inner.attachments(sha2).await
    }

    async fn consistent_through(&self) -> Result<i64, StoreError> {
        self.gate().await?;
        self.inner.consistent_through().await
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        self.gate().await?;
        self.inner.log_after(after, limit).await
    }

    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        self.gate().await?;
        self.inner.checkpoint(consumer).await
    }

    async fn set_checkpoint(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.set_checkpoint(consumer, seq).await
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.gate().await?;
        self.inner
            .aggregate_records(consumer, after_key, limit)
            .await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        self.gate().await?;
        self.inner.commit_aggregate(consumer, commit).await
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.reset_aggregate(consumer).await
    }

    async fn activity_definition(
        &self,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.gate().await?;
        self.inner.activity_definition(activity_id).await
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        self.gate().await?;
        self.inner.document(scope, id).await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.gate().await?;
        self.inner.document_ids(scope, since_ms).await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        self.gate().await?;
        self.inner
            .put_document(scope, id, write, precondition)
            .await
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.delete_documents(scope, id, precondition).await
    }

    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        self.gate().await?;
        self.inner.credential(key).await
    }

    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.put_credential(credential).await
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.gate().await?;
        self.inner.credentials().await
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        self.gate().await?;
        self.inner.revoke_credential(key).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.ping().await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.gate().await?;
        self.inner.flush().await
    }
}
