//! Credentials in SQLite (scopes as one space-separated column).

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{backend, SqliteStore};
use crate::store::{Credential, CredentialStore, StoreError};

fn row_to_credential(r: &rusqlite::Row<'_>) -> rusqlite::Result<Credential> {
    let scopes: String = r.get(2)?;
    Ok(Credential {
        key: r.get(0)?,
        name: r.get(1)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        secret_hash: r.get(3)?,
        created: r.get(4)?,
    })
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT key, name, scopes, secret_hash, created FROM credentials WHERE key = ?1",
                [key],
                row_to_credential,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn put_credential(&self, c: Credential) -> Result<(), StoreError> {
        self.write(move |txn, _| {
            txn.execute(
                "INSERT OR REPLACE INTO credentials (key, name, scopes, secret_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![c.key, c.name, c.scopes.join(" "), c.secret_hash, c.created],
            )
            .map(drop)
            .map_err(backend)
        })
        .await
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, name, scopes, secret_hash, created FROM credentials ORDER BY created, key")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], row_to_credential)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend);
            rows
        })
        .await
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(move |txn, _| {
            txn.execute("DELETE FROM credentials WHERE key = ?1", [key])
                .map(|n| n > 0)
                .map_err(backend)
        })
        .await
    }
}
