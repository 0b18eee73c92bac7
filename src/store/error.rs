//! What can go wrong with the store, each message naming the file.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use super::types::BatchId;

/// An error from the store. Every variant names the store file, so a message printed on its own
/// still says which database is meant.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The folder for a new store could not be created.
    #[error("cannot create the folder for store {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    /// SQLite could not open or create the file (missing folder permissions, a folder in its
    /// place, …).
    #[error("cannot open store {}: {source}. Check that the path is a file in a folder you can write", path.display())]
    CannotOpen {
        path: PathBuf,
        source: rusqlite::Error,
    },

    /// `open_read_only` was given a path with no file.
    #[error("no store at {}: the daemon creates it on its first start", path.display())]
    NotFound { path: PathBuf },

    /// The file (or its folder, where the WAL files go) is not writable, or the store was opened
    /// read-only and something tried to write.
    #[error("store {} is read-only: the daemon needs to write the file and its folder (for the -wal and -shm files)", path.display())]
    ReadOnly { path: PathBuf },

    /// The file exists but is not a SQLite database.
    #[error("{} is not a diffuse-dse store (not a SQLite database); give another path", path.display())]
    NotADatabase { path: PathBuf },

    /// Another connection held the lock for longer than the busy timeout.
    #[error("store {} is locked by another process past the busy timeout; retry, or look for a `sqlite3` session or script that holds a transaction open", path.display())]
    Locked { path: PathBuf },

    /// The store was migrated by a newer diffuse-dse; nothing was written to it.
    #[error("store {} has schema version {found}, newer than this diffuse-dse knows ({known}); upgrade diffuse-dse or use another store file (nothing was written)", path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// A read-only open found a store that this build would have to migrate first.
    #[error("store {} has schema version {found}, but this diffuse-dse reads version {known}; start the daemon (or any writing command) once to migrate it", path.display())]
    NotMigrated {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// A parameter or objective name would appear twice in one view.
    #[error("store {}: view {view} would have two columns named {column:?}; rename the parameter or objective", path.display())]
    DuplicateColumn {
        path: PathBuf,
        view: &'static str,
        column: String,
    },

    /// The runner's dispatch inside `claim_batch_with` failed; the claim was rolled back.
    #[error("store {}: dispatch of batch {batch} failed, the proposals stay queued: {source}", path.display())]
    Dispatch {
        path: PathBuf,
        batch: BatchId,
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A stored value this build can't read back (a store edited by hand into nonsense).
    #[error("store {} holds something this diffuse-dse can't read: {what}", path.display())]
    Corrupt { path: PathBuf, what: String },

    /// Any other SQLite error.
    #[error("store {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Sorts a SQLite error into the variants a person can act on (locked, read-only, not a
    /// database), keeping the rest as `Sqlite`.
    /// Whether the condition may pass by itself (another process holds a lock; the disk is
    /// full until someone frees space), so a long-running caller should wait and retry.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Locked { .. } => true,
            StoreError::Sqlite { source, .. } => {
                matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure)
                )
            }
            _ => false,
        }
    }

    pub(crate) fn from_sqlite(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Locked { path }
            }
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
            Some(ErrorCode::CannotOpen) => StoreError::CannotOpen { path, source },
            _ => StoreError::Sqlite { path, source },
        }
    }
}
