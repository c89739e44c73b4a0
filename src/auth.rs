//! Credentials and their xAPI scopes: creating key/secret pairs, hashing
//! secrets (Argon2id), and authenticating HTTP Basic credentials.
//!
//! Argon2 is deliberately slow, so a successful verification is remembered
//! in memory as a SHA-256 of the secret, tied to the stored hash: later
//! requests with the same credential cost one store read and one hash, and
//! a revoked or replaced credential stops working at once.

mod throttle;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::store::{Credential, Store, StoreError};
use throttle::Throttle;

/// The xAPI scopes (xAPI Communication 4.0, OAuth scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    StatementsWrite,
    StatementsRead,
    StatementsReadMine,
    AllRead,
    All,
    State,
    Define,
    Profile,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::StatementsWrite,
        Scope::StatementsRead,
        Scope::StatementsReadMine,
        Scope::AllRead,
        Scope::All,
        Scope::State,
        Scope::Define,
        Scope::Profile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::StatementsWrite => "statements/write",
            Scope::StatementsRead => "statements/read",
            Scope::StatementsReadMine => "statements/read/mine",
            Scope::AllRead => "all/read",
            Scope::All => "all",
            Scope::State => "state",
            Scope::Define => "define",
            Scope::Profile => "profile",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Parses a comma- or space-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let scopes: Vec<Scope> = s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(|p| Scope::parse(p).ok_or_else(|| format!("unknown scope {p:?}")))
            .collect::<Result<_, _>>()?;
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(scopes)
    }
}

/// What a request may do for statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAccess {
    Everything,
    OnlyMine,
    Nothing,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key: String,
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn can_write_statements(&self) -> bool {
        self.has(Scope::All) || self.has(Scope::StatementsWrite)
    }

    pub fn can_define(&self) -> bool {
        self.has(Scope::All) || self.has(Scope::Define)
    }

    pub fn statement_read_access(&self) -> ReadAccess {
        if self.has(Scope::All) || self.has(Scope::AllRead) || self.has(Scope::StatementsRead) {
            ReadAccess::Everything
        } else if self.has(Scope::StatementsReadMine) {
            ReadAccess::OnlyMine
        } else {
            ReadAccess::Nothing
        }
    }

    /// The Agent recorded as the `authority` of the statements it sends.
    pub fn authority(&self, home_page: &str) -> Value {
        json!({
            "objectType": "Agent",
            "name": self.name,
            "account": {"homePage": home_page, "name": self.key}
        })
    }
}

/// A newly created credential; the only time its secret is known.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    pub key: String,
    pub secret: String,
    pub name: String,
    pub scopes: Vec<Scope>,
}

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system provides randomness");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 hashes any secret")
        .to_string()
}

/// Creates and stores a credential. `key`/`secret` may be given (for the
/// admin credential from the environment); otherwise they are generated.
pub async fn create_credential(
    store: &dyn Store,
    name: &str,
    scopes: Vec<Scope>,
    key: Option<String>,
    secret: Option<String>,
) -> Result<IssuedCredential, StoreError> {
    let key = key.unwrap_or_else(|| random_token(15));
    let secret = secret.unwrap_or_else(|| random_token(32));
    let secret_for_hash = secret.clone();
    let secret_hash = tokio::task::spawn_blocking(move || hash_secret(&secret_for_hash))
        .await
        .map_err(|e| StoreError::Backend {
            backend: "argon2",
            source: e.into(),
        })?;
    store
        .put_credential(Credential {
            key: key.clone(),
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            secret_hash,
            created: crate::xapi::datatypes::format_timestamp(chrono::Utc::now()),
        })
        .await?;
    Ok(IssuedCredential {
        key,
        secret,
        name: name.to_owned(),
        scopes,
    })
}

/// Why credentials were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown key, revoked credential or wrong secret (indistinguishable).
    #[error("unknown key or wrong secret")]
    Refused,
    /// The key failed recently; it is not verified again before `retry_after`.
    #[error("too many failed attempts with this key")]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks HTTP Basic credentials against the store.
///
/// A wrong secret costs a full Argon2 verification, so verifications are
/// bounded three ways: at most one per CPU core at a time (a semaphore:
/// memory stays at cores x 19 MiB whatever the flood), a key that failed
/// backs off exponentially (`throttle`; answered without verifying), and
/// an unknown key is verified against a dummy hash, so it costs and takes
/// the same as a known key with a wrong secret.
pub struct Authenticator {
    store: Arc<dyn Store>,
    /// key -> (stored hash, SHA-256 of the secret that matched it).
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
    verifications: Arc<Semaphore>,
    throttle: Throttle,
    /// Argon2 verifications run (for tests: unknown keys cost one too).
    argon2_runs: AtomicU64,
    /// Argon2 working memory, reused: at most one buffer per permit ever
    /// exists, so a flood cannot leave the allocator holding one 19 MiB
    /// buffer per blocking thread it happened to run on.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

/// An Argon2 hash no secret is expected to match, verified for unknown
/// keys so they take as long as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_secret(&random_token(32)))
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>) -> Authenticator {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Authenticator {
            store,
            verified: Mutex::new(HashMap::new()),
            verifications: Arc::new(Semaphore::new(cores)),
            throttle: Throttle::default(),
            argon2_runs: AtomicU64::new(0),
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The caller of `key`/`secret`, or why not.
    pub async fn authenticate(&self, key: &str, secret: &str) -> Result<Principal, AuthError> {
        let credential = self.store.credential(key).await?;
        let fingerprint: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(credential) = &credential {
            let remembered = self
                .verified
                .lock()
                .ok()
                .and_then(|cache| cache.get(key).cloned())
                .filter(|(hash, _)| *hash == credential.secret_hash);
            // A secret verified before passes at the cost of one hash, also
            // while the key backs off from someone else's wrong guesses.
            if remembered.is_some_and(|(_, known)| bool::from(known.ct_eq(&fingerprint))) {
                return Ok(principal(credential));
            }
        }
        if let Some(retry_after) = self.throttle.wait(key, Instant::now()) {
            return Err(AuthError::Throttled { retry_after });
        }
        let permit = Arc::clone(&self.verifications)
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Refused)?;
        // Failures recorded while this request waited for its turn count.
        if let Some(retry_after) = self.throttle.wait(key, Instant::now()) {
            return Err(AuthError::Throttled { retry_after });
        }
        let hash = credential
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |c| c.secret_hash.clone());
        let secret = secret.to_owned();
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let memory = Arc::clone(&self.memory);
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_reusing(&hash, secret.as_bytes(), &memory)
        })
        .await
        .unwrap_or(false);
        match credential {
            Some(credential) if matched => {
                self.throttle.succeeded(key);
                if let Ok(mut cache) = self.verified.lock() {
                    cache.insert(
                        key.to_owned(),
                        (credential.secret_hash.clone(), fingerprint),
                    );
                }
                Ok(principal(&credential))
            }
            _ => {
                self.throttle.failed(key, Instant::now());
                Err(AuthError::Refused)
            }
        }
    }
}

/// Whether `secret` matches the PHC string `hash`, computing Argon2 in a
/// buffer from `pool` (returned to it afterwards).
fn verify_reusing(hash: &str, secret: &[u8], pool: &Mutex<Vec<Vec<Block>>>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut blocks = pool
        .lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_default();
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = blocks
        .get_mut(..params.block_count())
        .map(|memory| argon2.hash_password_into_with_memory(secret, salt, &mut out, memory));
    if let Ok(mut p) = pool.lock() {
        p.push(blocks);
    }
    matches!(computed, Some(Ok(()))) && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

fn principal(credential: &Credential) -> Principal {
    Principal {
        key: credential.key.clone(),
        name: credential.name.clone(),
        scopes: credential
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn scope_lists_parse() {
        assert_eq!(Scope::parse_list("all").unwrap(), vec![Scope::All]);
        assert_eq!(
            Scope::parse_list("statements/read, statements/write").unwrap(),
            vec![Scope::StatementsRead, Scope::StatementsWrite]
        );
        assert!(Scope::parse_list("statements/delete").is_err());
        assert!(Scope::parse_list("").is_err());
    }

    #[tokio::test]
    async fn only_the_right_secret_authenticates_and_revocation_is_immediate() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let issued = create_credential(
            store.as_ref(),
            "lms",
            vec![Scope::StatementsWrite],
            None,
            None,
        )
        .await
        .unwrap();
        let auth = Authenticator::new(store.clone());
        for _ in 0..2 {
            let p = auth
                .authenticate(&issued.key, &issued.secret)
                .await
                .expect("valid");
            assert!(p.can_write_statements());
            assert_eq!(p.statement_read_access(), ReadAccess::Nothing);
        }
        assert!(matches!(
            auth.authenticate(&issued.key, "wrong").await,
            Err(AuthError::Refused)
        ));
        assert!(matches!(
            auth.authenticate("nobody", &issued.secret).await,
            Err(AuthError::Refused)
        ));
        store.revoke_credential(&issued.key).await.unwrap();
        // Revoked: the key is now unknown (it also backs off after the
        // wrong secret above, so either refusal is right).
        assert!(auth
            .authenticate(&issued.key, &issued.secret)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn repeated_failures_back_off_but_a_verified_secret_still_passes() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let issued = create_credential(store.as_ref(), "lms", vec![Scope::All], None, None)
            .await
            .unwrap();
        let auth = Authenticator::new(store.clone());
        auth.authenticate(&issued.key, &issued.secret)
            .await
            .expect("valid");
        for _ in 0..=throttle::FREE_FAILURES {
            assert!(matches!(
                auth.authenticate(&issued.key, "wrong").await,
                Err(AuthError::Refused)
            ));
        }
        // The next guess is not verified at all: 429 territory.
        match auth.authenticate(&issued.key, "wrong again").await {
            Err(AuthError::Throttled { retry_after }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1))
            }
            other => panic!("expected a backoff, got {other:?}"),
        }
        // The owner of the key, verified before, is not locked out.
        auth.authenticate(&issued.key, &issued.secret)
            .await
            .expect("the verified secret passes during the backoff");
        // Unknown keys back off the same way.
        for _ in 0..=throttle::FREE_FAILURES {
            assert!(matches!(
                auth.authenticate("nobody", "x").await,
                Err(AuthError::Refused)
            ));
        }
        assert!(matches!(
            auth.authenticate("nobody", "y").await,
            Err(AuthError::Throttled { .. })
        ));
    }

    #[tokio::test]
    async fn an_unknown_key_costs_a_verification_like_a_wrong_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let issued = create_credential(store.as_ref(), "lms", vec![Scope::All], None, None)
            .await
            .unwrap();
        let auth = Authenticator::new(store.clone());
        let _ = auth.authenticate(&issued.key, "wrong").await;
        assert_eq!(auth.argon2_runs.load(Ordering::Relaxed), 1);
        let _ = auth.authenticate("unknown", "wrong").await;
        assert_eq!(
            auth.argon2_runs.load(Ordering::Relaxed),
            2,
            "an unknown key must cost the same Argon2 verification"
        );
    }

    #[test]
    fn verification_in_reused_memory_accepts_only_the_right_secret() {
        let pool = Mutex::new(Vec::new());
        let hash = hash_secret("s3cret");
        for _ in 0..2 {
            assert!(verify_reusing(&hash, b"s3cret", &pool));
            assert!(!verify_reusing(&hash, b"s3cret!", &pool));
        }
        assert_eq!(pool.lock().unwrap().len(), 1, "one buffer, reused");
        assert!(!verify_reusing("not a hash", b"s3cret", &pool));
    }

    #[test]
    fn secrets_are_never_stored_in_clear() {
        let hash = hash_secret("s3cret");
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("s3cret"));
    }
}
