//! Documents: `DocumentStore` (State, Activity Profile and Agent Profile
//! documents, and canonical Activity definitions), the backend-neutral
//! document types, and the precondition rules every backend applies inside
//! its write (so a check and its write are one atomic step).
//!
//! # Contract
//! - `put_document` and `delete_documents` (with an id) check their
//!   `Precondition` against the current document and write in one atomic
//!   step: two writers holding the same ETag cannot both win.
//! - A document is returned byte for byte as written, with the ETag of its
//!   content; `updated_ms` moves forward on every write, even within one
//!   millisecond.
//! - A merge (POST) of JSON objects follows `apply_write`.
//! - `document_ids` lists a scope's documents by id; a scope without a
//!   registration lists (and `delete_documents` without an id deletes) the
//!   documents of every registration.
//! - `activity_definition` is the canonical definition merged from the
//!   statements that carried it (`StatementLog::insert_statements` records it
//!   in the statements' atomic step): merged when the sender may define
//!   Activities, otherwise recorded only if none is known yet.

use async_trait::async_trait;

use super::StoreError;
use crate::xapi::document::{self, DocumentKind};

#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// The canonical definition of an Activity, merged from the statements
    /// that carried it.
    async fn activity_definition(
        &self,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;

    async fn document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// Ids, with their last change (ms), of the documents in `scope`
    /// changed after `since_ms`, ordered by id.
    async fn document_ids(
        &self,
        scope: &DocumentScope,
        since_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Writes one document after checking `precondition` against it, in one
    /// atomic step. Returns the document as stored.
    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        write: DocumentWrite,
        precondition: Precondition,
    ) -> Result<Document, StoreError>;

    /// Deletes one document (`Some(id)`, after checking `precondition`) or
    /// every document in `scope`.
    async fn delete_documents(
        &self,
        scope: &DocumentScope,
        id: Option<&str>,
        precondition: Precondition,
    ) -> Result<(), StoreError>;
}

/// Where a document lives. For the State resource `activity`, `agent` (IFI
/// key) and `registration` locate it; profiles use `activity` or `agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentScope {
    pub kind: DocumentKind,
    pub activity: String,
    pub agent: String,
    /// `None`: no registration (single documents) or any registration
    /// (listing and deleting several State documents).
    pub registration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: String,
    pub content: Vec<u8>,
    /// Unquoted SHA-1 of the content.
    pub etag: String,
    /// Last change, in milliseconds since the Unix epoch.
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentWrite {
    /// PUT: replace (or create) the document.
    Replace {
        content_type: String,
        content: Vec<u8>,
    },
    /// POST: merge a JSON object into the document (or create it).
    Merge {
        content_type: String,
        content: Vec<u8>,
    },
}

/// HTTP preconditions of a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Precondition {
    /// `If-Match` ETags (unquoted); `*` matches any existing document.
    pub if_match: Option<Vec<String>>,
    /// `If-None-Match` ETags (unquoted); `*` fails when a document exists.
    pub if_none_match: Option<Vec<String>>,
    /// A PUT on an existing document without either header is a conflict.
    pub required_for_existing: bool,
}

impl Precondition {
    /// Checks the precondition against the current document.
    pub fn check(&self, current: Option<&Document>) -> Result<(), StoreError> {
        if let Some(tags) = &self.if_match {
            let ok = current.is_some_and(|d| tags.iter().any(|t| t == "*" || *t == d.etag));
            if !ok {
                return Err(StoreError::PreconditionFailed(
                    "If-Match does not match the current document".into(),
                ));
            }
        }
        if let Some(tags) = &self.if_none_match {
            let matched = current.is_some_and(|d| tags.iter().any(|t| t == "*" || *t == d.etag));
            if matched {
                return Err(StoreError::PreconditionFailed(
                    "If-None-Match matches the current document".into(),
                ));
            }
        }
        if self.required_for_existing
            && current.is_some()
            && self.if_match.is_none()
            && self.if_none_match.is_none()
        {
            return Err(StoreError::PreconditionRequired(
                "the document exists: send If-Match with its ETag to replace it, or If-None-Match: * to create only".into(),
            ));
        }
        Ok(())
    }
}

/// The document a write produces from the current one.
pub(crate) fn apply_write(
    current: Option<&Document>,
    write: DocumentWrite,
    now_ms: i64,
) -> Result<Document, StoreError> {
    let (content_type, content) = match (write, current) {
        (
            DocumentWrite::Replace {
                content_type,
                content,
            },
            _,
        ) => (content_type, content),
        (
            DocumentWrite::Merge {
                content_type,
                content,
            },
            None,
        ) => {
            if document::is_json(&content_type) {
                document::merge(b"{}", &content).map_err(StoreError::Invalid)?;
            }
            (content_type, content)
        }
        (
            DocumentWrite::Merge {
                content_type,
                content,
            },
            Some(existing),
        ) => {
            if !document::is_json(&content_type) || !document::is_json(&existing.content_type) {
                return Err(StoreError::Invalid(
                    "POST merges JSON objects: both the stored and the posted document must be application/json".into(),
                ));
            }
            let merged =
                document::merge(&existing.content, &content).map_err(StoreError::Invalid)?;
            (existing.content_type.clone(), merged)
        }
    };
    Ok(Document {
        etag: document::etag(&content),
        content_type,
        content,
        updated_ms: now_ms,
    })
}
