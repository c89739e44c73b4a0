//! Credentials and their xAPI scopes: creating key/secret pairs, hashing
//! secrets (Argon2id), and authenticating HTTP Basic credentials.
//!
//! Argon2 is deliberately slow, so a successful verification is remembered
//! in memory as a SHA-256 of the secret, tied to the stored hash: later
//! requests with the same credential cost one store read and one hash, and
//! a revoked or replaced credential stops working at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::{Credential, Store, StoreError};

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

/// Checks HTTP Basic credentials against the store.
pub struct Authenticator {
    store: Arc<dyn Store>,
    /// key -> (stored hash, SHA-256 of the secret that matched it).
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>) -> Authenticator {
        Authenticator {
            store,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok(None)` when the key is unknown or the secret is wrong.
    pub async fn authenticate(
        &self,
        key: &str,
        secret: &str,
    ) -> Result<Option<Principal>, StoreError> {
        let Some(credential) = self.store.credential(key).await? else {
            return Ok(None);
        };
        let fingerprint: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let remembered = self
            .verified
            .lock()
            .ok()
            .and_then(|cache| cache.get(key).cloned())
            .filter(|(hash, _)| *hash == credential.secret_hash);
        let valid = match remembered {
            Some((_, known)) => bool::from(known.ct_eq(&fingerprint)),
            None => {
                let hash = credential.secret_hash.clone();
                let secret = secret.to_owned();
                let ok = tokio::task::spawn_blocking(move || {
                    PasswordHash::new(&hash)
                        .map(|parsed| {
                            Argon2::default()
                                .verify_password(secret.as_bytes(), &parsed)
                                .is_ok()
                        })
                        .unwrap_or(false)
                })
                .await
                .unwrap_or(false);
                if ok {
                    if let Ok(mut cache) = self.verified.lock() {
                        cache.insert(
                            key.to_owned(),
                            (credential.secret_hash.clone(), fingerprint),
                        );
                    }
                }
                ok
            }
        };
        if !valid {
            return Ok(None);
        }
        Ok(Some(Principal {
            key: credential.key,
            name: credential.name,
            scopes: credential
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect(),
        }))
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
                .unwrap()
                .expect("valid");
            assert!(p.can_write_statements());
            assert_eq!(p.statement_read_access(), ReadAccess::Nothing);
        }
        assert!(auth
            .authenticate(&issued.key, "wrong")
            .await
            .unwrap()
            .is_none());
        assert!(auth
            .authenticate("nobody", &issued.secret)
            .await
            .unwrap()
            .is_none());
        store.revoke_credential(&issued.key).await.unwrap();
        assert!(auth
            .authenticate(&issued.key, &issued.secret)
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn secrets_are_never_stored_in_clear() {
        let hash = hash_secret("s3cret");
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("s3cret"));
    }
}
