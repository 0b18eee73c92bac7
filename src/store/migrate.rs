//! Schema migrations and per-connection settings.
//!
//! The migrations are the files of `schema/` (`NNNN_name.sql`), embedded in this list in order;
//! migration `i` (from 1) brings the store to version `i`, kept in `PRAGMA user_version`. Each is
//! applied in one `BEGIN IMMEDIATE` transaction together with the version bump, so a crash leaves
//! the store at the previous version, and two processes opening a new store at once migrate it
//! once (the second re-reads the version under the lock).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// One schema file.
pub(crate) struct Migration {
    /// The file's stem, e.g. `0001_init`.
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this build knows, oldest first. Add a file to `schema/` and a line here.
pub(crate) const MIGRATIONS: &[Migration] =
    &[Migration { name: "0001_init", sql: include_str!("../../schema/0001_init.sql") }];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for another connection's lock before giving up with `Locked`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The settings every connection gets that don't write to the file: wait for locks, and enforce
/// foreign keys (SQLite leaves them off by default, per connection).
pub(crate) fn configure(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "foreign_keys", true)
}

/// Reads `PRAGMA user_version`; this is also the first read of the file, so a file that isn't a
/// database fails here.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings a writable store to `SCHEMA_VERSION`: refuses a newer store before writing anything,
/// then switches to WAL (persistent, so it is set once the version is known to be ours) and
/// applies the missing migrations.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let at = |e| StoreError::from_sqlite(path, e);
    let found = version(conn).map_err(at)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known: SCHEMA_VERSION });
    }
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(at)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(store = %path.display(), mode, "SQLite refused WAL mode; concurrent readers will block the daemon");
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(at)?;
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(at)?;
        let current = version(&tx).map_err(at)?;
        if current >= target {
            continue;
        }
        tx.execute_batch(migration.sql).map_err(at)?;
        tx.pragma_update(None, "user_version", target).map_err(at)?;
        tx.commit().map_err(at)?;
        tracing::info!(store = %path.display(), migration = migration.name, "migrated store");
    }
    Ok(())
}

/// Checks that a store opened read-only is at exactly this build's version.
pub(crate) fn check_current(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found = version(conn).map_err(|e| StoreError::from_sqlite(path, e))?;
    let path = path.to_path_buf();
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(StoreError::TooNew { path, found, known: SCHEMA_VERSION }),
        std::cmp::Ordering::Less => Err(StoreError::NotMigrated { path, found, known: SCHEMA_VERSION }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list and the folder agree: every `schema/NNNN_name.sql` is listed, in order.
    #[test]
    fn every_schema_file_is_listed_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| format!("{}.sql", m.name)).collect();
        assert_eq!(files, listed);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert!(m.name.starts_with(&format!("{:04}_", i + 1)), "{} is out of order", m.name);
        }
    }
}
