//! At-write reconciliation: the last check before results reach the sheet.
//!
//! The host re-reads the ledger under the script lock and passes it here with the wave's
//! results. Whatever another execution wrote meanwhile wins and the duplicate is dropped, so two
//! overlapping executions never leave two output rows for one key. Outputs are written before
//! progress: a crash between the two leaves a finished key with a stale progress row, which the
//! next plan clears, never a lost or doubled answer.

use crate::error::Result;
use crate::layout::OUTPUT_COLUMNS;
use crate::ledger::{Block, Ledger, Output, Progress, RowWrite, Status};
use crate::spec::Job;
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileInput {
    pub spec: Value,
    pub results: Vec<Outcome>,
    #[serde(default)]
    pub outputs: Block,
    #[serde(default)]
    pub progress: Block,
    pub execution: String,
    pub now: f64,
}

/// What became of one sent row.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outcome {
    pub key: String,
    /// The signature the row had when it was sent.
    pub signature: String,
    pub status: OutcomeStatus,
    /// Why it failed or must be retried (shown to the user); empty for answers.
    #[serde(default)]
    pub note: String,
    /// For retries: the earliest time (ms) of the next attempt.
    #[serde(default)]
    pub not_before: f64,
    /// What this attempt cost: its answer and every re-ask.
    #[serde(default)]
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OutcomeStatus {
    Done,
    /// Transient: try again later, if attempts remain.
    Retry,
    /// Permanent for this row.
    Failed,
    /// Not tried for reasons not the row's (the job stopped): the lease is released and no
    /// attempt is used.
    Released,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    /// Output rows to write: the ledger cells; for answers, the answer's columns follow them.
    pub output_writes: Vec<OutputWrite>,
    /// Written after the outputs.
    pub progress_writes: Vec<RowWrite>,
    pub dropped: Vec<Dropped>,
    pub counts: ReconcileCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputWrite {
    /// Index into `results`.
    pub result: usize,
    pub row: u64,
    /// True when the row already holds this key's older output or failure.
    pub replaces: bool,
    /// [key, signature, spec version, status, note]
    pub ledger: Vec<String>,
    /// The row's `_costUsd`: this attempt and every earlier one of the key (from its progress).
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dropped {
    pub result: usize,
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileCounts {
    pub written: usize,
    pub replaced: usize,
    pub failed: usize,
    pub retries: usize,
    pub released: usize,
    pub dropped: usize,
}

pub fn reconcile(input: ReconcileInput) -> Result<Reconciled> {
    let job = Job::compile(&input.spec)?;
    Ok(reconcile_with(&job, &input))
}

/// [`reconcile`] for a compiled job (`input.spec` is not read).
pub fn reconcile_with(job: &Job, input: &ReconcileInput) -> Reconciled {
    let mut ledger = Ledger::read(&input.outputs, &input.progress, &job.version);
    let max = job.spec.limits.attempts_per_row;
    let mut out = Reconciled {
        output_writes: Vec::new(),
        progress_writes: Vec::new(),
        dropped: Vec::new(),
        counts: ReconcileCounts::default(),
    };
    // Progress rows written so far, by row, so a key seen twice updates one write.
    let mut progress_at: HashMap<u64, usize> = HashMap::default();
    let mut push_progress = |out: &mut Reconciled, w: RowWrite| match progress_at.get(&w.row) {
        Some(&i) => out.progress_writes[i] = w,
        None => {
            progress_at.insert(w.row, out.progress_writes.len());
            out.progress_writes.push(w);
        }
    };

    for (i, r) in input.results.iter().enumerate() {
        let prior = ledger.progress.get(r.key.as_str()).cloned().unwrap_or_default();
        let cost_usd = prior.cost_usd + r.cost_usd;
        if r.status == OutcomeStatus::Released {
            if ledger.progress.contains_key(r.key.as_str()) {
                // A release after paid re-asks keeps what they cost for the next attempt.
                let p = Progress { cost_usd, ..keep_lease(prior, &input.execution, input.now) };
                push_progress(&mut out, ledger.set_progress(&r.key, p));
            }
            out.counts.released += 1;
            continue;
        }
        let mut status = r.status;
        let mut note = r.note.clone();
        if status == OutcomeStatus::Retry && prior.attempts + 1 >= max {
            status = OutcomeStatus::Failed;
            note = format!("gave up after {max} attempts: {note}");
        }
        let existing = ledger.outputs.get(r.key.as_str()).cloned();
        let same = existing.as_ref().is_some_and(|e| e.signature == r.signature);
        let verdict = match (&existing, status) {
            (Some(e), _) if same && e.status.is_answer() => Err("already written"),
            (Some(e), OutcomeStatus::Retry) if same && e.status.is_failed() => {
                Err("failure already recorded")
            }
            (Some(e), OutcomeStatus::Failed) if (same && e.status.is_failed()) || e.status.is_answer() => {
                Err(if same { "failure already recorded" } else { "an older answer is kept" })
            }
            (Some(e), OutcomeStatus::Done | OutcomeStatus::Failed) => Ok(Some(e.row)),
            (None, OutcomeStatus::Done | OutcomeStatus::Failed) => Ok(None),
            (_, OutcomeStatus::Released) => unreachable!("released outcomes are handled above"),
            (_, OutcomeStatus::Retry) => {
                let p = Progress {
                    attempts: prior.attempts + 1,
                    not_before: r.not_before,
                    last_error: note.clone(),
                    cost_usd,
                    // Another execution's live lease stays; ours (or a lapsed one) is released.
                    ..keep_lease(prior, &input.execution, input.now)
                };
                push_progress(&mut out, ledger.set_progress(&r.key, p));
                out.counts.retries += 1;
                continue;
            }
        };
        match verdict {
            Err(reason) => {
                out.dropped.push(Dropped { result: i, key: r.key.clone(), reason: reason.to_owned() });
                out.counts.dropped += 1;
                // A failure that may not replace the answer kept for older content is still
                // recorded, so reprocessing that content stops.
                if status == OutcomeStatus::Failed && !same {
                    let p = Progress { attempts: max, last_error: note, cost_usd, ..Progress::default() };
                    push_progress(&mut out, ledger.set_progress(&r.key, p));
                }
                continue;
            }
            Ok(at) => {
                let row = at.unwrap_or_else(|| {
                    ledger.output_end += 1;
                    ledger.output_end - 1
                });
                let s = if status == OutcomeStatus::Done { Status::Done } else { Status::Failed };
                let write = OutputWrite {
                    result: i,
                    row,
                    replaces: at.is_some(),
                    ledger: vec![
                        r.key.clone(),
                        r.signature.clone(),
                        job.version.clone(),
                        s.as_str().to_owned(),
                        if s == Status::Done { String::new() } else { note.clone() },
                    ],
                    cost_usd: crate::layout::usd(cost_usd),
                };
                debug_assert_eq!(write.ledger.len(), OUTPUT_COLUMNS.len());
                // A second result for a key written earlier in this same batch takes that write's place.
                match out.output_writes.iter_mut().find(|w| w.row == row) {
                    Some(w) => *w = write,
                    None => out.output_writes.push(write),
                }
                let output = Output {
                    row,
                    signature: r.signature.as_str().into(),
                    older_spec: false,
                    status: s,
                    note,
                };
                ledger.outputs.insert(r.key.as_str().into(), output);
                if let Some(w) = ledger.clear_progress(&r.key) {
                    push_progress(&mut out, w);
                }
            }
        }
    }
    let c = &mut out.counts;
    c.written = out.output_writes.len();
    c.replaced = out.output_writes.iter().filter(|w| w.replaces).count();
    c.failed = out.output_writes.iter().filter(|w| w.ledger[3] == "failed").count();
    out
}

fn keep_lease(prior: Progress, execution: &str, now: f64) -> Progress {
    if prior.leased(now) && prior.leased_by != execution {
        prior
    } else {
        Progress { leased_by: String::new(), lease_until: 0.0, ..prior }
    }
}
