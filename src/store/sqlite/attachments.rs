//! Attachment content and who may get it (`store::attachment_access`):
//! `attachments` holds the content by hash, `attachment_grants` the
//! statements whose readers get it, `attachment_senders` the credentials
//! that sent it (migration 2).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::backend;
use crate::store::attachment_access::AccessPlan;
use crate::store::{Attachment, StoreError};

/// Writes a batch's content, grants and senders, in its transaction. The
/// senders go first: a statement claiming content its credential sends in
/// the same request is granted it.
pub(super) fn record(
    txn: &Transaction<'_>,
    plan: &AccessPlan,
    attachments: &[Attachment],
) -> Result<(), StoreError> {
    let mut put_content = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO attachments (sha2, content_type, data) VALUES (?1, ?2, ?3)",
        )
        .map_err(backend)?;
    for a in attachments {
        put_content
            .execute(params![a.sha2, a.content_type, a.data])
            .map_err(backend)?;
    }
    let mut put_sender = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO attachment_senders (sha2, authority_key) VALUES (?1, ?2)",
        )
        .map_err(backend)?;
    for (sha2, key) in &plan.senders {
        put_sender.execute(params![sha2, key]).map_err(backend)?;
    }
    let mut put_grant = txn
        .prepare_cached(
            "INSERT OR IGNORE INTO attachment_grants (statement_id, sha2) VALUES (?1, ?2)",
        )
        .map_err(backend)?;
    for (id, sha2) in &plan.grants {
        put_grant
            .execute(params![id.to_string(), sha2])
            .map_err(backend)?;
    }
    let mut sent = txn
        .prepare_cached("SELECT 1 FROM attachment_senders WHERE sha2 = ?1 AND authority_key = ?2")
        .map_err(backend)?;
    for (id, sha2, key) in &plan.claims {
        let known = sent
            .query_row(params![sha2, key], |_| Ok(()))
            .optional()
            .map_err(backend)?;
        if known.is_some() {
            put_grant
                .execute(params![id.to_string(), sha2])
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// The content granted to `statements`, each hash once, in statement order.
pub(super) fn granted(
    conn: &Connection,
    statements: &[Uuid],
) -> Result<Vec<Attachment>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.sha2, a.content_type, a.data FROM attachment_grants g
             JOIN attachments a ON a.sha2 = g.sha2
             WHERE g.statement_id = ?1 ORDER BY g.sha2",
        )
        .map_err(backend)?;
    let mut out: Vec<Attachment> = Vec::new();
    for id in statements {
        let rows = stmt
            .query_map([id.to_string()], |r| {
                Ok(Attachment {
                    sha2: r.get(0)?,
                    content_type: r.get(1)?,
                    data: r.get(2)?,
                })
            })
            .map_err(backend)?;
        for row in rows {
            let a = row.map_err(backend)?;
            if !out.iter().any(|o| o.sha2 == a.sha2) {
                out.push(a);
            }
        }
    }
    Ok(out)
}
