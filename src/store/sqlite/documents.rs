//! Documents and canonical Activity definitions in SQLite. A document
//! write checks its precondition and writes in one job of the single
//! writer, so two writers with the same ETag cannot both win.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::{backend, now_ms, SqliteStore};
use crate::store::documents::apply_write;
use crate::store::{
    Document, DocumentScope, DocumentStore, DocumentWrite, Precondition, StoreError,
};

const DOCUMENT_COLUMNS: &str = "content_type, content, etag, updated";

fn row_to_document(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    Ok(Document {
        content_type: r.get(0)?,
        content: r.get(1)?,
        etag: r.get(2)?,
        updated_ms: r.get(3)?,
    })
}

fn read_document(
    conn: &Connection,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<Document>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents
         WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND doc_id = ?5"
    ))
    .and_then(|mut s| {
        s.query_row(
            params![
                scope.kind.as_i64(),
                scope.activity,
                scope.agent,
                scope.registration.as_deref().unwrap_or(""),
                id
            ],
            row_to_document,
        )
        .optional()
    })
    .map_err(backend)
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn activity_definition(&self, activity_id: &str) -> Result<Option<Value>, StoreError> {
        let id = activity_id.to_owned();
        self.read(move |conn| {
            let text: Option<String> = conn
                .query_row(
                    "SELECT definition FROM activities WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            text.map(|t| serde_json::from_str(&t).map_err(backend))
                .transpose()
        })
        .await
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.read(move |conn| read_document(conn, &scope, &id))
            .await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let scope = scope.clone();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT doc_id, updated FROM documents
                     WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND (?4 IS NULL OR registration = ?4) AND updated > ?5
                     ORDER BY doc_id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration, since_ms.unwrap_or(i64::MIN)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.write(move |txn, _| {
            let current = read_document(txn, &scope, &id)?;
            precondition.check(current.as_ref())?;
            // Last-Modified must move forward even within one millisecond.
            let now = now_ms().max(current.as_ref().map_or(0, |d| d.updated_ms + 1));
            let doc = apply_write(current.as_ref(), write, now)?;
            txn.prepare_cached(
                "INSERT OR REPLACE INTO documents (kind, activity, agent, registration, doc_id, content_type, content, etag, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    scope.kind.as_i64(),
                    scope.activity,
                    scope.agent,
                    scope.registration.as_deref().unwrap_or(""),
                    id,
                    doc.content_type,
                    doc.content,
                    doc.etag,
                    doc.updated_ms
                ])
            })
            .map_err(backend)?;
            Ok(doc)
        })
        .await
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let (scope, id) = (scope.clone(), id.map(str::to_owned));
        self.write(move |txn, _| {
            match id {
                Some(id) => {
                    let current = read_document(txn, &scope, &id)?;
                    precondition.check(current.as_ref())?;
                    txn.execute(
                        "DELETE FROM documents WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND doc_id = ?5",
                        params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration.as_deref().unwrap_or(""), id],
                    )
                    .map_err(backend)?;
                }
                None => {
                    txn.execute(
                        "DELETE FROM documents WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND (?4 IS NULL OR registration = ?4)",
                        params![scope.kind.as_i64(), scope.activity, scope.agent, scope.registration],
                    )
                    .map_err(backend)?;
                }
            }
            Ok(())
        })
        .await
    }
}
