//! State, Activity Profile and Agent Profile documents on MongoDB: one
//! document each, found by (kind, activity, agent, registration, doc_id)
//! under a unique index. A write reads, checks its precondition and writes
//! in one transaction; two racing creations collide on the unique index and
//! the loser runs again against the winner's document.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, spec::BinarySubtype, Binary, Document as BsonDocument};
use mongodb::options::Hint;
use mongodb::{ClientSession, Collection};
use serde_json::Value;

use super::error::{corrupt, get_i64, get_str, map_error};
use super::schema::DOCUMENT_KEY_INDEX;
use super::transaction::{in_transaction, TxnError};
use super::{now_ms, MongoStore};
use crate::store::documents::apply_write;
use crate::store::{
    Document, DocumentScope, DocumentStore, DocumentWrite, Precondition, StoreError,
};

fn key(scope: &DocumentScope, id: &str) -> BsonDocument {
    doc! {
        "kind": scope.kind.as_i64(),
        "activity": &scope.activity,
        "agent": &scope.agent,
        "registration": scope.registration.as_deref().unwrap_or(""),
        "doc_id": id,
    }
}

/// The documents of a scope; `registration: None` means any registration.
fn scope_filter(scope: &DocumentScope) -> BsonDocument {
    let mut filter = doc! {
        "kind": scope.kind.as_i64(),
        "activity": &scope.activity,
        "agent": &scope.agent,
    };
    if let Some(r) = &scope.registration {
        filter.insert("registration", r);
    }
    filter
}

fn to_document(d: &BsonDocument) -> Result<Document, StoreError> {
    Ok(Document {
        content_type: get_str(d, "content_type")?.to_owned(),
        content: d
            .get_binary_generic("content")
            .map_err(|_| corrupt("content"))?
            .clone(),
        etag: get_str(d, "etag")?.to_owned(),
        updated_ms: get_i64(d, "updated")?,
    })
}

pub(super) async fn read(
    documents: &Collection<BsonDocument>,
    session: Option<&mut ClientSession>,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<Document>, StoreError> {
    let find = documents.find_one(key(scope, id));
    let found = match session {
        Some(s) => find.session(s).await,
        None => find.await,
    }
    .map_err(map_error)?;
    found.as_ref().map(to_document).transpose()
}

pub(super) async fn ids(
    documents: &Collection<BsonDocument>,
    scope: &DocumentScope,
    since_ms: Option<i64>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut filter = scope_filter(scope);
    if let Some(since) = since_ms {
        filter.insert("updated", doc! {"$gt": since});
    }
    let docs: Vec<BsonDocument> = documents
        .find(filter)
        .projection(doc! {"doc_id": 1, "updated": 1})
        .sort(doc! {"doc_id": 1})
        .hint(Hint::Name(DOCUMENT_KEY_INDEX.into()))
        .await
        .map_err(map_error)?
        .try_collect()
        .await
        .map_err(map_error)?;
    let mut out: Vec<(String, i64)> = Vec::with_capacity(docs.len());
    for d in &docs {
        let id = get_str(d, "doc_id")?.to_owned();
        let updated = get_i64(d, "updated")?;
        // Across registrations one id can appear several times: list it once,
        // with its latest change.
        match out.last_mut() {
            Some((last, t)) if *last == id => *t = (*t).max(updated),
            _ => out.push((id, updated)),
        }
    }
    Ok(out)
}

pub(super) async fn put(
    session: &mut ClientSession,
    documents: &Collection<BsonDocument>,
    scope: &DocumentScope,
    id: &str,
    write: &DocumentWrite,
    precondition: &Precondition,
) -> Result<Document, TxnError> {
    let current = read(documents, Some(&mut *session), scope, id).await?;
    precondition.check(current.as_ref())?;
    // Last-Modified must move forward even within one millisecond.
    let now = now_ms().max(current.as_ref().map_or(0, |d| d.updated_ms + 1));
    let doc = apply_write(current.as_ref(), write.clone(), now)?;
    let mut record = key(scope, id);
    record.insert("content_type", &doc.content_type);
    record.insert(
        "content",
        Binary {
            subtype: BinarySubtype::Generic,
            bytes: doc.content.clone(),
        },
    );
    record.insert("etag", &doc.etag);
    record.insert("updated", doc.updated_ms);
    documents
        .replace_one(key(scope, id), record)
        .upsert(true)
        .session(&mut *session)
        .await?;
    Ok(doc)
}

pub(super) async fn delete(
    session: &mut ClientSession,
    documents: &Collection<BsonDocument>,
    scope: &DocumentScope,
    id: Option<&str>,
    precondition: &Precondition,
) -> Result<(), TxnError> {
    match id {
        Some(id) => {
            let current = read(documents, Some(&mut *session), scope, id).await?;
            precondition.check(current.as_ref())?;
            documents
                .delete_one(key(scope, id))
                .session(&mut *session)
                .await?;
        }
        None => {
            documents
                .delete_many(scope_filter(scope))
                .session(&mut *session)
                .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl DocumentStore for MongoStore {
    async fn activity_definition(&self, activity_id: &str) -> Result<Option<Value>, StoreError> {
        let c = self.ready()?;
        match c
            .activities
            .find_one(doc! {"_id": activity_id})
            .await
            .map_err(map_error)?
        {
            Some(d) => serde_json::from_str(get_str(&d, "definition")?)
                .map(Some)
                .map_err(|_| corrupt("definition")),
            None => Ok(None),
        }
    }

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let c = self.ready()?;
        read(&c.documents, None, scope, id).await
    }

    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let c = self.ready()?;
        ids(&c.documents, scope, since_ms).await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            put(session, &c.documents, scope, id, &write, &precondition).await
        })
    }

    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let c = self.ready()?.clone();
        in_transaction!(self, |session| {
            delete(session, &c.documents, scope, id, &precondition).await
        })
    }
}
