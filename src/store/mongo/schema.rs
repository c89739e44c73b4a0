//! The MongoDB schema: the indexes every query runs on, and the numbered
//! migrations that create and change them.
//!
//! The schema's version is the document `{_id: "schema", version: N}` in
//! the collection `meta`: version N means migrations 1 to N have run.
//! `MongoStore::initialize` runs the missing ones in order. A database of a
//! version this binary does not know (written by a newer Trellis) is
//! refused: the instance stays unavailable rather than guess.
//!
//! MongoDB cannot build indexes inside a multi-document transaction, so a
//! migration is not atomic with its version bump. Instead every migration
//! must be idempotent: instances starting together may run it side by
//! side, and one interrupted half-way runs again. The version then moves
//! from N-1 to N by a compare-and-set, so it only ever moves forward.
//!
//! # Adding a migration
//! Append one entry to `MIGRATIONS` and never change a released one.
//! `tests` then needs a fixture of the version before it (`OLDER_VERSIONS`),
//! so every upgrade path is tested.

use futures_util::future::BoxFuture;
use mongodb::bson::{doc, Document as BsonDocument};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};

use super::error::{get_i64, is_duplicate_key, map_error};
use crate::store::StoreError;

/// One idempotent schema change.
pub(super) struct Migration {
    /// What it does, for the log.
    pub name: &'static str,
    pub run: for<'a> fn(&'a Database) -> BoxFuture<'a, Result<(), StoreError>>,
}

/// Every migration, in order: entry N (counting from 1) takes the schema
/// from version N-1 to version N.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "the indexes of the first release",
        run: |db| Box::pin(create_indexes(db)),
    },
    Migration {
        name: "attachment grants and senders",
        run: |db| Box::pin(super::attachments::migrate(db)),
    },
];

/// The document holding the schema version, in the collection `meta`.
const SCHEMA_DOCUMENT: &str = "schema";

fn meta(db: &Database) -> Collection<BsonDocument> {
    db.collection("meta")
}

/// The database's schema version: 0 when it has none (a new database, or
/// one from before versioning).
pub(super) async fn version(db: &Database) -> Result<u32, StoreError> {
    match meta(db)
        .find_one(doc! {"_id": SCHEMA_DOCUMENT})
        .await
        .map_err(map_error)?
    {
        Some(d) => {
            let raw = get_i64(&d, "version")?;
            u32::try_from(raw).map_err(|_| StoreError::Backend {
                backend: super::BACKEND,
                source: anyhow::anyhow!("the schema version {raw} is not valid"),
            })
        }
        None => Ok(0),
    }
}

/// The newest schema version, the one this binary reads and writes.
#[cfg(test)]
pub(super) fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// Brings the database to the newest version; answers that version.
pub(super) async fn migrate(db: &Database) -> Result<u32, StoreError> {
    apply(db, MIGRATIONS).await
}

async fn apply(db: &Database, migrations: &[Migration]) -> Result<u32, StoreError> {
    let known = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    loop {
        let current = version(db).await?;
        if current > known {
            return Err(StoreError::Unavailable(format!(
                "the MongoDB database has schema version {current}, newer than this Trellis \
                 knows (up to {known}): it was written by a newer release; run that release \
                 or a later one"
            )));
        }
        let Some(migration) = usize::try_from(current)
            .ok()
            .and_then(|i| migrations.get(i))
        else {
            return Ok(current);
        };
        let next = current + 1;
        (migration.run)(db).await?;
        // From `current` to `next`, unless another instance got there
        // first: then the filter matches nothing, the upsert collides with
        // the existing document on `_id`, and the loop reads the new version.
        let moved = meta(db)
            .update_one(
                doc! {"_id": SCHEMA_DOCUMENT, "version": i64::from(current)},
                doc! {"$set": {"version": i64::from(next)}},
            )
            .upsert(current == 0)
            .await;
        match moved {
            Ok(r) if r.modified_count > 0 || r.upserted_id.is_some() => tracing::info!(
                version = next,
                migration = migration.name,
                "migrated the MongoDB schema"
            ),
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(map_error(e)),
        }
    }
}

/// The built-in index on `_id`: the log order of statements.
pub(super) const LOG_ORDER_INDEX: &str = "_id_";
/// Statement queries: `terms` (agent, verb, activity, registration, related
/// agents and activities, the sending credential) then log order.
pub(super) const TERMS_INDEX: &str = "terms_seq";
pub(super) const VOIDS_INDEX: &str = "voids";
pub(super) const DOCUMENT_KEY_INDEX: &str = "document_key";
pub(super) const CREDENTIAL_ORDER_INDEX: &str = "created_key";
pub(super) const AGGREGATE_KEY_INDEX: &str = "consumer_key";

type IndexSpec = (
    &'static str,
    &'static str,
    BsonDocument,
    bool,
    Option<BsonDocument>,
);

/// The indexes of the first release, migration 1: (collection, name, keys,
/// unique, partial filter). Queries name the index they use (`hint`), so
/// none can fall back to a collection scan. A later index is a migration of
/// its own.
fn index_plan() -> Vec<IndexSpec> {
    vec![
        ("statements", "sid", doc! {"sid": 1}, true, None),
        (
            "statements",
            TERMS_INDEX,
            doc! {"terms": 1, "_id": 1},
            false,
            None,
        ),
        (
            "statements",
            VOIDS_INDEX,
            doc! {"voids": 1},
            false,
            Some(doc! {"voids": {"$type": "string"}}),
        ),
        (
            "documents",
            DOCUMENT_KEY_INDEX,
            doc! {"kind": 1, "activity": 1, "agent": 1, "registration": 1, "doc_id": 1},
            true,
            None,
        ),
        (
            "aggregates",
            AGGREGATE_KEY_INDEX,
            doc! {"consumer": 1, "key": 1},
            true,
            None,
        ),
        (
            "credentials",
            CREDENTIAL_ORDER_INDEX,
            doc! {"created": 1, "_id": 1},
            false,
            None,
        ),
    ]
}

/// Creates every index of `index_plan` (idempotent).
async fn create_indexes(db: &Database) -> Result<(), StoreError> {
    for (collection, name, keys, unique, partial) in index_plan() {
        let mut options = IndexOptions::builder()
            .name(name.to_owned())
            .unique(unique)
            .build();
        if let Some(filter) = partial {
            options.partial_filter_expression = Some(filter);
        }
        let model = IndexModel::builder().keys(keys).options(options).build();
        db.collection::<BsonDocument>(collection)
            .create_index(model)
            .await
            .map_err(map_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{spec::BinarySubtype, Binary};

    use super::*;
    use crate::store::mongo::tests::test_settings;
    use crate::store::mongo::MongoStore;
    use crate::store::Store;

    /// Builds a database of each version older than the newest, with the
    /// data `contract::fixture_data_survives_migration` expects: entry N is
    /// at version N.
    const OLDER_VERSIONS: &[for<'a> fn(&'a Database) -> BoxFuture<'a, ()>] = &[
        |db| Box::pin(v0_unversioned(db)),
        |db| Box::pin(v1_initial(db)),
    ];

    fn binary(bytes: &[u8]) -> Binary {
        Binary {
            subtype: BinarySubtype::Generic,
            bytes: bytes.to_vec(),
        }
    }

    const VOIDED: &str = "6f0f2a5c-1d3e-4b8a-9c7d-5e4f3a2b1c0d";
    const VOIDING: &str = "0b7e8f6a-4c2d-4e1f-8a9b-3c5d7e9f1a2b";
    const HASH: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    /// A database as the releases before schema versioning left it: the
    /// indexes they created at every start, their documents, no `meta`.
    async fn v0_unversioned(db: &Database) {
        create_indexes(db).await.unwrap();
        let authority = r#""authority":{"objectType":"Agent","account":{"homePage":"http://127.0.0.1:8080","name":"legacy-key"}},"version":"1.0.0"}"#;
        let first = format!(
            r#"{{"id":"{VOIDED}","actor":{{"mbox":"mailto:legacy@example.com"}},"verb":{{"id":"http://x.io/legacy"}},"object":{{"id":"http://x.io/legacy-activity","definition":{{"name":{{"en-US":"Legacy"}}}}}},"attachments":[{{"usageType":"http://x.io/note","display":{{"en-US":"note"}},"contentType":"text/plain","length":5,"sha2":"{HASH}"}}],"timestamp":"2023-11-14T22:13:20.000Z","stored":"2023-11-14T22:13:20.000Z",{authority}"#
        );
        let second = format!(
            r#"{{"id":"{VOIDING}","actor":{{"mbox":"mailto:legacy@example.com"}},"verb":{{"id":"http://adlnet.gov/expapi/verbs/voided"}},"object":{{"objectType":"StatementRef","id":"{VOIDED}"}},"timestamp":"2023-11-14T22:13:20.001Z","stored":"2023-11-14T22:13:20.001Z",{authority}"#
        );
        let statements = db.collection::<BsonDocument>("statements");
        statements
            .insert_many([
                doc! {"_id": 1i64, "sid": VOIDED, "stored": 1_700_000_000_000i64, "voided": true,
                    "terms": ["a|mbox:mailto:legacy@example.com", "o|http://x.io/legacy-activity", "u|legacy-key", "v|http://x.io/legacy"],
                    "json": first},
                doc! {"_id": 2i64, "sid": VOIDING, "stored": 1_700_000_000_001i64, "voided": false, "voids": VOIDED,
                    "terms": ["a|mbox:mailto:legacy@example.com", "o|http://x.io/legacy-activity", "u|legacy-key", "v|http://adlnet.gov/expapi/verbs/voided", "v|http://x.io/legacy"],
                    "json": second},
            ])
            .await
            .unwrap();
        let insert = |collection: &str, d: BsonDocument| {
            let c = db.collection::<BsonDocument>(collection);
            async move { c.insert_one(d).await.unwrap() }
        };
        insert(
            "counters",
            doc! {"_id": "log", "seq": 2i64, "stored": 1_700_000_000_001i64},
        )
        .await;
        insert(
            "attachments",
            doc! {"_id": HASH, "content_type": "text/plain", "data": binary(b"hello")},
        )
        .await;
        insert(
            "activities",
            doc! {"_id": "http://x.io/legacy-activity", "definition": r#"{"name":{"en-US":"Legacy"}}"#},
        )
        .await;
        insert(
            "documents",
            doc! {"kind": 1i64, "activity": "http://x.io/legacy-activity",
            "agent": "mbox:mailto:legacy@example.com", "registration": "", "doc_id": "bookmark",
            "content_type": "text/plain", "content": binary(b"page 7\n"),
            "etag": "b37ad6b5d1bbb5a4b9d5e3c3c8b3c4b7f2c1a0e9", "updated": 1_700_000_000_002i64},
        )
        .await;
        insert(
            "credentials",
            doc! {"_id": "legacy-key", "name": "admin", "scopes": ["all", "statements/read"],
            "secret_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "created": "2023-11-14T22:00:00.000Z"},
        )
        .await;
        insert("checkpoints", doc! {"_id": "cx", "seq": 2i64}).await;
        insert(
            "aggregates",
            doc! {"consumer": "cx", "key": VOIDED, "value": binary(b"{}")},
        )
        .await;
    }

    /// A database at version 1: the documents of `v0_unversioned` (its
    /// indexes are migration 1's).
    async fn v1_initial(db: &Database) {
        v0_unversioned(db).await;
    }

    #[test]
    fn every_older_version_has_a_fixture() {
        assert_eq!(OLDER_VERSIONS.len(), MIGRATIONS.len());
    }

    #[tokio::test]
    async fn each_older_version_is_brought_to_the_newest_with_its_data() {
        for (from, fixture) in OLDER_VERSIONS.iter().enumerate() {
            let Some(settings) = test_settings() else {
                return;
            };
            let store = MongoStore::connect(&settings).await.unwrap();
            apply(&store.db, &MIGRATIONS[..from]).await.unwrap();
            fixture(&store.db).await;
            assert_eq!(version(&store.db).await.unwrap() as usize, from);
            assert_eq!(store.initialize().await.unwrap(), latest(), "from {from}");
            assert_eq!(version(&store.db).await.unwrap(), latest());
            crate::store::contract::fixture_data_survives_migration(&store).await;
            // Another instance starting later finds nothing to do.
            let again = MongoStore::connect(&settings).await.unwrap();
            assert_eq!(again.initialize().await.unwrap(), latest());
            crate::store::contract::fixture_data_survives_migration(&again).await;
            store.drop_database().await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_database_of_a_newer_version_is_refused_and_left_alone() {
        let Some(settings) = test_settings() else {
            return;
        };
        let store = MongoStore::connect(&settings).await.unwrap();
        let newer = latest() + 1;
        meta(&store.db)
            .insert_one(doc! {"_id": SCHEMA_DOCUMENT, "version": i64::from(newer)})
            .await
            .unwrap();
        let error = store.initialize().await.unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        assert!(
            error
                .to_string()
                .contains(&format!("schema version {newer}, newer than this Trellis")),
            "{error}"
        );
        // Not usable, and nothing was changed.
        assert!(store.ping().await.is_err());
        assert_eq!(version(&store.db).await.unwrap(), newer);
        store.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_migration_leaves_the_version_before_it() {
        let Some(settings) = test_settings() else {
            return;
        };
        let store = MongoStore::connect(&settings).await.unwrap();
        let migrations = [
            Migration {
                name: "one index",
                run: |db| Box::pin(create_indexes(db)),
            },
            Migration {
                name: "fails",
                run: |_| Box::pin(async { Err(StoreError::Invalid("failed on purpose".into())) }),
            },
        ];
        let error = apply(&store.db, &migrations).await.unwrap_err();
        assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
        assert_eq!(version(&store.db).await.unwrap(), 1);
        store.drop_database().await.unwrap();
    }

    #[tokio::test]
    async fn instances_starting_together_all_reach_the_newest_version() {
        let Some(settings) = test_settings() else {
            return;
        };
        let mut stores = Vec::new();
        for _ in 0..3 {
            stores.push(MongoStore::connect(&settings).await.unwrap());
        }
        let versions = futures_util::future::join_all(stores.iter().map(|s| s.initialize())).await;
        for v in versions {
            assert_eq!(v.unwrap(), latest());
        }
        assert_eq!(version(&stores[0].db).await.unwrap(), latest());
        stores[0].drop_database().await.unwrap();
    }
}
