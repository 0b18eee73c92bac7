//! The batch folder on the shared filesystem, the only thing farm jobs and the daemon share:
//!
//! ```text
//! runs/batch-12/manifest.tsv          index → proposal, written before submission
//! runs/batch-12/job.sh                the array job's script
//! runs/batch-12/proposal-345/design.json
//! runs/batch-12/proposal-345/qor.json written by the task (qor.json.tmp, then renamed)
//! ```
//!
//! Farm jobs never open the SQLite store (WAL does not work over a network filesystem): the
//! daemon ingests `qor.json` files as they appear.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::space::{Design, Metrics};
use crate::store::{BatchId, Claimed, InboxRow, InboxStatus, ProposalId};

pub const MANIFEST: &str = "manifest.tsv";
pub const RESULT: &str = "qor.json";
/// The most bytes a result file may have; anything larger is garbage.
const RESULT_LIMIT: u64 = 1 << 20;

pub fn batch_dir(runs_dir: &Path, batch: BatchId) -> PathBuf {
    runs_dir.join(format!("batch-{}", batch.0))
}

pub fn proposal_dir(runs_dir: &Path, batch: BatchId, proposal: ProposalId) -> PathBuf {
    batch_dir(runs_dir, batch).join(format!("proposal-{}", proposal.0))
}

/// One manifest line: the task index (from 0) and its proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub index: usize,
    pub proposal: ProposalId,
}

/// Write the manifest and each proposal's `design.json`, atomically, before submission.
pub fn write_batch(
    runs_dir: &Path,
    batch: BatchId,
    claimed: &[Claimed],
) -> std::io::Result<Vec<Task>> {
    let dir = batch_dir(runs_dir, batch);
    std::fs::create_dir_all(&dir)?;
    let mut tasks = Vec::with_capacity(claimed.len());
    let mut manifest = String::from("index\tproposal\tattempt\n");
    for (index, c) in claimed.iter().enumerate() {
        let pdir = proposal_dir(runs_dir, batch, c.proposal);
        std::fs::create_dir_all(&pdir)?;
        write_atomic(&pdir.join("design.json"), c.design.to_json().as_bytes())?;
        manifest.push_str(&format!("{index}\t{}\t{}\n", c.proposal.0, c.attempts));
        tasks.push(Task {
            index,
            proposal: c.proposal,
        });
    }
    write_atomic(&dir.join(MANIFEST), manifest.as_bytes())?;
    Ok(tasks)
}

/// Read a batch's manifest.
pub fn read_manifest(batch_dir: &Path) -> Result<Vec<Task>, String> {
    let path = batch_dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read the manifest: {e}", path.display()))?;
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let mut f = line.split('\t');
            let index = f.next().and_then(|x| x.parse().ok());
            let proposal = f.next().and_then(|x| x.parse().ok());
            match (index, proposal) {
                (Some(index), Some(p)) => Ok(Task {
                    index,
                    proposal: ProposalId(p),
                }),
                _ => Err(format!(
                    "{}:{}: expected INDEX<TAB>PROPOSAL. Got {line:?}",
                    path.display(),
                    n + 2
                )),
            }
        })
        .collect()
}

/// Write `bytes` to `path.tmp`, sync, then rename over `path`: a reader sees all or nothing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// What a task writes to `qor.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    pub proposal_id: i64,
    /// `ok` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub evaluator: String,
    pub runtime_s: f64,
}

/// Read a task's result file as an inbox row, or `None` when it is not there yet. A file
/// that is there but unreadable (truncated, garbage, too large, another proposal's) becomes a
/// failed row whose error says what was wrong, so the proposal is never silently stuck.
pub fn read_result(
    runs_dir: &Path,
    batch: BatchId,
    proposal: ProposalId,
    source: &str,
) -> Option<InboxRow> {
    let path = proposal_dir(runs_dir, batch, proposal).join(RESULT);
    let meta = std::fs::metadata(&path).ok()?;
    let failed = |error: String| InboxRow::failed(proposal, error, source);
    if meta.len() > RESULT_LIMIT {
        return Some(failed(format!(
            "{}: the result file has {} bytes, more than the 1 MiB a QoR report may have",
            path.display(),
            meta.len()
        )));
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Some(failed(format!(
                "{}: cannot read the result file: {e}",
                path.display()
            )));
        }
    };
    let file: ResultFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            return Some(failed(format!(
                "{}: the result file is not a QoR report ({e})",
                path.display()
            )));
        }
    };
    if file.proposal_id != proposal.0 {
        return Some(failed(format!(
            "{}: the result file is for proposal {}, not {}",
            path.display(),
            file.proposal_id,
            proposal.0
        )));
    }
    let ok = file.status == "ok";
    Some(InboxRow {
        proposal_id: Some(proposal),
        design_id: None,
        params: None,
        metrics: file
            .metrics
            .filter(|_| ok)
            .map(|m| serde_json::to_value(m).expect("metrics serialize")),
        status: if ok {
            InboxStatus::Ok
        } else {
            InboxStatus::Failed
        },
        error: if ok {
            None
        } else {
            Some(
                file.error
                    .unwrap_or_else(|| format!("status {:?} with no error", file.status)),
            )
        },
        evaluator: Some(file.evaluator),
        runtime_s: Some(file.runtime_s),
        source: source.to_string(),
    })
}

/// The design a task evaluates.
pub fn read_design(proposal_dir: &Path) -> Result<Design, String> {
    let path = proposal_dir.join("design.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a design: {e}", path.display()))
}
