//! What a credential limited to its own statements (`statements/read/mine`,
//! or no read scope at all) may touch: it voids only statements it may
//! read, and every "not found" it gets reads the same whether the statement
//! exists under another credential or not at all, so it cannot probe for
//! other credentials' statement ids.

use serde_json::Value;

use crate::auth::{Principal, ReadAccess};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::{NewStatement, StoredStatement};

/// The one answer for a statement the caller may not see, whether it exists
/// or not.
pub(super) fn not_found(voided: bool) -> ApiError {
    ApiError::NotFound(if voided {
        "no voided statement with that id (readable with this credential)".into()
    } else {
        "no statement with that id (readable with this credential)".into()
    })
}

/// Whether `principal` may read `stored` (its read scope and, for
/// `statements/read/mine`, the statement's authority).
pub(super) fn may_read(principal: &Principal, statement: &Value) -> bool {
    match principal.statement_read_access() {
        ReadAccess::Everything => true,
        ReadAccess::OnlyMine => authored_by(statement, principal),
        ReadAccess::Nothing => false,
    }
}

/// Whether `principal` sent `statement` (its authority is the credential).
pub(super) fn authored_by(statement: &Value, principal: &Principal) -> bool {
    statement
        .pointer("/authority/account/name")
        .and_then(Value::as_str)
        == Some(principal.key.as_str())
}

/// Refuses the batch when a credential that may not read every statement
/// voids one it did not send. The target must be stored with this
/// credential, or be sent in the same batch; a target that does not exist
/// is refused the same way, so the answer tells nothing about other
/// credentials' statements. (Once stored, a statement's authority never
/// changes, so the check cannot be raced.)
pub(super) async fn check_voiding(
    state: &AppState,
    principal: &Principal,
    batch: &[NewStatement],
) -> Result<(), ApiError> {
    if principal.statement_read_access() == ReadAccess::Everything {
        return Ok(());
    }
    for new in batch {
        let Some(target) = new.statement.voided_target() else {
            continue;
        };
        if batch.iter().any(|s| s.statement.id() == Some(target)) {
            continue;
        }
        let owned = match state.store.statement(target).await? {
            Some(StoredStatement { json, .. }) => serde_json::from_str::<Value>(&json)
                .map(|v| authored_by(&v, principal))
                .unwrap_or(false),
            None => false,
        };
        if !owned {
            return Err(ApiError::Forbidden(
                "this credential may void only statements it sent \
                 (scope statements/read/mine)"
                    .into(),
            ));
        }
    }
    Ok(())
}
