//! Driver errors mapped to `StoreError`, and reading fields of stored
//! documents (a document of the wrong shape is a backend error).

use mongodb::bson::{Bson, Document as BsonDocument};
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

use super::BACKEND;
use crate::store::StoreError;

/// The server cannot be reached now: fail at once with 503 rather than
/// retry, so clients learn of an outage within the server selection timeout.
pub(super) fn unreachable(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::Shutdown
    )
}

/// A unique index refused a write: another instance inserted the same
/// statement or document in a transaction that committed first. Running the
/// transaction again sees that write.
pub(super) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    const DUPLICATE_KEY: i32 = 11000;
    match e.kind.as_ref() {
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == DUPLICATE_KEY)),
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// Server codes meaning "not now": elections, shutdown, unreachable hosts.
const UNAVAILABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Maps a driver error: the server being unreachable is `Unavailable`
/// (503 with Retry-After); anything else is a backend error (500).
pub(super) fn map_error(e: mongodb::error::Error) -> StoreError {
    let unavailable = unreachable(&e)
        || match e.kind.as_ref() {
            ErrorKind::Command(c) => UNAVAILABLE_CODES.contains(&c.code),
            ErrorKind::Write(mongodb::error::WriteFailure::WriteConcernError(_)) => true,
            ErrorKind::InsertMany(m) => m.write_concern_error.is_some(),
            _ => {
                e.contains_label(TRANSIENT_TRANSACTION_ERROR)
                    || e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    || e.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
            }
        };
    if unavailable {
        StoreError::Unavailable(format!("MongoDB: {e}"))
    } else {
        StoreError::Backend {
            backend: BACKEND,
            source: e.into(),
        }
    }
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        source: anyhow::anyhow!("unexpected document shape: {what}"),
    }
}

pub(super) fn get_i64(d: &BsonDocument, key: &str) -> Result<i64, StoreError> {
    match d.get(key) {
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Double(f)) if f.fract() == 0.0 => Ok(*f as i64),
        _ => Err(corrupt(key)),
    }
}

pub(super) fn get_str<'a>(d: &'a BsonDocument, key: &str) -> Result<&'a str, StoreError> {
    d.get_str(key).map_err(|_| corrupt(key))
}
