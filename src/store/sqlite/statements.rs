//! The statement log in SQLite: `statements` (`seq` is the log position,
//! `cred` the sending credential), `attachments` by hash, and the canonical
//! Activity definitions recorded in the statements' transaction.
//!
//! The acknowledged transaction holds only these rows: the query keys are
//! indexed behind it by the background indexer (`index`), which also gives
//! a StatementRef its target's keys. A query waits (up to `QUERY_WAIT`)
//! until the index covers the log as it was when the query arrived, then
//! reads only what the index covers: it drives from its first key's
//! postings in `seq` order and checks the others with indexed lookups.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use uuid::Uuid;

use super::writer::WriterState;
use super::{backend, now_ms, SqliteStore};
use crate::store::{
    attachment_access, query_terms, Attachment, NewStatement, StatementLog, StatementPage,
    StatementQuery, StoreError, StoredStatement,
};
use crate::xapi::activity::{defined_activities, merge_definition};
use crate::xapi::datatypes::format_timestamp;

/// How long a query waits for the index to cover the statements committed
/// before it; after that it answers from what the index covers.
const QUERY_WAIT: Duration = Duration::from_secs(2);

fn insert_batch(
    txn: &Transaction<'_>,
    state: &WriterState,
    batch: Vec<NewStatement>,
    attachments: &[Attachment],
) -> Result<Vec<Uuid>, StoreError> {
    let stored_ms = state.next_stored();
    let stored =
        format_timestamp(chrono::DateTime::from_timestamp_millis(stored_ms).unwrap_or_default());
    let access = attachment_access::plan(&batch, attachments);
    let mut ids = Vec::with_capacity(batch.len());
    let mut select = txn
        .prepare_cached("SELECT json FROM statements WHERE id = ?1")
        .map_err(backend)?;
    let mut insert = txn
        .prepare_cached(
            "INSERT INTO statements (id, stored, voided, voids, json, cred)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend)?;
    for new in batch {
        let Some(id) = new.statement.id() else {
            return Err(StoreError::Invalid(
                "a statement reached the store without an id".into(),
            ));
        };
        let key = id.to_string();
        let existing: Option<String> = select
            .query_row([&key], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(existing) = existing {
            let existing: serde_json::Map<String, Value> =
                serde_json::from_str(&existing).map_err(backend)?;
            if new.statement.is_equivalent_to(&existing) {
                ids.push(id);
                continue;
            }
            return Err(StoreError::Conflict(id));
        }
        let voids = new.statement.voided_target().map(|t| t.to_string());
        if let Some(target) = &voids {
            let target_voids: Option<Option<String>> = txn
                .query_row(
                    "SELECT voids FROM statements WHERE id = ?1",
                    [target],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if let Some(Some(_)) = target_voids {
                return Err(StoreError::Invalid(format!(
                    "statement {target} is a voiding statement, and a voiding statement cannot be voided"
                )));
            }
            txn.execute("UPDATE statements SET voided = 1 WHERE id = ?1", [target])
                .map_err(backend)?;
        }
        // A voiding statement stored before its target voids it on arrival.
        let voided_already = voids.is_none()
            && txn
                .query_row(
                    "SELECT 1 FROM statements WHERE voids = ?1 LIMIT 1",
                    [&key],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
        for (activity, definition) in defined_activities(new.statement.body()) {
            record_activity(txn, state, &activity, &definition, new.may_define)?;
        }
        let json = new.statement.stored_json(&new.json, &stored);
        insert
            .execute(params![
                key,
                stored_ms,
                voided_already,
                voids,
                json,
                new.authority_key
            ])
            .map_err(backend)?;
        ids.push(id);
    }
    super::attachments::record(txn, &access, attachments)?;
    state.stored_at(stored_ms);
    Ok(ids)
}

/// Records an Activity's definition: merged into the canonical one when
/// the sender may define Activities, otherwise only if none is known yet.
fn record_activity(
    txn: &Transaction<'_>,
    state: &WriterState,
    id: &str,
    definition: &serde_json::Map<String, Value>,
    may_define: bool,
) -> Result<(), StoreError> {
    let stored = match state.cached_activity(id) {
        Some(known) => Some(known),
        None => {
            let text: Option<String> = txn
                .prepare_cached("SELECT definition FROM activities WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
                .map_err(backend)?;
            text.map(|t| serde_json::from_str(&t).map_err(backend))
                .transpose()?
        }
    };
    let merged = match &stored {
        Some(_) if !may_define => return Ok(()),
        Some(current) => {
            let mut merged = current.clone();
            merge_definition(&mut merged, definition);
            merged
        }
        None => definition.clone(),
    };
    if stored.as_ref() != Some(&merged) {
        let text = serde_json::to_string(&merged).map_err(backend)?;
        txn.prepare_cached("INSERT OR REPLACE INTO activities (id, definition) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![id, text]))
            .map_err(backend)?;
    }
    state.cache_activity(id, merged);
    Ok(())
}

fn row_to_statement(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredStatement> {
    let id: String = r.get(1)?;
    Ok(StoredStatement {
        seq: r.get(0)?,
        id: Uuid::parse_str(&id).unwrap_or_default(),
        stored_ms: r.get(2)?,
        voided: r.get(3)?,
        json: r.get(4)?,
    })
}

/// One page of `q`, reading only statements the index covers (`indexed`).
fn query_page(
    conn: &Connection,
    q: &StatementQuery,
    indexed: i64,
) -> Result<StatementPage, StoreError> {
    let snapshot = q.snapshot_seq.unwrap_or(indexed).min(indexed);
    let mut term_ids = Vec::new();
    {
        let mut lookup = conn
            .prepare_cached("SELECT id FROM ix.terms WHERE key = ?1")
            .map_err(backend)?;
        for key in query_terms(q) {
            let id: Option<i64> = lookup
                .query_row([&key], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            match id {
                Some(id) => term_ids.push(id),
                // A key no statement has: nothing matches.
                None => return Ok(StatementPage::from_overfetch(Vec::new(), 1, snapshot)),
            }
        }
    }
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut sql = String::from("SELECT s.seq, s.id, s.stored, s.voided, s.json FROM ");
    let seq_col = match term_ids.split_first() {
        None => {
            sql.push_str("statements s WHERE s.voided = 0");
            "s.seq"
        }
        Some((first, others)) => {
            sql.push_str(
                "ix.postings p0 JOIN statements s ON s.seq = p0.seq WHERE p0.term = ? AND s.voided = 0",
            );
            args.push((*first).into());
            for term in others {
                sql.push_str(
                    " AND EXISTS (SELECT 1 FROM ix.postings px WHERE px.term = ? AND px.seq = p0.seq)",
                );
                args.push((*term).into());
            }
            "p0.seq"
        }
    };
    sql.push_str(&format!(" AND {seq_col} <= ?"));
    args.push(snapshot.into());
    if let Some(after) = q.after_seq {
        sql.push_str(&format!(
            " AND {seq_col} {} ?",
            if q.ascending { ">" } else { "<" }
        ));
        args.push(after.into());
    }
    if let Some(since) = q.since_ms {
        sql.push_str(" AND s.stored > ?");
        args.push(since.into());
    }
    if let Some(until) = q.until_ms {
        sql.push_str(" AND s.stored <= ?");
        args.push(until.into());
    }
    let limit = q.limit.max(1);
    sql.push_str(&format!(
        " ORDER BY {seq_col} {} LIMIT {}",
        if q.ascending { "ASC" } else { "DESC" },
        limit + 1
    ));
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let statements: Vec<StoredStatement> = stmt
        .query_map(rusqlite::params_from_iter(args), row_to_statement)
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(StatementPage::from_overfetch(statements, limit, snapshot))
}

#[async_trait]
impl StatementLog for SqliteStore {
    async fn insert_statements(
        &self,
        batch: Vec<NewStatement>,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.write(move |txn, state| insert_batch(txn, state, batch, &attachments))
            .await
    }

    async fn statement(&self, id: Uuid) -> Result<Option<StoredStatement>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT seq, id, stored, voided, json FROM statements WHERE id = ?1",
                [id.to_string()],
                row_to_statement,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn query(&self, query: &StatementQuery) -> Result<StatementPage, StoreError> {
        let query = query.clone();
        let shared = &self.index.shared;
        // A first page waits for the index to cover what was committed
        // when it arrived; a later page reads under its first page's
        // snapshot, which the index already covered.
        let indexed = match query.snapshot_seq {
            None => shared.wait_for(shared.log_end(), QUERY_WAIT).await.seq,
            Some(_) => shared.position().seq,
        };
        self.read(move |conn| query_page(conn, &query, indexed))
            .await
    }

    async fn attachments(&self, statements: &[Uuid]) -> Result<Vec<Attachment>, StoreError> {
        let statements = statements.to_vec();
        self.read(move |conn| super::attachments::granted(conn, &statements))
            .await
    }

    async fn consistent_through(&self) -> Result<i64, StoreError> {
        let now = now_ms();
        let shared = &self.index.shared;
        // The position first: if the index covers the log end read after
        // it, it covers every statement committed before that read.
        let indexed = shared.position();
        let visible = self.writer.visible_through(now);
        if indexed.seq >= shared.log_end() {
            Ok(visible)
        } else {
            // Statements after the position have a `stored` at or after
            // the position's, which may be shared within that millisecond.
            Ok((indexed.stored_ms - 1).clamp(0, visible))
        }
    }

    async fn log_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, id, stored, voided, json FROM statements WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![after, limit as i64], row_to_statement)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DocumentStore;

    fn defining(id: Uuid, verb: &str, activity: &str) -> NewStatement {
        use crate::xapi::{JsonPath, Statement, XapiVersion};
        let value = serde_json::json!({
            "id": id.to_string(),
            "actor": {"mbox": "mailto:ana@example.com"},
            "verb": {"id": verb},
            "object": {"id": activity, "definition": {"name": {"en": "Lesson"}}}
        });
        let statement = Statement::parse(value, XapiVersion::V2_0, &JsonPath::root()).unwrap();
        NewStatement::new(statement, "test".into(), false)
    }

    #[tokio::test]
    async fn a_rolled_back_batch_leaves_no_cached_activity_definition() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let taken = Uuid::new_v4();
        store
            .insert_statements(
                vec![defining(taken, "http://x.io/v", "http://x.io/other")],
                vec![],
            )
            .await
            .unwrap();
        // The batch records a new definition, then fails on the taken id.
        let batch = vec![
            defining(Uuid::new_v4(), "http://x.io/v", "http://x.io/rolled-back"),
            defining(taken, "http://x.io/different", "http://x.io/other"),
        ];
        assert!(store.insert_statements(batch, vec![]).await.is_err());
        assert_eq!(
            store
                .activity_definition("http://x.io/rolled-back")
                .await
                .unwrap(),
            None
        );
        // Sent again, the same definition must be stored this time.
        store
            .insert_statements(
                vec![defining(
                    Uuid::new_v4(),
                    "http://x.io/v",
                    "http://x.io/rolled-back",
                )],
                vec![],
            )
            .await
            .unwrap();
        assert!(store
            .activity_definition("http://x.io/rolled-back")
            .await
            .unwrap()
            .is_some());
    }
}
