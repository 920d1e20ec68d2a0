//! The Batch API flows of the run: submit the due rows as provider batches, poll them, ingest
//! their results (re-asks go out realtime, in rounds journaled like a wave's), and cancel.
//!
//! A submission leases its rows (`batch:<id>.<part>`, 26 hours) and records each part's worst
//! case as a reservation under that holder before the provider hears of it; the last ingest
//! slice replaces it with what the answers cost. Result lines are ingested `INGEST_LINES` at a
//! time; a slice's cost is recorded before its rows are written, and a slice run again after a
//! kill neither writes nor bills anything twice.

use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::slice::{self, Finished, Flight, Slice, header, output_sheet, prop, safe_row, shared_of};
use super::*;
use crate::batchapi::{self, CallInput, FileItem, FilesInput, Last, Lease, ResultsInput, StateInput};
use crate::cell::Cell;
use crate::layout::{BATCH_COLUMNS, OUTPUT_COLUMNS, PROGRESS_COLUMNS, iso_time};
use crate::ledger::Block;
use crate::plan::BATCH_LEASE_MS;
use crate::spec::{BatchRetry, Job, ProviderKind};
use crate::to_json::{to_string, to_value};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const P_BATCHES: &str = "ROWBATCH_BATCHES";
pub const POLL: &str = "rowbatchPollBatches";
pub const SUBMIT: &str = "rowbatchSubmitBatch";
/// Result lines per reconciliation (one lock, one output and one progress write).
pub const INGEST_LINES: usize = 500;

/// A provider batch not yet ingested, as `ROWBATCH_BATCHES` keeps it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Record {
    pub id: String,
    pub holder: String,
    pub part: String,
    pub lines: usize,
    pub reserve_usd: f64,
    pub submitted_at: f64,
    pub state: String,
    pub results: Vec<String>,
    pub message: String,
    pub ended: bool,
    /// Result lines ingested, and result lines whose cost is on record (ahead after a kill).
    pub ingested: usize,
    pub costed: usize,
    /// What the batch's lines cost (settled against its reservation at the end); with the
    /// re-asks sent for them.
    pub lines_cost_usd: f64,
    pub cost_usd: f64,
    pub done: usize,
    pub failed: usize,
    pub finished: bool,
    /// When the next poll is due (its trigger's time): a heartbeat finding it long past polls.
    pub poll_due: f64,
}

/// Whether batches are pending, and whether one's poll is long overdue (its poll execution
/// died before it could schedule the next).
pub(crate) fn pending(props: &Props, now: f64) -> (bool, bool) {
    let records = records(props);
    let open: Vec<&Record> = records.iter().filter(|b| !b.finished).collect();
    (!open.is_empty(), open.iter().any(|b| now > b.poll_due.max(b.submitted_at) + STALE_MS))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    SubmitSpec,
    SubmitLocked,
    /// Part `i`: its upload (OpenAI) or its creation answered.
    Uploaded(usize),
    Created(usize),
    SubmitEnd,
    Loaded,
    Status(usize),
    /// The input rows, read once before the first ingest of a poll.
    Input(usize),
    Downloaded(usize),
    IngestLeased(usize),
    IngestWrite(usize),
    /// The canary's outcome, written under the lock.
    CanaryWrite,
    Cancelled,
    Rows,
    /// `batchFile`: the spec, the batch's state, its files (see [`file`]).
    FileSpec,
    FileStatus,
    FileDownloaded,
}

/// `after_rounds`' marker for the canary's round (not a batch index).
pub(crate) const CANARY: usize = usize::MAX;

/// A part made by the submission: its file, holder, lines and reservation.
struct Part {
    body: String,
    holder: String,
    lines: usize,
    reserve_usd: f64,
}

/// What a batch flow carries between steps.
#[derive(Default)]
pub(crate) struct Work {
    batches: Vec<Record>,
    /// Submission: the parts, the records made and the holders refused.
    parts: Vec<Part>,
    made: Vec<Record>,
    refused: Vec<String>,
    note: String,
    /// Ingest: the ended batch's result lines, and where this slice ends.
    lines: Vec<String>,
    slice_end: usize,
    /// Batches whose row in the Batches sheet must be written.
    dirty: Vec<usize>,
    had_pending: bool,
    /// The submission's first row has gone alone, realtime (see [`submit::canary`]).
    canary_sent: bool,
    /// `batchFile`: the batch's state and the files being downloaded.
    state: Option<batchapi::BatchState>,
    files: Vec<String>,
}

/// What a `call` command returns: the status (0: no answer at all) and the body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The slice and the batch work, borrowed apart from the run's phase.
macro_rules! parts {
    ($run:expr) => {
        (
            $run.slice.as_deref_mut().expect("the spec was read"),
            $run.batch.as_deref_mut().expect("a batch flow"),
        )
    };
}

mod file;
mod submit;
use submit::*;

pub(crate) fn begin(run: &mut Run) -> Vec<Command> {
    run.batch = Some(Box::default());
    if run.start.flow == Flow::BatchFile {
        return file::begin(run);
    }
    if run.start.flow == Flow::SubmitBatch {
        run.phase = Top::Batch(Phase::SubmitSpec);
        // Started by the last poll's one-shot trigger, or by hand: either way none stays.
        return vec![
            Command::Triggers { delete: vec![SUBMIT], every: None, after: Vec::new() },
            Command::ReadCell { sheet: SPEC_SHEET },
        ];
    }
    run.phase = Top::Batch(Phase::Loaded);
    vec![Command::GetProps { keys: vec![P_BATCHES] }, Command::ReadCell { sheet: SPEC_SHEET }]
}

pub(crate) fn step(run: &mut Run, phase: Phase, mut got: Vec<Value>) -> Result<Vec<Command>> {
    let mut take = |i: usize| std::mem::take(&mut got[i]);
    match phase {
        Phase::SubmitSpec => Ok(match slice::compile(take(0))? {
            Err(message) => vec![Command::Fail { message }],
            Ok(job) => submit_spec(run, job),
        }),
        Phase::SubmitLocked => {
            let (has, input, header, out, progress) = (take(0), take(1), take(2), take(3), take(4));
            submit_locked(run, has, input, header, out, progress, read(take(5), "getProps")?)
        }
        Phase::Uploaded(i) => uploaded(run, i, read(take(0), "call")?),
        Phase::Created(i) => created(run, i, read(take(0), "call")?),
        Phase::SubmitEnd => {
            let props = read(take(0), "getProps")?;
            submit_end(run, props, take(1), take(2), take(3))
        }
        Phase::Loaded => {
            let props: Props = read(take(0), "getProps")?;
            let job = match slice::compile(take(1))? {
                Err(message) => return Ok(vec![Command::Fail { message }]),
                Ok(job) => job,
            };
            loaded(run, job, &props)
        }
        Phase::Status(i) => status(run, i, read(take(0), "call")?),
        Phase::Input(i) => {
            let s = run.slice.as_deref_mut().expect("the spec was read");
            if let Some(fail) = s.load_rows(take(0))? {
                return Ok(vec![fail]);
            }
            next(run, i)
        }
        Phase::Downloaded(i) => {
            let answers: Vec<Answer> = got.into_iter().map(|v| read(v, "call")).collect::<Result<_>>()?;
            downloaded(run, i, answers)
        }
        Phase::IngestLeased(i) => {
            let progress: Option<Block> = read(take(0), "read")?;
            ingest_leased(run, i, progress.unwrap_or_default(), read(take(1), "getProps")?)
        }
        Phase::IngestWrite(i) => {
            let (out, progress) = (take(0), take(1));
            ingest_write(run, i, out, progress, read(take(2), "getProps")?)
        }
        Phase::CanaryWrite => {
            let (out, progress) = (take(0), take(1));
            canary_written(run, out, progress, read(take(2), "getProps")?)
        }
        Phase::Cancelled => {
            let answers: Vec<Answer> = got.into_iter().map(|v| read(v, "call")).collect::<Result<_>>()?;
            cancelled(run, answers)
        }
        Phase::Rows => rows(run, take(0)),
        Phase::FileSpec => file::spec(run, take(0)),
        Phase::FileStatus => file::status(run, read(take(0), "call")?),
        Phase::FileDownloaded => {
            let answers: Vec<Answer> = got.into_iter().map(|v| read(v, "call")).collect::<Result<_>>()?;
            Ok(file::downloaded(run, answers))
        }
    }
}

/// A Batch API call as the host's `call` command.
fn call(
    job: &Job,
    op: &str,
    id: Option<&str>,
    file: Option<&str>,
    body: Option<&str>,
    upload: Option<&str>,
) -> Result<Command> {
    let c = batchapi::call_with(
        job,
        CallInput {
            spec: Value::Null,
            op: op.to_owned(),
            id: id.map(str::to_owned),
            file: file.map(str::to_owned),
            body: body.map(str::to_owned),
            label: None,
        },
    )?;
    Ok(Command::Call {
        method: c.method,
        url: c.url,
        auth: c.auth,
        key: slice::key_name(job).to_owned(),
        headers: c.headers,
        body: if c.form.is_some() { None } else { c.body },
        file_name: c.form.as_ref().and(c.file_name.clone()),
        file: c.form.as_ref().map(|_| upload.unwrap_or_default().to_owned()),
        form: c.form,
    })
}

/// The provider's refusal in its own words, without the query string.
fn refusal(what: &str, a: &Answer) -> String {
    let text: String = a.body.chars().take(300).collect();
    if a.status == 0 {
        format!("rowbatch: {what}: no answer ({text})")
    } else {
        format!("rowbatch: {what} answered {}: {text}", a.status)
    }
}

/// One poll trigger while batches are pending (at `ms`, else the spec's interval), none
/// otherwise; the pending batches note when it is due. While batches are pending the heartbeat
/// stays, so a poll killed before it scheduled the next is replaced.
fn poll_trigger(job: &Job, batches: &mut [Record], ms: Option<f64>, now: f64) -> Command {
    let ms = ms.unwrap_or(f64::from(job.spec.batch.poll_minutes) * 60_000.0);
    let mut pending = false;
    for b in batches.iter_mut().filter(|b| !b.finished) {
        b.poll_due = now + ms;
        pending = true;
    }
    if !pending {
        return Command::Triggers { delete: vec![POLL], every: None, after: Vec::new() };
    }
    Command::Triggers {
        delete: vec![POLL],
        every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
        after: vec![(POLL, ms)],
    }
}

/// The Batches sheet rows of the dirty records, each in place (found by id) or appended.
fn batch_rows(s: &Slice, w: &mut Work, ids: Value, now: f64) -> Result<Vec<Command>> {
    let ids: Block = read::<Option<Block>>(ids, "read")?.unwrap_or_default();
    let mut next = ids.first_row + ids.rows.len() as u64;
    let mut cmds = Vec::new();
    for i in std::mem::take(&mut w.dirty) {
        let b = &w.batches[i];
        let at = ids.rows.iter().position(|r| matches!(r.first(), Some(Cell::Text(t)) if *t == b.id));
        let row = at.map_or_else(
            || {
                next += 1;
                next - 1
            },
            |i| ids.first_row + i as u64,
        );
        cmds.push(Command::Write {
            sheet: BATCH_SHEET.to_owned(),
            row,
            col: 1,
            values: vec![safe_row(record_row(&s.job, b, now))],
            step: 0,
        });
    }
    Ok(cmds)
}

/// A provider batch's row in the Batches sheet, in the run records' columns.
fn record_row(job: &Job, b: &Record, now: f64) -> Vec<Cell> {
    let n = |v: usize| Cell::Number(v as f64);
    let text = |s: String| Cell::Text(s);
    let message = if b.message.is_empty() { String::new() } else { format!(": {}", b.message) };
    vec![
        text(b.id.clone()),
        text(job.spec.name.clone()),
        text(job.version.clone()),
        text(b.state.clone()),
        text(iso_time(b.submitted_at)),
        if b.finished { text(iso_time(now)) } else { Cell::Empty },
        n(b.lines),
        n(b.done),
        Cell::Empty,
        n(b.failed),
        Cell::Empty,
        Cell::Empty,
        n(if b.finished { 0 } else { b.lines.saturating_sub(b.done + b.failed) }),
        Cell::Number(crate::layout::usd(b.cost_usd)),
        text(format!("{} batch, part {}{message}", job.spec.provider.kind.as_str(), b.part)),
    ]
}

fn loaded(run: &mut Run, job: Job, props: &Props) -> Result<Vec<Command>> {
    let now = run.now;
    let deadline = now + f64::from(job.spec.limits.time_slice_seconds) * 1000.0;
    let mut s = Slice::new(job);
    s.set_deadline(deadline);
    let w = run.batch.as_mut().expect("a batch flow");
    w.batches = records(props);
    w.had_pending = w.batches.iter().any(|b| !b.finished);
    if run.start.flow == Flow::CancelBatches {
        let cmds: Vec<Command> = w
            .batches
            .iter()
            .filter(|b| !b.ended)
            .map(|b| call(&s.job, "cancel", Some(&b.id), None, None, None))
            .collect::<Result<_>>()?;
        run.slice = Some(Box::new(s));
        if cmds.is_empty() {
            return cancelled(run, Vec::new());
        }
        run.phase = Top::Batch(Phase::Cancelled);
        return Ok(cmds);
    }
    // A watchdog poll first: an execution killed mid-ingest, or refused by a daily quota, leaves
    // the next poll scheduled; a poll that ends normally replaces it.
    let watchdog = poll_trigger(&s.job, &mut w.batches, Some(WATCHDOG_MS), now);
    run.slice = Some(Box::new(s));
    let mut cmds = vec![watchdog];
    cmds.extend(next(run, 0)?);
    Ok(cmds)
}

/// The next batch to poll or ingest from `i` on, or the end.
fn next(run: &mut Run, i: usize) -> Result<Vec<Command>> {
    let now = run.now;
    let (s, w) = parts!(run);
    let Some(j) = (i..w.batches.len()).find(|&j| !w.batches[j].finished) else { return Ok(end(run)) };
    if now >= s.deadline() {
        return Ok(end(run));
    }
    let b = &w.batches[j];
    if !b.ended {
        run.phase = Top::Batch(Phase::Status(j));
        return Ok(vec![call(&s.job, "status", Some(&b.id), None, None, None)?]);
    }
    if !s.has_rows() {
        run.phase = Top::Batch(Phase::Input(j));
        let input = &s.job.spec.input;
        return Ok(vec![Command::ReadInput {
            sheet: input.sheet.clone(),
            header_row: u64::from(input.header_row),
        }]);
    }
    let cmds: Vec<Command> = b
        .results
        .iter()
        .map(|f| call(&s.job, "download", None, Some(f), None, None))
        .collect::<Result<_>>()?;
    if cmds.is_empty() {
        w.lines.clear();
        return ingest_slice(run, j);
    }
    run.phase = Top::Batch(Phase::Downloaded(j));
    Ok(cmds)
}

fn status(run: &mut Run, j: usize, a: Answer) -> Result<Vec<Command>> {
    let (s, w) = parts!(run);
    let b = &mut w.batches[j];
    match a
        .ok()
        .then(|| batchapi::state_with(&s.job, StateInput { spec: Value::Null, body: a.body.clone() }).ok())
        .flatten()
    {
        Some(st) => {
            b.state = state_word(st.state);
            b.results = st.results;
            b.message = st.message;
            b.ended = st.is_final;
        }
        None => b.message = refusal("the batch status", &a),
    }
    w.dirty.push(j);
    if w.batches[j].ended { next(run, j) } else { next(run, j + 1) }
}

fn downloaded(run: &mut Run, j: usize, answers: Vec<Answer>) -> Result<Vec<Command>> {
    let (_, w) = parts!(run);
    if let Some(bad) = answers.iter().find(|a| !a.ok()) {
        w.batches[j].message = refusal("the results download", bad);
        w.dirty.push(j);
        return next(run, j + 1);
    }
    w.lines = answers
        .iter()
        .flat_map(|a| a.body.lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    ingest_slice(run, j)
}

fn ingest_slice(run: &mut Run, j: usize) -> Result<Vec<Command>> {
    let now = run.now;
    let (s, w) = parts!(run);
    if w.batches[j].finished || now >= s.deadline() {
        return next(run, j + 1);
    }
    w.slice_end = (w.batches[j].ingested + INGEST_LINES).min(w.lines.len());
    run.phase = Top::Batch(Phase::IngestLeased(j));
    Ok(vec![
        Command::lock(),
        Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
        Command::GetProps { keys: vec![P_STATE] },
    ])
}

fn ingest_leased(run: &mut Run, j: usize, progress: Block, props: Props) -> Result<Vec<Command>> {
    let now = run.now;
    let seed = run.seed();
    let (s, w) = parts!(run);
    let b = &mut w.batches[j];
    let reasks = format!("{}/reask", b.holder);
    s.merge(shared_of(&props)?, &reasks, now);
    s.ledger.progress = progress;
    let last = w.slice_end >= w.lines.len();
    let got = batchapi::results_with(
        &s.job,
        ResultsInput {
            spec: Value::Null,
            text: w.lines[b.ingested..w.slice_end].join("\n"),
            inputs: s.ledger.inputs.clone(),
            now,
            seed,
            last: last.then(|| Last {
                holder: b.holder.clone(),
                progress: s.ledger.progress.clone(),
                reason: format!("the batch ended {} without an answer for this row", b.state),
            }),
            lease: Some(Lease { holder: b.holder.clone(), progress: s.ledger.progress.clone() }),
            budget: None,
        },
    )?;
    // Write-ahead: the slice's cost is on record before its rows are written; a slice run
    // again after a kill does not count it twice.
    if b.costed < w.slice_end {
        b.lines_cost_usd += got.cost_usd;
        b.cost_usd += got.cost_usd;
        b.costed = w.slice_end;
    }
    let mut again = Vec::new();
    for (r, attempt) in got.results.into_iter().zip(got.attempts) {
        if r.status == crate::ingest::Status::Reask {
            let index = s.ledger.inputs.keys.iter().position(|k| *k == r.key).unwrap_or(0);
            let sheet_row = s.ledger.inputs.first_row + index as u64;
            again.push(Flight::reask(r, index, sheet_row, attempt));
        } else {
            s.pending.push(Finished::of(r));
        }
    }
    let mut cmds = vec![];
    s.set_after_rounds(Some(j), reasks.clone());
    let go = s.reserve_round(&reasks, again, now)?;
    cmds.push(Command::SetProps { set: vec![s.state_prop(), (P_BATCHES, Some(to_string(&w.batches)))] });
    cmds.push(Command::Unlock);
    if go {
        cmds.extend(super::rounds::send(run)?);
        return Ok(cmds);
    }
    cmds.extend(after_rounds(run, j));
    Ok(cmds)
}

/// The re-asks are answered (or released): the slice's outcomes are written under the lock.
pub(crate) fn after_rounds(run: &mut Run, j: usize) -> Vec<Command> {
    let s = run.slice.as_ref().expect("the spec was read");
    run.phase = Top::Batch(if j == CANARY { Phase::CanaryWrite } else { Phase::IngestWrite(j) });
    vec![
        Command::lock(),
        Command::read(output_sheet(&s.job), OUTPUT_COLUMNS.len()),
        Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
        Command::GetProps { keys: vec![P_STATE] },
    ]
}

fn ingest_write(run: &mut Run, j: usize, out: Value, progress: Value, props: Props) -> Result<Vec<Command>> {
    let now = run.now;
    let (s, w) = parts!(run);
    let b = &mut w.batches[j];
    s.merge(shared_of(&props)?, &format!("{}/reask", b.holder), now);
    s.ledger.outputs = read::<Option<Block>>(out, "read")?.unwrap_or_default();
    s.ledger.progress = read::<Option<Block>>(progress, "read")?.unwrap_or_default();
    let holder = b.holder.clone();
    let counts = s.summary_counts();
    let mut cmds =
        vec![Command::SetProps { set: vec![(P_LEDGER, Some(format!("batch/{}/{}", b.id, b.ingested)))] }];
    cmds.extend(super::wave::reconcile_pending(s, &holder, now));
    let (written, failed) = s.summary_counts_since(counts);
    let b = &mut w.batches[j];
    b.done += written;
    b.failed += failed;
    b.ingested = w.slice_end;
    if b.ingested >= w.lines.len() {
        b.finished = true;
        s.shared.settle(&holder, b.lines_cost_usd);
    }
    w.dirty.push(j);
    cmds.push(Command::Flush);
    cmds.push(Command::SetProps { set: vec![s.state_prop(), (P_BATCHES, Some(to_string(&w.batches)))] });
    cmds.push(Command::Unlock);
    cmds.extend(ingest_slice(run, j)?);
    Ok(cmds)
}

fn cancelled(run: &mut Run, answers: Vec<Answer>) -> Result<Vec<Command>> {
    let (s, w) = parts!(run);
    let open: Vec<usize> = (0..w.batches.len()).filter(|&i| !w.batches[i].ended).collect();
    for (i, a) in open.into_iter().zip(answers) {
        match a
            .ok()
            .then(|| {
                batchapi::state_with(&s.job, StateInput { spec: Value::Null, body: a.body.clone() }).ok()
            })
            .flatten()
        {
            Some(st) => w.batches[i].state = state_word(st.state),
            None => w.batches[i].message = refusal("the batch cancel", &a),
        }
        w.dirty.push(i);
    }
    Ok(end(run))
}

/// The Batches rows of what changed, under the lock; then the record and the next poll.
fn end(run: &mut Run) -> Vec<Command> {
    run.phase = Top::Batch(Phase::Rows);
    let mut cmds = vec![Command::lock()];
    cmds.extend(batches_sheet());
    cmds
}

fn rows(run: &mut Run, ids: Value) -> Result<Vec<Command>> {
    let now = run.now;
    let flow = run.start.flow;
    let (s, w) = parts!(run);
    let mut cmds = batch_rows(s, w, ids, now)?;
    let mut left: Vec<Record> = w.batches.iter().filter(|b| !b.finished).cloned().collect();
    let ingested = w.batches.len() - left.len();
    let poll = poll_trigger(&s.job, &mut left, (flow == Flow::CancelBatches).then_some(1000.0), now);
    // The record and the next poll under the lock, with the rows.
    cmds.extend([
        Command::Flush,
        Command::SetProps { set: vec![(P_BATCHES, Some(to_string(&left)))] },
        poll,
        Command::Unlock,
    ]);
    if flow == Flow::CancelBatches {
        let list: Vec<Value> = w.batches.iter().map(|b| json!({ "id": b.id, "state": b.state })).collect();
        cmds.push(Command::Done { result: Value::Array(list) });
        return Ok(cmds);
    }
    // Rows left over (failed or expired lines, released rows) go where `batch.retry` says.
    let mut next = Value::Null;
    if left.is_empty() && w.had_pending {
        let (handler, word) = match s.job.spec.batch.retry {
            BatchRetry::Batch => (SUBMIT, "batch"),
            BatchRetry::Realtime => (CONTINUE, "realtime"),
        };
        cmds.push(Command::Triggers { delete: Vec::new(), every: None, after: vec![(handler, 1000.0)] });
        next = json!(word);
    }
    let pending: Vec<Value> = left.iter().map(|b| json!({ "id": b.id, "state": b.state })).collect();
    let result = json!({ "pending": pending, "ingested": ingested, "next": next });
    cmds.push(Command::Log { text: format!("rowbatch batches {result}") });
    cmds.push(Command::Done { result });
    Ok(cmds)
}

fn state_word(s: batchapi::State) -> String {
    to_value(&s).as_str().unwrap_or_default().to_owned()
}

fn batches_sheet() -> [Command; 2] {
    [
        Command::Sheet { name: BATCH_SHEET.to_owned(), header: header(&BATCH_COLUMNS), hidden: false },
        Command::read(BATCH_SHEET.to_owned(), 1),
    ]
}

fn records(props: &Props) -> Vec<Record> {
    prop(props, P_BATCHES)
        .and_then(|t| crate::decode::value(t.as_bytes()).ok())
        .and_then(|v| crate::read::from_value(v).ok())
        .unwrap_or_default()
}
