//! Attachment content and who may get it (`store::attachment_access`):
//! `attachments` holds the content by hash (`_id`), `attachment_grants` the
//! statements whose readers get it (`_id` "statement id|sha2", indexed by
//! `sid`), `attachment_senders` the credentials that sent it (`_id`
//! "sha2|key"; a hash has no `|`, so the key may). Migration 2 creates the
//! index and fills both from what earlier releases stored.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Document as BsonDocument};
use mongodb::options::Hint;
use mongodb::{ClientSession, Collection, Database};
use serde_json::Value;
use uuid::Uuid;

use super::error::{corrupt, get_str, map_error};
use super::transaction::TxnError;
use crate::store::attachment_access::AccessPlan;
use crate::store::{Attachment, StoreError};

pub(super) const GRANTS: &str = "attachment_grants";
pub(super) const SENDERS: &str = "attachment_senders";
/// The grants of a page of statements, by statement id.
pub(super) const GRANTS_BY_STATEMENT_INDEX: &str = "grant_sid";

fn sender_id(sha2: &str, key: &str) -> String {
    format!("{sha2}|{key}")
}

/// Writes a batch's content, senders and grants inside its transaction.
/// The senders go first: a statement claiming content its credential sends
/// in the same request is granted it.
pub(super) async fn record(
    session: &mut ClientSession,
    db: &Database,
    attachments_collection: &Collection<BsonDocument>,
    plan: &AccessPlan,
    attachments: &[Attachment],
) -> Result<(), TxnError> {
    for a in attachments {
        attachments_collection
            .update_one(
                doc! {"_id": &a.sha2},
                doc! {"$setOnInsert": {
                    "content_type": &a.content_type,
                    "data": Binary { subtype: BinarySubtype::Generic, bytes: a.data.clone() },
                }},
            )
            .upsert(true)
            .session(&mut *session)
            .await?;
    }
    let senders = db.collection::<BsonDocument>(SENDERS);
    let grants = db.collection::<BsonDocument>(GRANTS);
    for (sha2, key) in &plan.senders {
        senders
            .update_one(
                doc! {"_id": sender_id(sha2, key)},
                doc! {"$setOnInsert": {"sha2": sha2, "key": key}},
            )
            .upsert(true)
            .session(&mut *session)
            .await?;
    }
    let mut granted: Vec<(String, &str)> = plan
        .grants
        .iter()
        .map(|(id, sha2)| (id.to_string(), sha2.as_str()))
        .collect();
    for (id, sha2, key) in &plan.claims {
        let known = senders
            .find_one(doc! {"_id": sender_id(sha2, key)})
            .session(&mut *session)
            .await?;
        if known.is_some() {
            granted.push((id.to_string(), sha2.as_str()));
        }
    }
    for (sid, sha2) in granted {
        grants
            .update_one(
                doc! {"_id": format!("{sid}|{sha2}")},
                doc! {"$setOnInsert": {"sid": &sid, "sha2": sha2}},
            )
            .upsert(true)
            .session(&mut *session)
            .await?;
    }
    Ok(())
}

/// The content granted to `statements`, each hash once, in statement order.
pub(super) async fn granted(
    db: &Database,
    attachments_collection: &Collection<BsonDocument>,
    statements: &[Uuid],
) -> Result<Vec<Attachment>, StoreError> {
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    let sids: Vec<String> = statements.iter().map(Uuid::to_string).collect();
    let grants: Vec<BsonDocument> = db
        .collection::<BsonDocument>(GRANTS)
        .find(doc! {"sid": {"$in": &sids}})
        .hint(Hint::Name(GRANTS_BY_STATEMENT_INDEX.to_owned()))
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)?;
    let mut hashes: Vec<String> = Vec::new();
    for sid in &sids {
        let mut own: Vec<&str> = grants
            .iter()
            .filter(|g| g.get_str("sid") == Ok(sid.as_str()))
            .filter_map(|g| g.get_str("sha2").ok())
            .collect();
        own.sort_unstable();
        for h in own {
            if !hashes.iter().any(|known| known == h) {
                hashes.push(h.to_owned());
            }
        }
    }
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<BsonDocument> = attachments_collection
        .find(doc! {"_id": {"$in": &hashes}})
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)?;
    let mut out = Vec::with_capacity(found.len());
    for hash in hashes {
        if let Some(d) = found.iter().find(|d| d.get_str("_id") == Ok(hash.as_str())) {
            out.push(Attachment {
                content_type: get_str(d, "content_type")?.to_owned(),
                data: d
                    .get_binary_generic("data")
                    .map_err(|_| corrupt("data"))?
                    .clone(),
                sha2: hash,
            });
        }
    }
    Ok(out)
}

/// Migration 2: the index of grants by statement, then the grants and
/// senders of what earlier releases stored, as the SQLite migration does:
/// the first statement (in log order) declaring a stored hash is taken as
/// its carrier and its credential as the sender; every statement of that
/// credential declaring the hash is granted it. Idempotent (upserts).
pub(super) async fn migrate(db: &Database) -> Result<(), StoreError> {
    let index = mongodb::IndexModel::builder()
        .keys(doc! {"sid": 1})
        .options(
            mongodb::options::IndexOptions::builder()
                .name(GRANTS_BY_STATEMENT_INDEX.to_owned())
                .build(),
        )
        .build();
    db.collection::<BsonDocument>(GRANTS)
        .create_index(index)
        .await
        .map_err(map_error)?;
    let stored: Vec<String> = db
        .collection::<BsonDocument>("attachments")
        .find(doc! {})
        .projection(doc! {"_id": 1})
        .await
        .map_err(map_error)?
        .try_collect::<Vec<BsonDocument>>()
        .await
        .map_err(map_error)?
        .iter()
        .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
        .collect();
    if stored.is_empty() {
        return Ok(());
    }
    // (statement id, credential key, declared hashes), in log order.
    let mut declared: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut cursor = db
        .collection::<BsonDocument>("statements")
        .find(doc! {"json": {"$regex": "\"sha2\""}})
        .sort(doc! {"_id": 1})
        .projection(doc! {"_id": 1, "sid": 1, "terms": 1, "json": 1})
        .await
        .map_err(map_error)?;
    while let Some(d) = cursor.try_next().await.map_err(map_error)? {
        let sid = get_str(&d, "sid")?.to_owned();
        let key = d
            .get_array("terms")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .find_map(|t| t.strip_prefix("u|"))
            .unwrap_or_default()
            .to_owned();
        let value: Value = serde_json::from_str(get_str(&d, "json")?).unwrap_or(Value::Null);
        let hashes: Vec<String> = value
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("sha2").and_then(Value::as_str))
            .map(str::to_ascii_lowercase)
            .filter(|h| stored.contains(h))
            .collect();
        if !hashes.is_empty() {
            declared.push((sid, key, hashes));
        }
    }
    let senders = db.collection::<BsonDocument>(SENDERS);
    let grants = db.collection::<BsonDocument>(GRANTS);
    let mut carriers: Vec<(String, String)> = Vec::new();
    for (_, key, hashes) in &declared {
        for h in hashes {
            if !carriers.iter().any(|(known, _)| known == h) {
                carriers.push((h.clone(), key.clone()));
            }
        }
    }
    for (sha2, key) in &carriers {
        senders
            .update_one(
                doc! {"_id": sender_id(sha2, key)},
                doc! {"$setOnInsert": {"sha2": sha2, "key": key}},
            )
            .upsert(true)
            .await
            .map_err(map_error)?;
    }
    for (sid, key, hashes) in &declared {
        for h in hashes {
            if carriers.iter().any(|(ch, ck)| ch == h && ck == key) {
                grants
                    .update_one(
                        doc! {"_id": format!("{sid}|{h}")},
                        doc! {"$setOnInsert": {"sid": sid, "sha2": h}},
                    )
                    .upsert(true)
                    .await
                    .map_err(map_error)?;
            }
        }
    }
    Ok(())
}
