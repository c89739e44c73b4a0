//! Credentials on MongoDB: one document per credential, `_id` = key.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document as BsonDocument};
use mongodb::options::Hint;

use super::error::{corrupt, get_str, map_error};
use super::schema::CREDENTIAL_ORDER_INDEX;
use super::MongoStore;
use crate::store::{Credential, CredentialStore, StoreError};

fn to_credential(d: &BsonDocument) -> Result<Credential, StoreError> {
    let scopes = d
        .get_array("scopes")
        .map_err(|_| corrupt("scopes"))?
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    Ok(Credential {
        key: get_str(d, "_id")?.to_owned(),
        name: get_str(d, "name")?.to_owned(),
        scopes,
        secret_hash: get_str(d, "secret_hash")?.to_owned(),
        created: get_str(d, "created")?.to_owned(),
    })
}

#[async_trait]
impl CredentialStore for MongoStore {
    async fn credential(&self, key: &str) -> Result<Option<Credential>, StoreError> {
        let c = self.ready()?;
        c.credentials
            .find_one(doc! {"_id": key})
            .await
            .map_err(map_error)?
            .as_ref()
            .map(to_credential)
            .transpose()
    }

    async fn put_credential(&self, credential: Credential) -> Result<(), StoreError> {
        let c = self.ready()?;
        let d = doc! {
            "_id": &credential.key,
            "name": &credential.name,
            "scopes": &credential.scopes,
            "secret_hash": &credential.secret_hash,
            "created": &credential.created,
        };
        c.credentials
            .replace_one(doc! {"_id": &credential.key}, d)
            .upsert(true)
            .await
            .map(drop)
            .map_err(map_error)
    }

    async fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let c = self.ready()?;
        let docs: Vec<BsonDocument> = c
            .credentials
            .find(doc! {})
            .sort(doc! {"created": 1, "_id": 1})
            .hint(Hint::Name(CREDENTIAL_ORDER_INDEX.into()))
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        docs.iter().map(to_credential).collect()
    }

    async fn revoke_credential(&self, key: &str) -> Result<bool, StoreError> {
        let c = self.ready()?;
        c.credentials
            .delete_one(doc! {"_id": key})
            .await
            .map(|r| r.deleted_count > 0)
            .map_err(map_error)
    }
}
