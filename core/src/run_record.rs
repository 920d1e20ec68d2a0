//! Run records: one row per run (or provider batch) in the Batches sheet, the seed notes' `processing_batches`.

use crate::cell::Cell;
use crate::error::Result;
use crate::layout::{BATCH_COLUMNS, iso_time};
use crate::plan::Counts;
use crate::spec::Job;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInput {
    pub spec: Value,
    /// The run's id, from the host (`newSeed` or a UUID).
    pub id: String,
    pub started_at: f64,
    pub now: f64,
    /// Settled spend of the run so far.
    pub cost_usd: f64,
    /// The latest plan's counts (absent ones count 0).
    pub counts: Counts,
    pub finished: bool,
    /// Why the run was stopped before it finished (budget, a fatal provider error, the user).
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRecord {
    pub header: Vec<&'static str>,
    /// The Batches sheet row, in `header` order.
    pub cells: Vec<Cell>,
    /// `running`, `completed`, `completed_with_failures` or `stopped`.
    pub status: &'static str,
    pub pending: usize,
}

pub fn batch_record(input: BatchInput) -> Result<BatchRecord> {
    let job = Job::compile(&input.spec)?;
    let i = &input;
    Ok(record(&job, &i.id, i.started_at, i.now, i.cost_usd, &i.counts, i.finished, i.stopped.as_deref()))
}

/// [`batch_record`] for a compiled job.
#[allow(clippy::too_many_arguments)]
pub fn record(
    job: &Job,
    id: &str,
    started_at: f64,
    now: f64,
    cost_usd: f64,
    c: &Counts,
    finished: bool,
    stopped: Option<&str>,
) -> BatchRecord {
    let pending = c.due + c.waiting + c.in_flight;
    let status = run_status(stopped, finished, c.failed);
    let finished = if status == "running" { Cell::Empty } else { Cell::Text(iso_time(now)) };
    let n = |v: usize| Cell::Number(v as f64);
    let cells = vec![
        Cell::Text(id.to_owned()),
        Cell::Text(job.spec.name.clone()),
        Cell::Text(job.version.clone()),
        Cell::Text(status.to_owned()),
        Cell::Text(iso_time(started_at)),
        finished,
        n(c.rows),
        n(c.done),
        n(c.stale),
        n(c.failed),
        n(c.duplicates),
        n(c.excluded),
        n(pending),
        Cell::Number(crate::layout::usd(cost_usd)),
        stopped.map_or(Cell::Empty, |s| Cell::Text(s.to_owned())),
    ];
    BatchRecord { header: BATCH_COLUMNS.to_vec(), cells, status, pending }
}

/// `running`, `completed`, `completed_with_failures` or `stopped`.
pub fn run_status(stopped: Option<&str>, finished: bool, failed: usize) -> &'static str {
    match (stopped, finished) {
        (Some(_), _) => "stopped",
        (None, true) if failed > 0 => "completed_with_failures",
        (None, true) => "completed",
        (None, false) => "running",
    }
}
