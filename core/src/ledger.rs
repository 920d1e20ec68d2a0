//! The ledger: what the sheets say about each key.
//!
//! The output sheet is the source of truth for finished work: its first columns
//! ([`OUTPUT_COLUMNS`]) say which key a row belongs to, the content (signature) and spec version it
//! was made from, and whether it is an answer or a permanent failure. A hidden progress sheet
//! ([`PROGRESS_COLUMNS`]) holds what is still moving: attempts so far, the earliest time of the
//! next one, and the lease of the execution working on the key. Nothing is counted by position,
//! so inserting, deleting or sorting rows never shifts what a key means.

use crate::cell::Cell;
use crate::keys::key_of_cell;
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use serde::Serialize;
use std::borrow::Cow;

use crate::layout::{BATCH_COLUMNS, OUTPUT_COLUMNS, PROGRESS_COLUMNS, cost_column, usd};
use crate::spec::Job;

/// The header rows hosts write: output ledger columns, progress sheet, Batches sheet.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Columns {
    pub output: [&'static str; 5],
    pub progress: [&'static str; 7],
    pub batches: [&'static str; 15],
}

pub fn columns() -> Columns {
    Columns { output: OUTPUT_COLUMNS, progress: PROGRESS_COLUMNS, batches: BATCH_COLUMNS }
}

/// A block of sheet rows as `getValues()` returns it, and the sheet row of its first row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Block {
    #[serde(default = "two")]
    pub first_row: u64,
    #[serde(default)]
    pub rows: Vec<Vec<Cell>>,
}

fn two() -> u64 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Done,
    /// Done, and the status cell says the input has changed since.
    Stale,
    Failed,
    /// A failure re-opened by "Retry failed rows" (`retry` in the status cell): sent again, and
    /// its answer or new failure takes this row.
    Reopened,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Stale => "stale",
            Status::Failed => "failed",
            Status::Reopened => "retry",
        }
    }

    pub fn is_failed(self) -> bool {
        self == Status::Failed
    }

    /// An answer is on the row (done, or done and edited since).
    pub fn is_answer(self) -> bool {
        matches!(self, Status::Done | Status::Stale)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output<'a> {
    pub row: u64,
    pub signature: Cow<'a, str>,
    /// Made with another version of the spec than the current one.
    pub older_spec: bool,
    pub status: Status,
    /// Why it failed (failures only).
    pub note: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub row: u64,
    pub attempts: u32,
    pub not_before: f64,
    pub leased_by: String,
    pub lease_until: f64,
    pub last_error: String,
    /// What the key's attempts so far have cost, carried into the row's `_costUsd`.
    pub cost_usd: f64,
}

impl Progress {
    pub fn leased(&self, now: f64) -> bool {
        !self.leased_by.is_empty() && self.lease_until > now
    }

    pub fn cells(&self, key: &str) -> Vec<Cell> {
        let time = |t: f64| if t > 0.0 { Cell::Number(t) } else { Cell::Empty };
        vec![
            Cell::Text(key.to_owned()),
            Cell::Number(f64::from(self.attempts)),
            time(self.not_before),
            text(&self.leased_by),
            time(self.lease_until),
            text(&self.last_error),
            if self.cost_usd > 0.0 { Cell::Number(usd(self.cost_usd)) } else { Cell::Empty },
        ]
    }
}

fn text(s: &str) -> Cell {
    if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_owned()) }
}

/// A write of one progress row; all cells empty clears it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowWrite {
    pub row: u64,
    pub values: Vec<Cell>,
}

impl RowWrite {
    pub fn clear(row: u64, width: usize) -> Self {
        Self { row, values: vec![Cell::Empty; width] }
    }
}

/// Keys and signatures borrow from the blocks read: a plan over 100,000 rows allocates little.
#[derive(Debug, Default)]
pub struct Ledger<'a> {
    pub outputs: HashMap<Cow<'a, str>, Output<'a>>,
    pub progress: HashMap<Cow<'a, str>, Progress>,
    /// Output rows for a key that already has one (left by hand or by an old bug): never counted.
    pub duplicate_outputs: Vec<u64>,
    /// Output rows whose status cell is neither done, stale nor failed: counted as done, so that
    /// nothing is paid for twice, and reported.
    pub unreadable_outputs: Vec<u64>,
    /// Progress rows for a key that has another one; cleared by the next plan.
    pub extra_progress: Vec<u64>,
    /// The next free output row.
    pub output_end: u64,
    /// Empty progress rows, ascending, reused before the sheet grows.
    progress_free: Vec<u64>,
    progress_end: u64,
}

impl<'a> Ledger<'a> {
    /// Reads both sheets; `spec_version` is the current [`crate::spec::Job::version`].
    pub fn read(outputs: &'a Block, progress: &'a Block, spec_version: &str) -> Ledger<'a> {
        let mut ledger = Ledger {
            outputs: HashMap::with_capacity_and_hasher(outputs.rows.len(), Default::default()),
            progress: HashMap::with_capacity_and_hasher(progress.rows.len(), Default::default()),
            output_end: outputs.first_row + outputs.rows.len() as u64,
            progress_end: progress.first_row + progress.rows.len() as u64,
            ..Ledger::default()
        };
        for (i, row) in outputs.rows.iter().enumerate() {
            ledger.read_output(outputs.first_row + i as u64, row, spec_version);
        }
        for (i, row) in progress.rows.iter().enumerate() {
            ledger.read_progress(progress.first_row + i as u64, row);
        }
        ledger
    }

    fn read_output(&mut self, row: u64, cells: &'a [Cell], spec_version: &str) {
        let Some(key) = cells.first().and_then(key_of_cell) else { return };
        let is = |word: &str| matches!(cells.get(3), Some(Cell::Text(t)) if t.trim_ascii().eq_ignore_ascii_case(word));
        let status = if is("done") {
            Status::Done
        } else if is("stale") {
            Status::Stale
        } else if is("failed") {
            Status::Failed
        } else if is("retry") {
            Status::Reopened
        } else {
            self.unreadable_outputs.push(row);
            Status::Done
        };
        let out = Output {
            row,
            signature: match cells.get(1) {
                Some(Cell::Text(t)) => Cow::Borrowed(t.trim_ascii()),
                other => Cow::Owned(text_of(other)),
            },
            older_spec: !matches!(cells.get(2), Some(Cell::Text(t)) if t.trim_ascii() == spec_version),
            note: if status.is_failed() { text_of(cells.get(4)) } else { String::new() },
            status,
        };
        match self.outputs.get_mut(&key) {
            None => {
                self.outputs.insert(key, out);
            }
            // An answer beats a failure for the same key; otherwise the first row stands.
            Some(first) if !first.status.is_answer() && out.status.is_answer() => {
                self.duplicate_outputs.push(first.row);
                *first = out;
            }
            Some(_) => self.duplicate_outputs.push(row),
        }
    }

    fn read_progress(&mut self, row: u64, cells: &'a [Cell]) {
        let Some(key) = cells.first().and_then(key_of_cell) else {
            self.progress_free.push(row);
            return;
        };
        let p = Progress {
            row,
            attempts: number_of(cells.get(1)).max(0.0).min(f64::from(u32::MAX)) as u32,
            not_before: number_of(cells.get(2)),
            leased_by: text_of(cells.get(3)).trim().to_owned(),
            lease_until: number_of(cells.get(4)),
            last_error: text_of(cells.get(5)),
            cost_usd: number_of(cells.get(6)).max(0.0),
        };
        match self.progress.get_mut(&key) {
            None => {
                self.progress.insert(key, p);
            }
            // Two rows for one key (two executions appended at once): merged, the later one cleared.
            Some(first) => {
                first.attempts = first.attempts.max(p.attempts);
                first.not_before = first.not_before.max(p.not_before);
                if p.lease_until > first.lease_until {
                    first.leased_by = p.leased_by;
                    first.lease_until = p.lease_until;
                }
                if first.last_error.is_empty() {
                    first.last_error = p.last_error;
                }
                // One of the two is the later copy of the other: the larger is the later.
                first.cost_usd = first.cost_usd.max(p.cost_usd);
                self.extra_progress.push(row);
            }
        }
    }

    /// The row a new progress record goes to: an empty one if there is one, else the next.
    pub fn take_progress_row(&mut self) -> u64 {
        if self.progress_free.is_empty() {
            self.progress_end += 1;
            self.progress_end - 1
        } else {
            self.progress_free.remove(0)
        }
    }

    /// Forget a key's progress and return the row write that clears it.
    pub fn clear_progress(&mut self, key: &str) -> Option<RowWrite> {
        self.progress.remove(key).map(|p| RowWrite::clear(p.row, PROGRESS_COLUMNS.len()))
    }

    /// Sets a key's progress and returns the row write that records it.
    pub fn set_progress(&mut self, key: &'a str, mut p: Progress) -> RowWrite {
        p.row = match self.progress.get(key) {
            Some(old) => old.row,
            None => self.take_progress_row(),
        };
        let write = RowWrite { row: p.row, values: p.cells(key) };
        self.progress.insert(Cow::Borrowed(key), p);
        write
    }
}

pub(crate) fn text_of(cell: Option<&Cell>) -> String {
    match cell {
        Some(Cell::Text(t)) => t.clone(),
        Some(Cell::Number(n)) => crate::canonical::number(*n).unwrap_or_default(),
        Some(Cell::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A time or count cell: a number, or text holding one (a sheet formatted as text); else 0.
pub(crate) fn number_of(cell: Option<&Cell>) -> f64 {
    match cell {
        Some(Cell::Number(n)) if n.is_finite() => *n,
        Some(Cell::Text(t)) => crate::decode::number(t).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// "Retry failed rows": the output sheet, every column, and the progress sheet, read under the
/// lock.
#[derive(Debug, Clone, Default)]
pub struct RetryInput {
    pub outputs: Block,
    pub progress: Block,
}

/// What re-opens them: the `_status` column from the first failed row to the last, with every
/// failed row's status now `retry` and the others as they were (one write), and how many; and
/// the progress rows that carry each re-opened row's `_costUsd` into its next attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct Reopen {
    pub rows: usize,
    pub first_row: u64,
    /// One cell a row: the `_status` column (the fourth) from `first_row` on.
    pub statuses: Vec<[Cell; 1]>,
    pub progress_writes: Vec<RowWrite>,
}

/// Re-opens every failed output row for another round of attempts: the planner sends it again
/// (its attempts start over) and its answer, or its new failure, takes the same row. What the
/// failed attempts cost goes to the key's progress row, so the answer's `_costUsd` counts them
/// too. Nothing is deleted by hand, and no row moves.
pub fn retry_failed(job: &Job, input: &RetryInput) -> Reopen {
    let status = |row: &[Cell]| match row.get(3) {
        Some(Cell::Text(t)) => t.trim_ascii().to_ascii_lowercase(),
        _ => String::new(),
    };
    let cost_col = cost_column(job);
    let failed: Vec<(usize, String, f64)> = input
        .outputs
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| status(r) == Status::Failed.as_str())
        .filter_map(|(i, r)| {
            let key = r.first().and_then(key_of_cell)?;
            Some((i, key.into_owned(), number_of(r.get(cost_col)).max(0.0)))
        })
        .collect();
    let first_row = input.outputs.first_row;
    let (Some(&(first, ..)), Some(&(last, ..))) = (failed.first(), failed.last()) else {
        return Reopen { rows: 0, first_row, statuses: Vec::new(), progress_writes: Vec::new() };
    };
    let statuses = (first..=last)
        .map(|i| match failed.binary_search_by_key(&i, |f| f.0) {
            Ok(_) => [Cell::Text(Status::Reopened.as_str().to_owned())],
            Err(_) => [input.outputs.rows[i].get(3).cloned().unwrap_or(Cell::Empty)],
        })
        .collect();
    let no_outputs = Block::default();
    let mut ledger = Ledger::read(&no_outputs, &input.progress, &job.version);
    let progress_writes = failed
        .iter()
        .filter(|(.., cost)| *cost > 0.0)
        .map(|(_, key, cost)| ledger.set_progress(key, Progress { cost_usd: *cost, ..Progress::default() }))
        .collect();
    Reopen { rows: failed.len(), first_row: first_row + first as u64, statuses, progress_writes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn outputs_are_keyed_and_an_answer_beats_a_failure() {
        let outputs = Block {
            first_row: 2,
            rows: vec![
                vec![t("A"), t("SIG_a"), t("SPEC_1"), t("failed"), t("400")],
                vec![Cell::Empty, t("x"), t(""), t("done"), t("")],
                vec![Cell::Number(7.0), t("SIG_7"), t("SPEC_1"), t("Done"), t("")],
                vec![t("A"), t("SIG_a"), t("SPEC_1"), t("done"), t("")],
                vec![t("7"), t("SIG_7"), t("SPEC_1"), t("done"), t("")],
                vec![t("B"), t("SIG_b"), t("SPEC_1"), t("???"), t("")],
            ],
        };
        let empty = Block::default();
        let l = Ledger::read(&outputs, &empty, "SPEC_1");
        assert_eq!(l.outputs["A"].row, 5);
        assert_eq!(l.outputs["A"].status, Status::Done);
        assert_eq!(l.outputs["7"].row, 4, "the number 7 and the text 7 are one key");
        assert_eq!(l.duplicate_outputs, vec![2, 6]);
        assert_eq!(l.unreadable_outputs, vec![7]);
        assert_eq!(l.output_end, 8);
    }

    #[test]
    fn progress_rows_merge_and_free_rows_are_reused() {
        let progress = Block {
            first_row: 2,
            rows: vec![
                vec![t("A"), Cell::Number(1.0), Cell::Number(500.0), t("x"), Cell::Number(900.0), t("503")],
                vec![Cell::Empty, Cell::Empty],
                vec![t("A"), t("2"), Cell::Empty, t("y"), Cell::Number(1000.0), Cell::Empty],
            ],
        };
        let empty = Block::default();
        let mut l = Ledger::read(&empty, &progress, "SPEC_1");
        let a = &l.progress["A"];
        assert_eq!((a.row, a.attempts, a.not_before, a.leased_by.as_str()), (2, 2, 500.0, "y"));
        assert!(a.leased(999.0) && !a.leased(1000.0));
        assert_eq!(l.extra_progress, vec![4]);
        assert_eq!(l.take_progress_row(), 3);
        assert_eq!(l.take_progress_row(), 5);
        let w = l.set_progress("B", Progress { attempts: 1, ..Progress::default() });
        assert_eq!(w.row, 6);
        assert_eq!(l.clear_progress("A").unwrap(), RowWrite::clear(2, PROGRESS_COLUMNS.len()));
    }
}
