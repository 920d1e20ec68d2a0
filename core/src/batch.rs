//! Batch records: one row per run in the Batches sheet, the seed notes' `processing_batches`.

use crate::cell::Cell;
use crate::error::Result;
use crate::plan::Counts;
use crate::read::FromJson;
use crate::spec::Job;
use crate::write::ToJson;
use serde_json::Value;

pub const BATCH_COLUMNS: [&str; 15] = [
    "batch",
    "job",
    "spec",
    "status",
    "started",
    "finished",
    "rows",
    "done",
    "stale",
    "failed",
    "duplicates",
    "excluded",
    "pending",
    "costUsd",
    "note",
];

#[derive(Debug, Clone, FromJson)]
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

#[derive(Debug, Clone, ToJson)]
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
    let c = &input.counts;
    let pending = c.due + c.waiting + c.in_flight;
    let status = run_status(input.stopped.as_deref(), input.finished, c.failed);
    let finished = if status == "running" { Cell::Empty } else { Cell::Text(iso_time(input.now)) };
    let n = |v: usize| Cell::Number(v as f64);
    let cells = vec![
        Cell::Text(input.id.clone()),
        Cell::Text(job.spec.name.clone()),
        Cell::Text(job.version.clone()),
        Cell::Text(status.to_owned()),
        Cell::Text(iso_time(input.started_at)),
        finished,
        n(c.rows),
        n(c.done),
        n(c.stale),
        n(c.failed),
        n(c.duplicates),
        n(c.excluded),
        n(pending),
        Cell::Number((input.cost_usd * 1e6).round() / 1e6),
        input.stopped.map_or(Cell::Empty, Cell::Text),
    ];
    Ok(BatchRecord { header: BATCH_COLUMNS.to_vec(), cells, status, pending })
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

/// `2026-11-22T21:47:05.123Z` for milliseconds since the epoch (UTC, proleptic Gregorian).
pub fn iso_time(ms: f64) -> String {
    let ms = ms.max(0.0).round() as i64;
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::iso_time;

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_795_384_025_123.0), "2026-11-22T21:47:05.123Z");
        assert_eq!(iso_time(4_107_542_399_999.0), "2100-02-28T23:59:59.999Z");
    }
}
