//! Why a submission was refused. Each variant is one rule of `ingest`; the
//! HTTP status of each is decided in `http::error`, and `trellis import`
//! reports the text.

use crate::xapi::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The sender's credential lacks the scope to write statements.
    #[error("this credential may not write statements (scope statements/write)")]
    NotPermitted,
    #[error("the body is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("PUT /statements takes a single statement object")]
    PutNotAnObject,
    #[error("the body must be a statement or an array of statements")]
    NotStatements,
    #[error("{count} statements in one request; the limit is {limit}")]
    TooManyStatements { count: usize, limit: usize },
    /// A statement breaks a rule of the specification, or of the
    /// submission (a repeated id, an attachment without content, a bad
    /// signature); the path says where.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A PUT whose `statementId` is not the statement's own `id`.
    #[error("the statementId parameter differs from the statement's id")]
    StatementIdMismatch,
    #[error("every attachment part needs an X-Experience-API-Hash header")]
    PartWithoutHash,
    #[error("attachment parts must have Content-Transfer-Encoding: binary")]
    PartNotBinary,
    #[error("the content of attachment part {0} does not match its X-Experience-API-Hash")]
    PartHashMismatch(String),
    #[error("multipart part {0} matches no attachment of the statements")]
    UnmatchedPart(String),
}
