//! Log consumers' state in SQLite: `checkpoints` and `aggregate_records`.
//! A commit is one job of the single writer, so its checkpoint check and
//! its writes are one atomic step.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{backend, SqliteStore};
use crate::store::{AggregateCommit, ConsumerState, StoreError};

#[async_trait]
impl ConsumerState for SqliteStore {
    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT seq FROM checkpoints WHERE consumer = ?1",
                [consumer],
                |r| r.get(0),
            )
            .optional()
            .map(|s| s.unwrap_or(0))
            .map_err(backend)
        })
        .await
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, value FROM aggregate_records
                     WHERE consumer = ?1 AND (?2 IS NULL OR key > ?2) ORDER BY key LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![consumer, after_key, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |txn, _| {
            let current: i64 = txn
                .query_row(
                    "SELECT seq FROM checkpoints WHERE consumer = ?1",
                    [&consumer],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if current != commit.expected_checkpoint {
                return Ok(false);
            }
            {
                let mut delete = txn
                    .prepare_cached("DELETE FROM aggregate_records WHERE consumer = ?1 AND key = ?2")
                    .map_err(backend)?;
                for key in &commit.deletes {
                    delete.execute(params![consumer, key]).map_err(backend)?;
                }
                let mut put = txn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO aggregate_records (consumer, key, value) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(backend)?;
                for (key, value) in &commit.puts {
                    put.execute(params![consumer, key, value]).map_err(backend)?;
                }
            }
            txn.execute(
                "INSERT INTO checkpoints (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                params![consumer, commit.checkpoint],
            )
            .map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.write(move |txn, _| {
            txn.execute(
                "DELETE FROM aggregate_records WHERE consumer = ?1",
                [&consumer],
            )
            .map_err(backend)?;
            txn.execute("DELETE FROM checkpoints WHERE consumer = ?1", [&consumer])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
