//! The MongoDB schema: the indexes every query runs on.

use mongodb::bson::{doc, Document as BsonDocument};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use super::error::map_error;
use crate::store::StoreError;

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

/// Every index Trellis needs: (collection, name, keys, unique, partial
/// filter). Queries name the index they use (`hint`), so none can fall back
/// to a collection scan.
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
pub(super) async fn create_indexes(db: &Database) -> Result<(), StoreError> {
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
