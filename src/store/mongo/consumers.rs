//! Aggregate state of log consumers on MongoDB: one document per record in
//! `aggregates` (`consumer`, `key`, `value`) under a unique index, and the
//! consumer's checkpoint in `checkpoints`. A commit checks the checkpoint
//! and writes the records and the new checkpoint in one transaction, so
//! instances folding the same log never interleave partial states: the
//! first commit from a checkpoint wins, the others are refused.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Document as BsonDocument};
use mongodb::options::Hint;
use mongodb::ClientSession;

use super::error::{corrupt, get_i64, get_str, map_error};
use super::schema::AGGREGATE_KEY_INDEX;
use super::transaction::{in_transaction, TxnError};
use super::{Collections, MongoStore};
use crate::store::{AggregateCommit, ConsumerState, StoreError};

pub(super) async fn records(
    c: &Collections,
    consumer: &str,
    after_key: Option<String>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut filter = doc! {"consumer": consumer};
    if let Some(after) = after_key {
        filter.insert("key", doc! {"$gt": after});
    }
    let docs: Vec<BsonDocument> = c
        .aggregates
        .find(filter)
        .sort(doc! {"consumer": 1, "key": 1})
        .hint(Hint::Name(AGGREGATE_KEY_INDEX.into()))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)?;
    docs.iter()
        .map(|d| {
            Ok((
                get_str(d, "key")?.to_owned(),
                d.get_binary_generic("value")
                    .map_err(|_| corrupt("value"))?
                    .clone(),
            ))
        })
        .collect()
}

pub(super) async fn apply_commit(
    session: &mut ClientSession,
    c: &Collections,
    consumer: &str,
    commit: &AggregateCommit,
) -> Result<bool, TxnError> {
    let current = match c
        .checkpoints
        .find_one(doc! {"_id": consumer})
        .session(&mut *session)
        .await?
    {
        Some(d) => get_i64(&d, "seq")?,
        None => 0,
    };
    if current != commit.expected_checkpoint {
        return Ok(false);
    }
    let mut replaced: Vec<&str> = commit.deletes.iter().map(String::as_str).collect();
    replaced.extend(commit.puts.iter().map(|(k, _)| k.as_str()));
    for keys in replaced.chunks(10_000) {
        c.aggregates
            .delete_many(doc! {"consumer": consumer, "key": {"$in": keys}})
            .session(&mut *session)
            .await?;
    }
    if !commit.puts.is_empty() {
        // Later puts of the same key win, as with insert-or-replace.
        let mut last: std::collections::HashMap<&str, &Vec<u8>> = std::collections::HashMap::new();
        for (k, v) in &commit.puts {
            last.insert(k.as_str(), v);
        }
        let docs: Vec<BsonDocument> = last
            .into_iter()
            .map(|(k, v)| {
                doc! {
                    "consumer": consumer,
                    "key": k,
                    "value": Binary { subtype: BinarySubtype::Generic, bytes: v.clone() },
                }
            })
            .collect();
        c.aggregates
            .insert_many(docs)
            .session(&mut *session)
            .await?;
    }
    c.checkpoints
        .update_one(
            doc! {"_id": consumer},
            doc! {"$set": {"seq": commit.checkpoint}},
        )
        .upsert(true)
        .session(&mut *session)
        .await?;
    Ok(true)
}

pub(super) async fn reset(
    session: &mut ClientSession,
    c: &Collections,
    consumer: &str,
) -> Result<(), TxnError> {
    c.aggregates
        .delete_many(doc! {"consumer": consumer})
        .session(&mut *session)
        .await?;
    c.checkpoints
        .delete_one(doc! {"_id": consumer})
        .session(&mut *session)
        .await?;
    Ok(())
}

#[async_trait]
impl ConsumerState for MongoStore {
    async fn checkpoint(&self, consumer: &str) -> Result<i64, StoreError> {
        let c = self.ready()?;
        match c
            .checkpoints
            .find_one(doc! {"_id": consumer})
            .await
            .map_err(map_error)?
        {
            Some(d) => get_i64(&d, "seq"),
            None => Ok(0),
        }
    }

    async fn aggregate_records(
        &self,
        consumer: &str,
        after_key: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let c = self.ready()?;
        records(c, consumer, after_key, limit).await
    }

    async fn commit_aggregate(
        &self,
        consumer: &str,
        commit: AggregateCommit,
    ) -> Result<bool, StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            apply_commit(session, &c, consumer, &commit).await
        })
    }

    async fn reset_aggregate(&self, consumer: &str) -> Result<(), StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| reset(session, &c, consumer).await)
    }
}
