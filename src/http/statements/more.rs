//! `more` links: the next page of a statement query as an opaque token
//! holding the original query string and the cursor (the log position the
//! page continues after, and the snapshot that keeps paging stable).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::http::error::ApiError;
use crate::store::Cursor;

#[derive(serde::Serialize, serde::Deserialize)]
struct MoreToken {
    /// The original query string.
    p: String,
    a: i64,
    s: i64,
}

pub(super) fn more_link(params: &str, cursor: Cursor) -> String {
    let token = MoreToken {
        p: params.to_owned(),
        a: cursor.after_seq,
        s: cursor.snapshot_seq,
    };
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default());
    format!("/xapi/statements?more={encoded}")
}

/// The query string and cursor a `more` token (from `more_link`) holds.
pub(super) fn decode(token: &str) -> Result<(String, Cursor), ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let token: MoreToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok((
        token.p,
        Cursor {
            after_seq: token.a,
            snapshot_seq: token.s,
        },
    ))
}

pub(super) fn invalid() -> ApiError {
    ApiError::bad_param("more", "the more token is not valid")
}
