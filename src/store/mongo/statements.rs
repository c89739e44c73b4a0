//! The statement log on MongoDB: the write transaction and query filters.
//!
//! A statement document: `{_id: seq, sid, stored, voided, voids?, terms,
//! json}`. `terms` holds `store::term_keys` (plus those inherited through a
//! StatementRef); `json` is the exact stored text.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document as BsonDocument};
use mongodb::options::{Hint, ReturnDocument};
use mongodb::ClientSession;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{corrupt, get_i64, get_str, map_error};
use super::schema::{LOG_ORDER_INDEX, TERMS_INDEX, VOIDS_INDEX};
use super::transaction::{in_transaction, TxnError, WRITE_WINDOW_MS};
use super::{now_ms, Collections, MongoStore};
use crate::store::{
    attachment_access, query_terms, term_keys, Attachment, NewStatement, StatementLog,
    StatementPage, StatementQuery, StoreError, StoredStatement,
};
use crate::xapi::activity::{defined_activities, merge_definition};
use crate::xapi::datatypes::format_timestamp;

/// The counter document holding the last log position and `stored`.
pub(super) const LOG_COUNTER: &str = "log";

/// What can be worked out about a batch before talking to the server.
pub(super) struct Prepared {
    entries: Vec<Entry>,
}

struct Entry {
    id: Uuid,
    sid: String,
    terms: Vec<String>,
    voids: Option<String>,
    ref_target: Option<String>,
}

pub(super) fn prepare(batch: &[NewStatement]) -> Result<Prepared, StoreError> {
    let mut entries = Vec::with_capacity(batch.len());
    for new in batch {
        let Some(id) = new.statement.id() else {
            return Err(StoreError::Invalid(
                "a statement reached the store without an id".into(),
            ));
        };
        entries.push(Entry {
            id,
            sid: id.to_string(),
            terms: term_keys(new),
            voids: new.statement.voided_target().map(|t| t.to_string()),
            ref_target: new.statement.statement_ref_target().map(|t| t.to_string()),
        });
    }
    Ok(Prepared { entries })
}

/// A statement of this batch that will be inserted.
struct Pending<'a> {
    index: usize,
    entry: &'a Entry,
    terms: Vec<String>,
    voided: bool,
}

/// The body of the write transaction; see the module invariants in `mod.rs`.
pub(super) async fn insert(
    session: &mut ClientSession,
    c: &Collections,
    batch: &[NewStatement],
    plan: &Prepared,
    attachments: &[Attachment],
) -> Result<Vec<Uuid>, TxnError> {
    let sids: Vec<&str> = plan.entries.iter().map(|e| e.sid.as_str()).collect();
    let mut existing: HashMap<String, String> = HashMap::new();
    let mut cursor = c
        .statements
        .find(doc! {"sid": {"$in": &sids}})
        .projection(doc! {"sid": 1, "json": 1})
        .session(&mut *session)
        .await?;
    while let Some(d) = cursor.next(&mut *session).await.transpose()? {
        existing.insert(
            get_str(&d, "sid")?.to_owned(),
            get_str(&d, "json")?.to_owned(),
        );
    }
    drop(cursor);

    let plan_access = attachment_access::plan(batch, attachments);
    let voided_early = voided_early(session, c, &sids).await?;
    let mut ids = Vec::with_capacity(batch.len());
    let mut pending: Vec<Pending<'_>> = Vec::with_capacity(batch.len());
    let mut pending_by_sid: HashMap<&str, usize> = HashMap::new();
    for (index, (new, entry)) in batch.iter().zip(&plan.entries).enumerate() {
        if let Some(json) = existing.get(&entry.sid) {
            let stored: Map<String, Value> = serde_json::from_str(json)
                .map_err(|_| StoreError::Invalid("a stored statement is not JSON".into()))?;
            if new.statement.is_equivalent_to(&stored) {
                ids.push(entry.id);
                continue;
            }
            return Err(StoreError::Conflict(entry.id).into());
        }
        if let Some(&earlier) = pending_by_sid.get(entry.sid.as_str()) {
            if new
                .statement
                .is_equivalent_to(batch[pending[earlier].index].statement.body())
            {
                ids.push(entry.id);
                continue;
            }
            return Err(StoreError::Conflict(entry.id).into());
        }
        if let Some(target) = &entry.voids {
            void_target(session, c, target, &mut pending, &pending_by_sid).await?;
        }
        let voided = entry.voids.is_none() && voided_before(&voided_early, &entry.sid, &pending);
        let mut terms = entry.terms.clone();
        if let Some(target) = &entry.ref_target {
            inherit_terms(session, c, target, &pending, &pending_by_sid, &mut terms).await?;
        }
        pending_by_sid.insert(&entry.sid, pending.len());
        pending.push(Pending {
            index,
            entry,
            terms,
            voided,
        });
        ids.push(entry.id);
    }
    if pending.is_empty() {
        return Ok(ids);
    }

    let (first_seq, stored_ms) = allocate(session, c, pending.len()).await?;
    let stored =
        format_timestamp(chrono::DateTime::from_timestamp_millis(stored_ms).unwrap_or_default());
    let mut docs = Vec::with_capacity(pending.len());
    for (offset, p) in pending.iter().enumerate() {
        let new = &batch[p.index];
        let mut d = doc! {
            "_id": first_seq + offset as i64,
            "sid": &p.entry.sid,
            "stored": stored_ms,
            "voided": p.voided,
            "terms": &p.terms,
            "json": new.statement.stored_json(&new.json, &stored),
        };
        if let Some(target) = &p.entry.voids {
            d.insert("voids", target);
        }
        docs.push(d);
    }
    c.statements
        .insert_many(docs)
        .session(&mut *session)
        .await?;
    record_activities(session, c, batch, &pending).await?;
    super::attachments::record(session, &c.db, &c.attachments, &plan_access, attachments).await?;
    Ok(ids)
}

/// Marks `target` voided, in this batch or in the store. A voiding statement
/// cannot itself be voided.
async fn void_target(
    session: &mut ClientSession,
    c: &Collections,
    target: &str,
    pending: &mut [Pending<'_>],
    pending_by_sid: &HashMap<&str, usize>,
) -> Result<(), TxnError> {
    let refused = || {
        StoreError::Invalid(format!(
            "statement {target} is a voiding statement, and a voiding statement cannot be voided"
        ))
    };
    if let Some(&i) = pending_by_sid.get(target) {
        if pending[i].entry.voids.is_some() {
            return Err(refused().into());
        }
        pending[i].voided = true;
        return Ok(());
    }
    let found = c
        .statements
        .find_one(doc! {"sid": target})
        .projection(doc! {"voids": 1})
        .session(&mut *session)
        .await?;
    if let Some(d) = found {
        if matches!(d.get("voids"), Some(Bson::String(_))) {
            return Err(refused().into());
        }
        c.statements
            .update_one(doc! {"sid": target}, doc! {"$set": {"voided": true}})
            .session(&mut *session)
            .await?;
    }
    Ok(())
}

/// Whether a voiding statement for `sid` arrived before it: stored earlier
/// (`voided_early`) or earlier in this batch.
fn voided_before(voided_early: &HashSet<String>, sid: &str, pending: &[Pending<'_>]) -> bool {
    voided_early.contains(sid)
        || pending
            .iter()
            .any(|p| p.entry.voids.as_deref() == Some(sid))
}

/// The ids of this batch that a stored voiding statement targets, in one
/// round trip (voiding before arrival is rare, asking per statement is not).
async fn voided_early(
    session: &mut ClientSession,
    c: &Collections,
    sids: &[&str],
) -> Result<HashSet<String>, TxnError> {
    let mut found = HashSet::new();
    let mut cursor = c
        .statements
        .find(doc! {"voids": {"$in": sids}})
        .projection(doc! {"voids": 1})
        .hint(Hint::Name(VOIDS_INDEX.into()))
        .session(&mut *session)
        .await?;
    while let Some(d) = cursor.next(&mut *session).await.transpose()? {
        found.insert(get_str(&d, "voids")?.to_owned());
    }
    Ok(found)
}

/// A statement referring to another answers the filters of its target.
async fn inherit_terms(
    session: &mut ClientSession,
    c: &Collections,
    target: &str,
    pending: &[Pending<'_>],
    pending_by_sid: &HashMap<&str, usize>,
    terms: &mut Vec<String>,
) -> Result<(), TxnError> {
    let inherited: Vec<String> = match pending_by_sid.get(target) {
        Some(&i) => pending[i].terms.clone(),
        None => match c
            .statements
            .find_one(doc! {"sid": target})
            .projection(doc! {"terms": 1})
            .session(&mut *session)
            .await?
        {
            Some(d) => d
                .get_array("terms")
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        },
    };
    terms.extend(inherited.into_iter().filter(|t| !t.starts_with("u|")));
    terms.sort();
    terms.dedup();
    Ok(())
}

/// Takes `n` log positions and this batch's `stored`, strictly after the
/// last one, so Consistent-Through can be the last committed `stored`.
/// Two transactions doing this conflict; the loser retries.
async fn allocate(
    session: &mut ClientSession,
    c: &Collections,
    n: usize,
) -> Result<(i64, i64), TxnError> {
    // One round trip in the usual case: the positions taken and `stored`
    // moved to now, answering the counter as it was.
    let now = now_ms();
    let before = c
        .counters
        .find_one_and_update(
            doc! {"_id": LOG_COUNTER},
            doc! {"$inc": {"seq": n as i64}, "$max": {"stored": now}},
        )
        .upsert(true)
        .return_document(ReturnDocument::Before)
        .session(&mut *session)
        .await?;
    let (seq, stored) = match &before {
        Some(d) => (get_i64(d, "seq")?, get_i64(d, "stored")?),
        None => (0, 0),
    };
    if now > stored {
        return Ok((seq + 1, now));
    }
    // The clock has not passed the last `stored` (same millisecond, or a
    // clock behind another instance's): one past it, recorded.
    let stored = stored + 1;
    c.counters
        .update_one(doc! {"_id": LOG_COUNTER}, doc! {"$set": {"stored": stored}})
        .session(&mut *session)
        .await?;
    Ok((seq + 1, stored))
}

/// Records the Activity definitions the inserted statements carry: merged
/// into the canonical one when the sender may define Activities, otherwise
/// only for Activities not known yet.
async fn record_activities(
    session: &mut ClientSession,
    c: &Collections,
    batch: &[NewStatement],
    pending: &[Pending<'_>],
) -> Result<(), TxnError> {
    let mut carried = Vec::new();
    for p in pending {
        let new = &batch[p.index];
        for (id, definition) in defined_activities(new.statement.body()) {
            carried.push((id, definition, new.may_define));
        }
    }
    if carried.is_empty() {
        return Ok(());
    }
    let wanted: Vec<&str> = carried.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut known: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut cursor = c
        .activities
        .find(doc! {"_id": {"$in": &wanted}})
        .session(&mut *session)
        .await?;
    while let Some(d) = cursor.next(&mut *session).await.transpose()? {
        let definition = serde_json::from_str(get_str(&d, "definition")?)
            .map_err(|_| StoreError::Invalid("a stored definition is not JSON".into()))?;
        known.insert(get_str(&d, "_id")?.to_owned(), definition);
    }
    drop(cursor);
    let mut changed: HashSet<String> = HashSet::new();
    for (id, definition, may_define) in carried {
        match known.get_mut(&id) {
            Some(_) if !may_define => {}
            Some(current) => {
                let before = current.clone();
                merge_definition(current, &definition);
                if *current != before {
                    changed.insert(id);
                }
            }
            None => {
                known.insert(id.clone(), definition);
                changed.insert(id);
            }
        }
    }
    for id in changed {
        let text = serde_json::to_string(&known[&id])
            .map_err(|e| StoreError::Invalid(format!("definition of {id}: {e}")))?;
        c.activities
            .replace_one(doc! {"_id": &id}, doc! {"_id": &id, "definition": text})
            .upsert(true)
            .session(&mut *session)
            .await?;
    }
    Ok(())
}

/// The last log position committed (0 before the first statement).
async fn last_seq(c: &Collections) -> Result<i64, StoreError> {
    match c
        .counters
        .find_one(doc! {"_id": LOG_COUNTER})
        .await
        .map_err(map_error)?
    {
        Some(d) => get_i64(&d, "seq"),
        None => Ok(0),
    }
}

/// A statement query as MongoDB runs it. The index is named explicitly:
/// `terms_seq` when the query filters by any term, else the log order
/// (`_id`), so no query ever scans the collection.
pub(super) struct FindPlan {
    pub filter: BsonDocument,
    pub sort: BsonDocument,
    pub hint: &'static str,
    pub limit: i64,
}

pub(super) fn plan(q: &StatementQuery, snapshot: i64) -> FindPlan {
    let mut filter = doc! {"voided": false};
    let terms = query_terms(q);
    match terms.len() {
        0 => {}
        1 => {
            filter.insert("terms", &terms[0]);
        }
        _ => {
            filter.insert("terms", doc! {"$all": &terms});
        }
    }
    let mut seq = doc! {"$lte": snapshot};
    if let Some(after) = q.after_seq {
        seq.insert(if q.ascending { "$gt" } else { "$lt" }, after);
    }
    filter.insert("_id", seq);
    if q.since_ms.is_some() || q.until_ms.is_some() {
        let mut stored = BsonDocument::new();
        if let Some(since) = q.since_ms {
            stored.insert("$gt", since);
        }
        if let Some(until) = q.until_ms {
            stored.insert("$lte", until);
        }
        filter.insert("stored", stored);
    }
    FindPlan {
        filter,
        sort: doc! {"_id": if q.ascending { 1 } else { -1 }},
        hint: if terms.is_empty() {
            LOG_ORDER_INDEX
        } else {
            TERMS_INDEX
        },
        limit: i64::try_from(q.limit.max(1) + 1).unwrap_or(i64::MAX),
    }
}

pub(super) async fn query_page(
    c: &Collections,
    q: &StatementQuery,
) -> Result<StatementPage, StoreError> {
    let snapshot = match q.snapshot_seq {
        Some(s) => s,
        None => last_seq(c).await?,
    };
    let find = plan(q, snapshot);
    let docs: Vec<BsonDocument> = c
        .statements
        .find(find.filter)
        .sort(find.sort)
        .hint(Hint::Name(find.hint.into()))
        .limit(find.limit)
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)?;
    let statements = docs.iter().map(to_stored).collect::<Result<Vec<_>, _>>()?;
    Ok(StatementPage::from_overfetch(
        statements,
        q.limit.max(1),
        snapshot,
    ))
}

fn to_stored(d: &BsonDocument) -> Result<StoredStatement, StoreError> {
    Ok(StoredStatement {
        seq: get_i64(d, "_id")?,
        id: Uuid::parse_str(get_str(d, "sid")?).map_err(|_| corrupt("sid"))?,
        stored_ms: get_i64(d, "stored")?,
        voided: d.get_bool("voided").unwrap_or(false),
        json: get_str(d, "json")?.to_owned(),
    })
}

#[async_trait]
impl StatementLog for MongoStore {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let c = self.ready()?.clone();
        let c = &c;
        self.writes
            .submit(batch, attachments, |batch, attachments| async move {
                let plan = prepare(&batch)?;
                in_transaction!(self, |session| {
                    insert(session, c, &batch, &plan, &attachments).await
                })
            })
            .await
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        let c = self.ready()?;
        c.statements
            .find_one(doc! {"sid": id.to_string()})
            .await
            .map_err(map_error)?
            .as_ref()
            .map(to_stored)
            .transpose()
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        let c = self.ready()?;
        query_page(c, query).await
    }

    async fn attachments(&self, statements: &[Uuid]) -> Result<Vec<Attachment>, StoreError> {
        let c = self.ready()?;
        super::attachments::granted(&c.db, &c.attachments, statements).await
    }

    /// Every later write gets a `stored` strictly greater than the newest
    /// committed one (see `statements::allocate`), and a write in flight
    /// becomes visible within `WRITE_WINDOW_MS` of taking its `stored` or
    /// never. So both the newest committed `stored` and
    /// now - `WRITE_WINDOW_MS` are safe; the later of the two is answered.
    async fn consistent_through(&self) -> Result<i64, StoreError> {
        let c = self.ready()?;
        let counter = c
            .counters
            .find_one(doc! {"_id": LOG_COUNTER})
            .await
            .map_err(map_error)?;
        let floor = now_ms() - WRITE_WINDOW_MS;
        Ok(match counter {
            Some(d) => get_i64(&d, "stored")?.max(floor),
            None => floor,
        })
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        let c = self.ready()?;
        let docs: Vec<BsonDocument> = c
            .statements
            .find(doc! {"_id": {"$gt": after}})
            .sort(doc! {"_id": 1})
            .hint(Hint::Name(LOG_ORDER_INDEX.into()))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        docs.iter().map(to_stored).collect()
    }
}
