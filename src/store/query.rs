//! Reads for the command line: any query over the views, and result counts.

use rusqlite::ToSql;
use rusqlite::types::Value as Sql;

use super::{Store, StoreError};

/// How many results the store holds, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResultCounts {
    pub ok: u64,
    pub failed: u64,
    /// Inbox rows rejected by validation.
    pub rejected: u64,
}

impl Store {
    /// Run a read-only query (the CLI reads the same views a user queries with `sqlite3`) and
    /// return its column names and rows.
    pub fn select(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
    ) -> Result<(Vec<String>, Vec<Vec<Sql>>), StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(sql)?;
            let columns: Vec<String> = stmt
                .column_names()
                .into_iter()
                .map(str::to_string)
                .collect();
            let n = columns.len();
            let rows = stmt
                .query_map(params, |r| {
                    (0..n)
                        .map(|i| r.get::<_, Sql>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((columns, rows))
        })
    }

    /// Active targets with no proposal queued: each should get some in the next cycle.
    pub fn starved_targets(&self) -> Result<Vec<super::TargetId>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id FROM targets t WHERE t.active = 1 AND NOT EXISTS
                   (SELECT 1 FROM proposals p WHERE p.target_id = t.id AND p.state = 'QUEUED') ORDER BY t.id",
            )?;
            stmt.query_map([], |r| Ok(super::TargetId(r.get(0)?)))?.collect()
        })
    }

    /// How a batch's proposals ended: `(done, failed or lost)`. Proposals queued again after
    /// lost work left the batch and are not counted.
    pub fn batch_outcome(&self, batch: super::BatchId) -> Result<(u64, u64), StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT count(*) FILTER (WHERE state = 'DONE'),
                        count(*) FILTER (WHERE state IN ('FAILED', 'LOST'))
                 FROM proposals WHERE batch_id = ?1",
                [batch.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    pub fn result_counts(&self) -> Result<ResultCounts, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM results WHERE status = 'OK'),
                        (SELECT count(*) FROM results WHERE status = 'FAILED'),
                        (SELECT count(*) FROM inbox WHERE state = 'REJECTED')",
                [],
                |r| {
                    Ok(ResultCounts {
                        ok: r.get(0)?,
                        failed: r.get(1)?,
                        rejected: r.get(2)?,
                    })
                },
            )
        })
    }
}
