//! API credentials: `CredentialStore` and `Credential`.
//!
//! # Contract
//! - A credential is found by its key; `put_credential` inserts it or
//!   replaces the one with the same key, in one step.
//! - `credentials` lists every credential, oldest `created` first (ties by
//!   key), so listings are stable.
//! - `revoke_credential` deletes; it answers whether there was one.
//! - Only the secret's hash is ever stored.

use async_trait::async_trait;

use super::StoreError;

#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError>;
    /// Inserts or replaces the credential with this key.
    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError>;
    /// Every credential, ordered by `created`, then key.
    async fn credentials(&self) -> Result<Vec<Credential>, StoreError>;
    /// Deletes a credential; false when there was none.
    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError>;
}

/// An API credential; the secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub key: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// PHC string of the secret's Argon2id hash.
    pub secret_hash: String,
    pub created: String,
}
