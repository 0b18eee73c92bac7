//! The SQLite store: designs, the proposal queue, batches, the result inbox, validated results,
//! targets and proposer checkpoints, in one file on the daemon host's local disk.
//!
//! Every process on that host (the daemon, the CLI, a user's `sqlite3` or script, a local batch
//! job) may open the file at once: connections use WAL, so readers never block the writer, and
//! writes that belong together are one `BEGIN IMMEDIATE` transaction. WAL does not work over a
//! network filesystem, so farm jobs never open the store; they write result files that the
//! daemon ingests through the inbox. `docs/schema.md` describes every table and view.
//!
//! [`Store`] is blocking (call it from a blocking thread) and `Send`; open one per thread.

mod error;
mod inbox;
mod migrate;
mod proposals;
mod query;
mod results;
mod targets;
mod types;
mod validate;
mod views;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::space::{Design, DesignHash};

pub use error::StoreError;
pub use inbox::{InboxRow, InboxStatus, IngestReport, ResultRules};
pub use migrate::{BUSY_TIMEOUT, SCHEMA_VERSION};
pub use query::ResultCounts;
pub use results::{OkResult, Point, StoredResult};
pub use targets::{ModelRow, NewModel, TargetRow};
pub use types::{
    BatchId, BatchRow, BatchState, Claimed, DesignId, Enqueued, InboxId, LiveProposal,
    ModelVersion, Moved, NewProposal, ProposalId, ProposalState, QueueRow, ResultId, TargetId,
};
pub use views::ParamInfo;

/// The meta key of the design space's fingerprint.
const SPACE_HASH_KEY: &str = "space_hash";

/// A connection to the store file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// The daemon moves a `Store` into its blocking thread: keep it `Send`.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Store>();
};

impl Store {
    /// Opens the store at `path` for reading and writing, creating it and its parent folders if
    /// needed, and migrates it to [`SCHEMA_VERSION`]. A store migrated by a newer diffuse-dse is
    /// refused with [`StoreError::TooNew`] before anything is written.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path.as_ref(), BUSY_TIMEOUT)
    }

    fn open_with(path: &Path, busy: Duration) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Store::connect(path, flags, busy)?;
        // SQLite silently opens a write-protected file read-only; say so now, not at the first
        // write.
        if conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| StoreError::from_sqlite(path, e))?
        {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        migrate::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing store for reading only (`status`, `best`): no migration and no writes.
    /// The store must be at exactly this build's schema version.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Store::connect(path, flags, BUSY_TIMEOUT)?;
        migrate::check_current(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn connect(path: &Path, flags: OpenFlags, busy: Duration) -> Result<Connection, StoreError> {
        let at = |e| StoreError::from_sqlite(path, e);
        let conn = Connection::open_with_flags(path, flags).map_err(at)?;
        migrate::configure(&conn, busy).map_err(at)?;
        Ok(conn)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs reads on the connection, naming the file in any error.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|e| StoreError::from_sqlite(&self.path, e))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` succeeds and rolled back
    /// otherwise (also on a panic), naming the file in any error.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let path = &self.path;
        let at = |e| StoreError::from_sqlite(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let value = f(&tx).map_err(at)?;
        tx.commit().map_err(at)?;
        Ok(value)
    }

    /// A value of the `meta` table.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        })
    }

    /// Sets a value of the `meta` table.
    pub fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| meta_set(tx, key, value))
    }

    /// The fingerprint of the design space the store's designs belong to (meta `space_hash`).
    pub fn space_fingerprint(&self) -> Result<Option<String>, StoreError> {
        self.meta_get(SPACE_HASH_KEY)
    }

    pub fn set_space_fingerprint(&mut self, hash: &str) -> Result<(), StoreError> {
        self.meta_set(SPACE_HASH_KEY, hash)
    }

    /// The id of `design`, inserting it if it is new (designs are unique by content hash).
    pub fn upsert_design(&mut self, design: &Design) -> Result<DesignId, StoreError> {
        self.write(|tx| upsert_design(tx, design))
    }

    /// A design by id.
    pub fn design(&self, id: DesignId) -> Result<Option<Design>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT params FROM designs WHERE id = ?1", [id], |r| {
                types::design_column(r, 0)
            })
            .optional()
        })
    }

    /// The hash of every design in the store, for the proposer to deduplicate against.
    pub fn design_hashes(&self) -> Result<HashSet<DesignHash>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT hash FROM designs")?;
            stmt.query_map([], |r| r.get(0).map(DesignHash))?.collect()
        })
    }
}

/// `INSERT OR REPLACE` into `meta`, inside a caller's transaction.
fn meta_set(tx: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The id of `design`, inserted if new, inside a caller's transaction.
fn upsert_design(tx: &Transaction<'_>, design: &Design) -> rusqlite::Result<DesignId> {
    let hash = design.hash().0;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO designs (hash, params) VALUES (?1, ?2)
             ON CONFLICT(hash) DO NOTHING RETURNING id",
        )?
        .query_row(params![hash, design.to_json()], |r| r.get(0))
        .optional()?;
    match inserted {
        Some(id) => Ok(id),
        None => tx
            .prepare_cached("SELECT id FROM designs WHERE hash = ?1")?
            .query_row([hash], |r| r.get(0)),
    }
}

#[cfg(test)]
mod testing;
