//! One table from every failure to an HTTP status and a JSON body
//! `{"error": kind, "message": text, "path": where}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::ingest::IngestError;
use crate::metrics::RejectReason;
use crate::store::StoreError;
use crate::xapi::params::ParamError;
use crate::xapi::ValidationError;

/// What a client is told when the store cannot answer (the cause is logged).
pub const STORE_UNAVAILABLE: &str = "the store is temporarily unavailable; retry shortly";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A statement or document that breaks the specification.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// A malformed request: parameter, header, body framing.
    #[error("{message}")]
    BadRequest {
        message: String,
        path: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    /// 401 without the HTTP Basic challenge: a browser request (the
    /// dashboard's sign-in, or a request with its session cookie and no
    /// `Authorization` header), where a challenge would make the browser
    /// open its own password prompt instead of the dashboard's.
    #[error("{0}")]
    SignInRequired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body in a media type the endpoint does not take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// A handler panicked (`http::panics`, which logged it); the answer
    /// names the request id so the log line can be found.
    #[error("internal error (request {request_id})")]
    Panicked { request_id: String },
    /// A key that failed authentication recently (429, `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A request body that stalled (408).
    #[error("{0}")]
    RequestTimeout(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            path: None,
        }
    }

    /// A bad query parameter, named in `path`.
    pub fn bad_param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            path: Some(param.to_owned()),
        }
    }

    /// Why a statement write failed, for `trellis_statements_rejected_total`.
    pub fn reject_reason(&self) -> RejectReason {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest { .. } => RejectReason::Invalid,
            ApiError::Conflict(_) => RejectReason::Conflict,
            ApiError::Unauthorized(_)
            | ApiError::SignInRequired(_)
            | ApiError::Forbidden(_)
            | ApiError::TooManyRequests { .. } => RejectReason::Forbidden,
            ApiError::RequestTimeout(_) | ApiError::UnsupportedMediaType(_) => {
                RejectReason::Invalid
            }
            ApiError::PayloadTooLarge(_) => RejectReason::TooLarge,
            ApiError::Unavailable(_) => RejectReason::Unavailable,
            ApiError::NotFound(_)
            | ApiError::PreconditionFailed(_)
            | ApiError::Internal(_)
            | ApiError::Panicked { .. } => RejectReason::Internal,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_statement",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized(_) | ApiError::SignInRequired(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) | ApiError::Panicked { .. } => "internal",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::RequestTimeout(_) => "request_timeout",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict(id) => ApiError::Conflict(format!(
                "a different statement with id {id} is already stored; statements are immutable"
            )),
            StoreError::Invalid(message) => ApiError::bad_request(message),
            StoreError::PreconditionFailed(message) => ApiError::PreconditionFailed(message),
            StoreError::PreconditionRequired(message) => ApiError::Conflict(message),
            // The cause names the driver, addresses or SQLite internals:
            // logged (inside the request's span, so with its request id),
            // never answered.
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "the store is unavailable");
                ApiError::Unavailable(STORE_UNAVAILABLE.to_owned())
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::Invalid(e) => ApiError::Invalid(e),
            IngestError::NotPermitted => ApiError::Forbidden(e.to_string()),
            IngestError::TooManyStatements { .. } => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::StatementIdMismatch => ApiError::bad_param("statementId", e.to_string()),
            IngestError::NotJson(_)
            | IngestError::PutNotAnObject
            | IngestError::NotStatements
            | IngestError::PartWithoutHash
            | IngestError::PartNotBinary
            | IngestError::PartHashMismatch(_)
            | IngestError::UnmatchedPart(_) => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> ApiError {
        ApiError::bad_param(&e.name, e.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::SignInRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) | ApiError::Panicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, path) = match self {
            ApiError::Invalid(e) => (e.message.clone(), Some(e.path.to_string())),
            ApiError::BadRequest { message, path } => (message.clone(), path.clone()),
            ApiError::Internal(e) => {
                // Called inside the request's span: the line carries the
                // request id, the answer only a generic message.
                // `{:#}`: the cause chain on one line.
                tracing::error!(error = %format!("{e:#}"), "request failed");
                ("the server failed to process the request".to_owned(), None)
            }
            ApiError::Panicked { .. } => {
                ("the server failed to process the request".to_owned(), None)
            }
            other => (other.to_string(), None),
        };
        let mut body = json!({"error": self.kind(), "message": message});
        if let Some(path) = path {
            body["path"] = path.into();
        }
        if let ApiError::Panicked { request_id } = self {
            body["request_id"] = request_id.as_str().into();
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Trellis xAPI\""),
                ));
            }
            // A refused session or sign-in must not be cached.
            ApiError::SignInRequired(_) => {
                response.insert_header((header::CACHE_CONTROL, "no-store"));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            // An error leaves the chain before `observe` could add the id.
            ApiError::Panicked { request_id } => {
                if let Ok(value) = HeaderValue::from_str(request_id) {
                    response.insert_header((super::observe::REQUEST_ID_HEADER, value));
                }
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (u16, String) {
        let res = e.error_response();
        let status = res.status().as_u16();
        let bytes = actix_web::body::to_bytes(res.into_body())
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[actix_web::test]
    async fn store_failures_answer_without_driver_or_sqlite_text() {
        let (logs, _guard) = crate::telemetry::Captured::start();
        let span = tracing::info_span!("request", request_id = "err-test-7");
        let _entered = span.enter();
        let secret_texts = [
            "MongoDB: Kind: Server selection timeout: No available servers, Topology: { Type: ReplicaSetNoPrimary, Servers: [ { Address: 10.1.2.3:27017 } ] }",
            "commit failed: disk I/O error (SQLITE_IOERR_FSYNC) at /var/lib/trellis/trellis.db-wal",
        ];
        for cause in secret_texts {
            let e = ApiError::from(StoreError::Unavailable(cause.to_owned()));
            let (status, body) = body_of(e).await;
            assert_eq!(status, 503);
            assert!(body.contains(STORE_UNAVAILABLE), "{body}");
            for leak in ["MongoDB", "10.1.2.3", "SQLITE", "/var/lib", "disk I/O"] {
                assert!(!body.contains(leak), "{leak} in {body}");
            }
        }
        let backend = StoreError::Backend {
            backend: "sqlite",
            source: anyhow::anyhow!("no such table: statements (SQLITE_ERROR) in /data/trellis.db"),
        };
        let (status, body) = body_of(ApiError::from(backend)).await;
        assert_eq!(status, 500);
        for leak in ["sqlite", "no such table", "/data"] {
            assert!(!body.contains(leak), "{leak} in {body}");
        }
        // The causes are in the log, with the request id.
        let log = logs.text();
        for cause in ["10.1.2.3:27017", "SQLITE_IOERR_FSYNC", "no such table"] {
            let line = log.lines().find(|l| l.contains(cause));
            assert!(
                line.is_some_and(|l| l.contains("err-test-7")),
                "{cause} not logged with the request id:\n{log}"
            );
        }
    }
}
