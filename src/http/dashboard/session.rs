//! Dashboard sessions: a random token in a cookie, and on the server only
//! the token's SHA-256 with the credential key and the expiry.
//!
//! The sessions live in the store, so every instance serving one database
//! (MongoDB) sees the same ones, and signing out or revoking the credential
//! ends a session at once everywhere. They are kept with `ConsumerState`
//! under their own consumer name: its records are a durable key-value map
//! with an atomic compare-and-set (`commit_aggregate`), which is exactly
//! what a session table needs, on both backends, without a schema change.
//! The "checkpoint" of this consumer is a version counter of the map, not a
//! log position; no log consumer reads it.
//!
//! A session authenticates only as a reader: the principal it yields has
//! the scope `statements/read` alone, and only GET and HEAD requests accept
//! the cookie (`http::auth::authenticate_request`), so the cookie opens no
//! write path that a forged cross-site request could use.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{random_token, Principal, ReadAccess, Scope};
use crate::store::{AggregateCommit, Store, StoreError};

/// The cookie's name.
pub const COOKIE: &str = "trellis_session";
/// How long a session lasts (8 hours: a working day).
pub const LIFETIME_SECONDS: i64 = 8 * 3600;
/// The `ConsumerState` name under which sessions are kept.
const CONSUMER: &str = "dashboard-sessions";
/// Attempts of a compare-and-set before giving up (each retry means another
/// sign-in or sign-out committed in between).
const ATTEMPTS: usize = 50;
/// Expired sessions removed per sign-in, so the map stays small.
const SWEEP: usize = 200;

/// What the server keeps of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The key of the credential that signed in.
    pub key: String,
    /// Expiry, milliseconds since the epoch.
    pub expires_ms: i64,
}

/// The stored key of a token: its SHA-256 in lowercase hex (64 characters).
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Applies `deletes` and `puts` to the session map by compare-and-set.
async fn commit(
    store: &dyn Store,
    deletes: Vec<String>,
    puts: Vec<(String, Vec<u8>)>,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let version = store.checkpoint(CONSUMER).await?;
        let step = AggregateCommit {
            expected_checkpoint: version,
            checkpoint: version + 1,
            deletes: deletes.clone(),
            puts: puts.clone(),
        };
        if store.commit_aggregate(CONSUMER, step).await? {
            return Ok(());
        }
    }
    Err(StoreError::Backend {
        backend: "sessions",
        source: anyhow::anyhow!("the session map kept changing; try again"),
    })
}

/// Whether a credential's scopes allow the dashboard (reading every
/// statement).
pub fn may_use_dashboard(principal: &Principal) -> bool {
    principal.statement_read_access() == ReadAccess::Everything
}

/// Starts a session for credential `key`; answers the token for the cookie.
pub async fn start(store: &dyn Store, key: &str) -> Result<String, StoreError> {
    let token = random_token(32);
    let now = now_ms();
    let record = SessionRecord {
        key: key.to_owned(),
        expires_ms: now + LIFETIME_SECONDS * 1000,
    };
    let value = serde_json::to_vec(&record).map_err(|e| StoreError::Backend {
        backend: "sessions",
        source: e.into(),
    })?;
    let expired = store
        .aggregate_records(CONSUMER, None, SWEEP)
        .await?
        .into_iter()
        .filter(|(_, v)| {
            serde_json::from_slice::<SessionRecord>(v).map_or(true, |r| r.expires_ms <= now)
        })
        .map(|(k, _)| k)
        .collect();
    commit(store, expired, vec![(token_hash(&token), value)]).await?;
    Ok(token)
}

/// A session of credential `key` that expired a moment ago, still stored
/// (as when a browser kept its cookie past the expiry); for tests.
#[cfg(test)]
pub(super) async fn start_expired(store: &dyn Store, key: &str) -> String {
    let token = random_token(32);
    let record = SessionRecord {
        key: key.to_owned(),
        expires_ms: now_ms() - 1,
    };
    let value = serde_json::to_vec(&record).unwrap_or_default();
    commit(store, Vec::new(), vec![(token_hash(&token), value)])
        .await
        .ok();
    token
}

/// The live session of `token`, if any.
pub async fn find(store: &dyn Store, token: &str) -> Result<Option<SessionRecord>, StoreError> {
    let hash = token_hash(token);
    // Records come in key order after a key; every key is 64 hex digits, so
    // the records after the hash's 63-digit prefix that share it are at most
    // 16, and the token's own record is among them when it exists.
    let prefix: String = hash.chars().take(63).collect();
    let records = store.aggregate_records(CONSUMER, Some(prefix), 16).await?;
    Ok(records
        .into_iter()
        .find(|(k, _)| *k == hash)
        .and_then(|(_, v)| serde_json::from_slice::<SessionRecord>(&v).ok())
        .filter(|r| r.expires_ms > now_ms()))
}

/// Ends the session of `token` (nothing when there is none).
pub async fn end(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    if find(store, token).await?.is_none() {
        return Ok(());
    }
    commit(store, vec![token_hash(token)], Vec::new()).await
}

/// The principal a session cookie stands for: the credential must still
/// exist and read every statement. It gets `statements/read` only.
pub async fn principal(
    store: &dyn Store,
    token: &str,
) -> Result<Option<(Principal, SessionRecord)>, StoreError> {
    let Some(session) = find(store, token).await? else {
        return Ok(None);
    };
    let Some(credential) = store.credential(&session.key).await? else {
        return Ok(None);
    };
    let full = Principal {
        key: credential.key,
        name: credential.name,
        scopes: credential
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect(),
    };
    if !may_use_dashboard(&full) {
        return Ok(None);
    }
    Ok(Some((
        Principal {
            scopes: vec![Scope::StatementsRead],
            ..full
        },
        session,
    )))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that sets (`Some(token)`) or clears (`None`) the
/// session cookie.
pub fn set_cookie(token: Option<&str>, secure: bool) -> String {
    let (value, max_age) = match token {
        Some(t) => (t, LIFETIME_SECONDS),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::create_credential;
    use crate::store::sqlite::SqliteStore;

    fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        (dir, store)
    }

    #[tokio::test]
    async fn a_started_session_is_found_by_its_token_until_it_ends() {
        let (_dir, store) = store();
        let a = start(store.as_ref(), "k1").await.unwrap();
        let b = start(store.as_ref(), "k2").await.unwrap();
        assert_ne!(a, b);
        assert_eq!(find(store.as_ref(), &a).await.unwrap().unwrap().key, "k1");
        assert_eq!(find(store.as_ref(), &b).await.unwrap().unwrap().key, "k2");
        assert!(find(store.as_ref(), "forged").await.unwrap().is_none());
        end(store.as_ref(), &a).await.unwrap();
        assert!(find(store.as_ref(), &a).await.unwrap().is_none());
        assert!(find(store.as_ref(), &b).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_store_keeps_the_token_hash_not_the_token() {
        let (_dir, store) = store();
        let token = start(store.as_ref(), "k").await.unwrap();
        let records = store.aggregate_records(CONSUMER, None, 10).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].0, token_hash(&token));
        assert!(!String::from_utf8_lossy(&records[0].1).contains(&token));
    }

    #[tokio::test]
    async fn an_expired_session_is_not_found_and_is_swept_by_the_next_sign_in() {
        let (_dir, store) = store();
        let old = SessionRecord {
            key: "k".into(),
            expires_ms: now_ms() - 1,
        };
        commit(
            store.as_ref(),
            vec![],
            vec![(token_hash("old"), serde_json::to_vec(&old).unwrap())],
        )
        .await
        .unwrap();
        assert!(find(store.as_ref(), "old").await.unwrap().is_none());
        start(store.as_ref(), "k").await.unwrap();
        let keys: Vec<String> = store
            .aggregate_records(CONSUMER, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(!keys.contains(&token_hash("old")));
        assert_eq!(keys.len(), 1);
    }

    #[tokio::test]
    async fn a_session_stands_for_a_reader_only_while_its_credential_reads_everything() {
        let (_dir, store) = store();
        let admin = create_credential(store.as_ref(), "admin", vec![Scope::All], None, None)
            .await
            .unwrap();
        let token = start(store.as_ref(), &admin.key).await.unwrap();
        let (p, _) = principal(store.as_ref(), &token).await.unwrap().unwrap();
        assert_eq!(p.scopes, vec![Scope::StatementsRead]);
        assert!(!p.can_write_statements());
        // Replaced by a writer-only credential with the same key: refused.
        create_credential(
            store.as_ref(),
            "admin",
            vec![Scope::StatementsWrite],
            Some(admin.key.clone()),
            None,
        )
        .await
        .unwrap();
        assert!(principal(store.as_ref(), &token).await.unwrap().is_none());
        store.revoke_credential(&admin.key).await.unwrap();
        assert!(principal(store.as_ref(), &token).await.unwrap().is_none());
    }

    #[test]
    fn cookies_are_read_from_a_cookie_header() {
        assert_eq!(
            cookie_value("a=1; trellis_session=xyz", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("trellis_session=", COOKIE), None);
        assert_eq!(cookie_value("other=1", COOKIE), None);
        assert_eq!(cookie_value("", COOKIE), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let set = set_cookie(Some("t"), true);
        assert!(set.starts_with("trellis_session=t;"));
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=28800",
        ] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
        assert!(!set_cookie(Some("t"), false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }
}
