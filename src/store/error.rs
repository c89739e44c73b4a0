//! `StoreError`: the backend-neutral errors of every store operation. Each
//! variant maps to one HTTP status in `http::error`.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("statement {0} already exists with different content")]
    Conflict(Uuid),
    #[error("{0}")]
    Invalid(String),
    /// An `If-Match` / `If-None-Match` precondition does not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A document write that needs a precondition came without one.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("{backend} backend error")]
    Backend {
        backend: &'static str,
        #[source]
        source: anyhow::Error,
    },
}
