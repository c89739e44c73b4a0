//! Reading request bodies within the configured limits: a size (413 above)
//! and a stall timeout (a body that sends nothing for that long is dropped
//! with 408, so a slow client cannot hold a request open for ever).
//!
//! Handlers authenticate from the headers before they read a body, so an
//! unauthenticated client never makes the server read (or buffer) one.

use std::time::Duration;

use actix_web::web;
use futures_util::StreamExt;

use super::error::ApiError;
use super::settings::Limits;

/// Reads the whole body, answering 413 as soon as it exceeds
/// `max_body_bytes` and 408 when no data arrives for `body_stall_timeout`.
pub async fn read_limited(payload: web::Payload, limits: &Limits) -> Result<web::Bytes, ApiError> {
    read_within(payload, limits.max_body_bytes, limits.body_stall_timeout).await
}

async fn read_within(
    mut payload: web::Payload,
    limit: usize,
    stall: Duration,
) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    loop {
        let next = tokio::time::timeout(stall, payload.next())
            .await
            .map_err(|_| {
                ApiError::RequestTimeout(format!(
                    "the request body sent nothing for {} s",
                    stall.as_secs()
                ))
            })?;
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the request body exceeds {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
