//! The SQLite schema and its numbered migrations.
//!
//! The schema's version is the database's `PRAGMA user_version`: version N
//! means migrations 1 to N have run. Opening the store runs the missing
//! ones in order, each in its own transaction together with its version
//! bump, so a crash or a failing migration leaves the database at the
//! version before it. A database of a version this binary does not know
//! (written by a newer Trellis) is refused rather than guessed at.
//!
//! # Adding a migration
//! Append one entry to `MIGRATIONS` (its SQL in `migrations/NNNN_name.sql`)
//! and never change a released one. `tests` then needs a fixture of the
//! version before it (`OLDER_VERSIONS`), so every upgrade path is tested.

use anyhow::Context as _;
use rusqlite::{Connection, TransactionBehavior};

/// One schema change, applied exactly once.
pub(super) struct Migration {
    /// What it does, for the log.
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order: entry N (counting from 1) takes the schema
/// from version N-1 to version N.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "initial schema",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        name: "attachment grants and senders",
        sql: include_str!("migrations/0002_attachment_grants.sql"),
    },
    Migration {
        name: "query terms move to the index database",
        sql: include_str!("migrations/0003_index_database.sql"),
    },
];

/// The newest schema version, the one this binary reads and writes.
#[cfg(test)]
pub(super) fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// Brings the database to the newest version; answers that version.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<u32> {
    apply(conn, MIGRATIONS)
}

/// The database's schema version.
pub(super) fn version(conn: &Connection) -> anyhow::Result<u32> {
    let raw: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .context("reading the schema version")?;
    u32::try_from(raw).with_context(|| format!("the schema version {raw} is not valid"))
}

fn apply(conn: &mut Connection, migrations: &[Migration]) -> anyhow::Result<u32> {
    let known = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    // The common case, a current database, takes no write lock.
    if version(conn)? == known {
        return Ok(known);
    }
    loop {
        // IMMEDIATE: the version is read under the write lock, so two
        // processes opening the database at once never run a migration twice.
        let txn = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a schema migration")?;
        let current = version(&txn)?;
        if current > known {
            anyhow::bail!(
                "the database has schema version {current}, newer than this Trellis knows \
                 (up to {known}): it was written by a newer release; run that release or a later one"
            );
        }
        let Some(migration) = usize::try_from(current)
            .ok()
            .and_then(|i| migrations.get(i))
        else {
            return Ok(current);
        };
        let next = current + 1;
        txn.execute_batch(migration.sql)
            .with_context(|| format!("schema migration {next} ({})", migration.name))?;
        txn.pragma_update(None, "user_version", next)
            .context("recording the schema version")?;
        txn.commit()
            .with_context(|| format!("committing schema migration {next}"))?;
        tracing::info!(
            version = next,
            migration = migration.name,
            "migrated the SQLite schema"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::sqlite::SqliteStore;

    /// A database of each version older than the newest, with the data
    /// `contract::fixture_data_survives_migration` expects: entry N is at
    /// version N. The first predates versioning and holds its own schema;
    /// the others hold rows for the schema migrations 1 to N create.
    const OLDER_VERSIONS: &[&str] = &[
        include_str!("testdata/v0_unversioned.sql"),
        include_str!("testdata/v1_initial.sql"),
        include_str!("testdata/v2_attachment_grants.sql"),
    ];

    fn database(dir: &Path) -> Connection {
        Connection::open(dir.join("trellis.db")).unwrap()
    }

    #[test]
    fn every_older_version_has_a_fixture() {
        assert_eq!(OLDER_VERSIONS.len(), MIGRATIONS.len());
    }

    #[tokio::test]
    async fn each_older_version_is_brought_to_the_newest_with_its_data() {
        for (from, fixture) in OLDER_VERSIONS.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            {
                let mut conn = database(dir.path());
                // The fixture's own schema, then its rows. Version 0
                // predates versioning, so its fixture holds its schema.
                if from > 0 {
                    apply(&mut conn, &MIGRATIONS[..from]).unwrap();
                }
                conn.execute_batch(fixture).unwrap();
                assert_eq!(version(&conn).unwrap() as usize, from);
            }
            let store = SqliteStore::open(dir.path()).unwrap();
            assert_eq!(store.schema_version(), latest(), "from version {from}");
            assert_eq!(version(&database(dir.path())).unwrap(), latest());
            crate::store::contract::fixture_data_survives_migration(&store).await;
            drop(store);
            // Opening again changes nothing.
            let store = SqliteStore::open(dir.path()).unwrap();
            assert_eq!(store.schema_version(), latest());
            crate::store::contract::fixture_data_survives_migration(&store).await;
        }
    }

    #[test]
    fn a_new_database_gets_the_newest_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.schema_version(), latest());
        assert_eq!(version(&database(dir.path())).unwrap(), latest());
    }

    #[test]
    fn a_database_of_a_newer_version_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let newer = latest() + 1;
        database(dir.path())
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let error = SqliteStore::open(dir.path()).err().expect("refused");
        let message = format!("{error:#}");
        assert!(
            message.contains(&format!("schema version {newer}, newer than this Trellis")),
            "{message}"
        );
        assert_eq!(version(&database(dir.path())).unwrap(), newer);
    }

    #[test]
    fn a_failing_migration_leaves_the_version_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = database(dir.path());
        let migrations = [
            Migration {
                name: "one table",
                sql: "CREATE TABLE one (a INTEGER);",
            },
            Migration {
                name: "half done",
                sql: "CREATE TABLE two (a INTEGER); INSERT INTO missing VALUES (1);",
            },
        ];
        let error = apply(&mut conn, &migrations).unwrap_err();
        assert!(format!("{error:#}").contains("schema migration 2 (half done)"));
        assert_eq!(version(&conn).unwrap(), 1);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tables, ["one"]);
    }

    #[test]
    fn processes_opening_a_new_database_together_all_get_the_newest_version() {
        let dir = tempfile::tempdir().unwrap();
        let opened: Vec<u32> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| SqliteStore::open(dir.path()).map(|st| st.schema_version())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(opened, vec![latest(); 4]);
    }
}
