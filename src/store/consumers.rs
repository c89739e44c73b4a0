//! The durable state of log consumers (the CX aggregator): `ConsumerState`
//! and `AggregateCommit`.
//!
//! # Contract
//! - Each consumer (a name) owns a checkpoint, its position in the log (0
//!   when none), and a set of `(key, value)` records.
//! - `commit_aggregate` applies its deletes, then its puts (insert or
//!   replace; the last put of a key wins), and moves the checkpoint, all in
//!   one atomic step, and only when the stored checkpoint equals
//!   `expected_checkpoint`; otherwise it writes nothing and answers `false`.
//!   So several processes folding the same log can never interleave partial
//!   states, and a reader that sees checkpoint `c` sees exactly the records
//!   committed up to `c`. This is the only way to move a checkpoint forward.
//! - `aggregate_records` pages through a consumer's records in key order;
//!   records of other consumers are never seen.
//! - `reset_aggregate` deletes every record of a consumer and its
//!   checkpoint, atomically.

use async_trait::async_trait;

use super::StoreError;

#[async_trait]
pub trait ConsumerState: Send + Sync + 'static {
    /// A consumer's durable position in the log (0 if none).
    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError>;
    /// A consumer's aggregate records with keys greater than `after_key`
    /// (all when `None`), ordered by key, at most `limit`.
    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Applies `commit` atomically if the consumer's checkpoint equals
    /// `commit.expected_checkpoint`; answers whether it was applied.
    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError>;
    /// Deletes every record of a consumer and its checkpoint (back to 0).
    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError>;
}

/// One atomic step of a log consumer's aggregate state (see the contract).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateCommit {
    /// The checkpoint this step starts from; the commit is refused when the
    /// stored checkpoint differs.
    pub expected_checkpoint: i64,
    /// The checkpoint after this step.
    pub checkpoint: i64,
    /// Records to delete (absent keys are ignored).
    pub deletes: Vec<String>,
    /// Records to insert or replace.
    pub puts: Vec<(String, Vec<u8>)>,
}
