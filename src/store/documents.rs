//! Backend-neutral document types and the precondition rules every backend
//! applies inside its write (so a check and its write are one atomic step).

use super::StoreError;
use crate::xapi::document::{self, DocumentKind};

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
pub fn apply_write(
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
