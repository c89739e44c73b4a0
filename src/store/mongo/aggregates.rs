//! Aggregate state of log consumers on MongoDB: one document per record in
//! `aggregates` (`consumer`, `key`, `value`) under a unique index, and the
//! consumer's checkpoint in `checkpoints`. A commit checks the checkpoint
//! and writes the records and the new checkpoint in one transaction, so
//! instances folding the same log never interleave partial states: the
//! first commit from a checkpoint wins, the others are refused.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Document as BsonDocument};
use mongodb::options::Hint;
use mongodb::ClientSession;

use super::{get_i64, get_str, map_error, Collections, TxnError, AGGREGATE_KEY_INDEX};
use crate::store::{AggregateCommit, StoreError};

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
                    .map_err(|_| super::corrupt("value"))?
                    .clone(),
            ))
        })
        .collect()
}

pub(super) async fn commit(
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
