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
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    name: "0001_init",
    sql: include_str!("../../schema/0001_init.sql"),
}];

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
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(at)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(store = %path.display(), mode, "SQLite refused WAL mode; concurrent readers will block the daemon");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(at)?;
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
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
        std::cmp::Ordering::Greater => Err(StoreError::TooNew {
            path,
            found,
            known: SCHEMA_VERSION,
        }),
        std::cmp::Ordering::Less => Err(StoreError::NotMigrated {
            path,
            found,
            known: SCHEMA_VERSION,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::testing::temp_store;

    fn checksum(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn migrates_an_empty_store_and_reopens_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folders/store.db");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(version(&store.conn).unwrap(), SCHEMA_VERSION);
        store.meta_set("k", "v").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(version(&store.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("v"));
        let tables: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 10);
    }

    #[test]
    fn connections_use_wal_foreign_keys_and_normal_sync() {
        let (_dir, store) = temp_store();
        let c = &store.conn;
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let fk: i64 = c
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        let sync: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), fk, sync), ("wal", 1, 1));
    }

    #[test]
    fn a_newer_store_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
        drop(conn);
        let before = checksum(&path);
        let err = Store::open(&path).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::TooNew {
                    found: 99,
                    known: SCHEMA_VERSION,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("store.db") && text.contains("upgrade diffuse-dse"),
            "{text}"
        );
        assert_eq!(checksum(&path), before);
        let mode: String = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "the journal mode was not switched");
        assert!(matches!(
            Store::open_read_only(&path),
            Err(StoreError::TooNew { .. })
        ));
    }

    #[test]
    fn read_only_open_wants_a_current_store_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        assert!(matches!(
            Store::open_read_only(&path),
            Err(StoreError::NotFound { .. })
        ));
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = Store::open_read_only(&path).err().unwrap();
        assert!(
            matches!(err, StoreError::NotMigrated { found: 0, .. }),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
        Store::open(&path).unwrap();
        let mut store = Store::open_read_only(&path).unwrap();
        assert_eq!(store.meta_get("space_hash").unwrap(), None);
        let err = store.meta_set("k", "v").unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(
            &path,
            "these are my notes, not a database, but long enough to look like a header ......",
        )
        .unwrap();
        let before = checksum(&path);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("notes.db"), "{err}");
        assert_eq!(checksum(&path), before);
    }

    #[test]
    fn a_folder_in_the_way_or_an_unwritable_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = Store::open(blocker.join("store.db")).err().unwrap();
        assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::CannotOpen { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );

        let path = dir.path().join("store.db");
        Store::open(&path).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
        if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
            eprintln!("skipped the write-protected file check: this user (root?) writes anyway");
            return;
        }
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    }

    #[test]
    fn a_locked_store_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE t (x);")
            .unwrap();
        let err = Store::open_with(&path, Duration::from_millis(50))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert!(err.to_string().contains("store.db"), "{err}");
        holder.execute_batch("ROLLBACK").unwrap();
        Store::open_with(&path, Duration::from_millis(50)).unwrap();
    }

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
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}.sql", m.name))
            .collect();
        assert_eq!(files, listed);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert!(
                m.name.starts_with(&format!("{:04}_", i + 1)),
                "{} is out of order",
                m.name
            );
        }
    }
}
