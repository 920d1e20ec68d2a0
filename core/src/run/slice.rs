//! One time slice of the realtime run: waves under the lock, sent with `fetchAll`, until the
//! job is done, the slice's time is up, a daily quota is spent, or the run must stop.
//!
//! Each wave is one locked section: read the output ledger (and the progress ledger when
//! another writer has touched it), settle the money of the last round, write the last wave's
//! outcomes, plan the next wave on what the sheets now hold, record its reservation and write
//! its leases — then send it outside the lock. Re-asks go out in rounds of their own, each with
//! its reservation recorded first.

use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::shared::Shared;
use super::text;
use super::*;
use crate::cell::{Cell, sheet_text};
use crate::ingest::{IngestInput, Response, RowResult, Sent, Status};
use crate::keys::key_block;
use crate::layout::{ANSWER_COLUMNS, OUTPUT_COLUMNS, PROGRESS_COLUMNS, output_columns};
use crate::ledger::{Block, RowWrite};
use crate::plan::{Plan, PlanInput};
use crate::provider::{BuildInput, Item, Reask, build_requests_with};
use crate::quota::DayReport;
use crate::ratelimit::Limiter;
use crate::reconcile::{Outcome, OutcomeStatus, ReconcileInput, reconcile_with};
use crate::report::Pause;
use crate::spec::Job;
use crate::to_json::{ToJson, to_string};
use serde_json::{Value, json};

/// The output sheet's `_status` column (1-based).
pub(crate) const STATUS_COL: u64 = 4;
/// Properties hold 9 KB a value: the latest pauses are kept whole, earlier ones as totals.
const KEPT_PAUSES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Loaded,
    Ready,
    WaveLocked,
    WaveRead { progress: bool },
    Fetched,
    Journal,
    Closing,
    Alerting,
    Mailed,
    Reporting,
}

/// `ROWBATCH_RUN`: the run this slice belongs to.
#[derive(Debug, Clone, Default, FromJson, ToJson)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RunInfo {
    pub id: String,
    pub started_at: f64,
    /// What this run's requests cost, as the slices settled it.
    pub cost_usd: f64,
    pub pauses: Vec<Pause>,
    pub earlier_pauses: u32,
    pub earlier_paused_ms: f64,
}

impl RunInfo {
    pub fn new(id: String, now: f64) -> Self {
        Self { id, started_at: now, ..Self::default() }
    }
}

#[derive(Debug, Clone, Default, ToJson)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub sent: usize,
    pub written: usize,
    pub failed: usize,
    pub retries: usize,
    pub cost_usd: f64,
    pub waves: usize,
}

/// A row on its way: what the round sent and what it has cost so far.
pub(crate) struct Flight {
    key: String,
    signature: String,
    index: usize,
    sheet_row: u64,
    attempt: u32,
    reask: Option<Reask>,
    reserve_usd: f64,
    cost_usd: f64,
}

/// An outcome waiting for the next locked section, with its answer cells.
pub(crate) struct Finished {
    outcome: Outcome,
    cells: Vec<Cell>,
}

pub(crate) struct Slice {
    pub job: Job,
    pub(crate) info: RunInfo,
    pub(crate) shared: Shared,
    /// This execution's limiter, newer than the shared one once it has seen responses.
    pub(crate) limiter: Option<Limiter>,
    /// Not yet in the shared state: requests sent, a refusal for today, what was spent.
    pub(crate) fetched: u64,
    pub(crate) refused: bool,
    pub(crate) unsettled: f64,
    pub(crate) deadline: f64,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) ledger: PlanInput,
    pub(crate) mark: Option<String>,
    pub(crate) writes: u64,
    pub(crate) pending: Vec<Finished>,
    pub(crate) log: Vec<Vec<Cell>>,
    pub(crate) flights: Vec<Flight>,
    pub(crate) wave_started: f64,
    pub(crate) fetch_started: f64,
    pub(crate) summary: Summary,
    pub(crate) plan: Option<Plan>,
    pub(crate) stop: Option<String>,
    pub(crate) stop_asked: Option<String>,
    pub(crate) fatal: Option<String>,
    pub(crate) pause: Option<DayReport>,
    pub(crate) alert_problem: Option<String>,
    pub(crate) alerts: Option<text::AlertsDue>,
    /// Re-ask rounds for a batch's results: the batch being ingested, and the holder of
    /// their reservations (else the execution's own rounds, back to the wave loop).
    pub(crate) after_rounds: Option<usize>,
    /// The most bytes a row can add to a prompt (its cells and their column names): the
    /// budget's worst case takes it, not a typical row's.
    pub(crate) row_bytes: u64,
    /// Provider batches were pending when the slice ended.
    pub(crate) batches_pending: bool,
    pub(crate) round_holder: Option<String>,
}

impl Slice {
    pub fn new(job: Job) -> Self {
        Self {
            job,
            info: RunInfo::default(),
            shared: Shared::default(),
            limiter: None,
            fetched: 0,
            refused: false,
            unsettled: 0.0,
            deadline: 0.0,
            header: Vec::new(),
            rows: Vec::new(),
            ledger: PlanInput {
                spec: Value::Null,
                inputs: Default::default(),
                outputs: Block::default(),
                progress: Block::default(),
                execution: String::new(),
                now: 0.0,
                deadline: 0.0,
                timing: Default::default(),
                capacity: Default::default(),
                reserve: Default::default(),
                batch: false,
                max_rows: None,
            },
            mark: None,
            writes: 0,
            pending: Vec::new(),
            log: Vec::new(),
            flights: Vec::new(),
            wave_started: 0.0,
            fetch_started: 0.0,
            summary: Summary::default(),
            plan: None,
            stop: None,
            stop_asked: None,
            fatal: None,
            pause: None,
            alert_problem: None,
            alerts: None,
            after_rounds: None,
            round_holder: None,
            row_bytes: 0,
            batches_pending: false,
        }
    }

    pub(crate) fn max_usd(&self) -> Option<f64> {
        self.job.spec.budget.as_ref().map(|b| b.max_usd)
    }

    /// Folds this execution's unrecorded use into the state just read under the lock.
    pub(crate) fn merge(&mut self, fresh: Shared, holder: &str, now: f64) {
        self.shared = fresh;
        self.shared.expire(now);
        self.shared.settle(holder, self.unsettled);
        self.unsettled = 0.0;
        let day = self.shared.day.get_or_insert_with(Default::default);
        if self.fetched > 0 {
            day.record(now, self.fetched, 0.0);
        }
        if self.refused {
            crate::quota::refused(&self.job, day, now);
        }
        (self.fetched, self.refused) = (0, false);
        match (&self.limiter, &self.shared.limiter) {
            (Some(mine), Some(theirs)) if mine.at < theirs.at => self.limiter = Some(theirs.clone()),
            (None, theirs) => self.limiter = theirs.clone(),
            _ => {}
        }
        self.shared.limiter = self.limiter.clone();
    }

    pub(crate) fn set_deadline(&mut self, deadline: f64) {
        self.deadline = deadline;
    }

    pub(crate) fn deadline(&self) -> f64 {
        self.deadline
    }

    pub(crate) fn set_after_rounds(&mut self, batch: Option<usize>, holder: String) {
        self.after_rounds = batch;
        self.round_holder = Some(holder);
    }

    /// Rows written and failed so far, to tell what one reconciliation did.
    pub(crate) fn summary_counts(&self) -> (usize, usize) {
        (self.summary.written, self.summary.failed)
    }

    pub(crate) fn summary_counts_since(&self, before: (usize, usize)) -> (usize, usize) {
        (self.summary.written - before.0, self.summary.failed - before.1)
    }

    /// The key check and the input block: a command to fail with, or the keyed rows kept.
    pub(crate) fn load_input(&mut self, has_key: Value, input: Value) -> Result<Option<Command>> {
        if has_key != true {
            let name = key_name(&self.job);
            return Ok(Some(Command::Fail {
                message: format!(
                    "rowbatch: no API key: set it in rowbatch → Settings (or the Script Property {name})"
                ),
            }));
        }
        self.load_rows(input)
    }

    pub(crate) fn load_rows(&mut self, input: Value) -> Result<Option<Command>> {
        let Some(input) = read::<Option<InputBlock>>(input, "readInput")? else {
            let name = self.job.spec.input.sheet.clone().unwrap_or_default();
            return Ok(Some(Command::Fail {
                message: format!("rowbatch: the input sheet \"{name}\" does not exist"),
            }));
        };
        self.ledger.inputs = match key_block(&self.job, &input.header, &input.rows, input.first_row) {
            Ok(k) => k,
            Err(e) => {
                return Ok(Some(Command::Fail {
                    message: format!("rowbatch: the input sheet cannot be read: {e}"),
                }));
            }
        };
        self.row_bytes = input.rows.iter().map(|r| row_bytes(&input.header, r)).max().unwrap_or(0);
        (self.header, self.rows) = (input.header, input.rows);
        Ok(None)
    }

    pub(crate) fn has_rows(&self) -> bool {
        !self.header.is_empty()
    }

    /// A round of re-asks reserved under `holder` (the lock held, the state fresh): those the
    /// budget cannot hold are released for a later wave. Whether any is left to send.
    pub(crate) fn reserve_round(&mut self, holder: &str, flights: Vec<Flight>, now: f64) -> Result<bool> {
        if flights.is_empty() {
            return Ok(false);
        }
        let items: Vec<Item> = flights
            .iter()
            .map(|f| Item {
                key: f.key.clone(),
                signature: f.signature.clone(),
                row: self.rows[f.index].clone(),
                reask: f.reask.clone(),
            })
            .collect();
        let built = build_requests_with(
            &self.job,
            &BuildInput { spec: Value::Null, header: self.header.clone(), items },
        )?;
        let max = self.max_usd();
        let until = now + self.ledger.timing.lease_ms;
        let (mut go, mut wait) = (Vec::new(), Vec::new());
        for (f, r) in flights.into_iter().zip(&built.requests) {
            if self.shared.reserve(holder, r.reserve_usd, until, max) { go.push(f) } else { wait.push(f) }
        }
        release(self, wait, "budget reached before the re-ask");
        let any = !go.is_empty();
        self.flights = go;
        Ok(any)
    }

    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    pub fn stopped(&self) -> Option<&str> {
        self.stop.as_deref()
    }

    pub fn alert_problem(&self) -> Option<&str> {
        self.alert_problem.as_deref()
    }

    pub(crate) fn state_prop(&self) -> (&'static str, Option<String>) {
        (P_STATE, Some(to_string(&self.shared)))
    }
}

pub(crate) fn output_sheet(job: &Job) -> String {
    job.spec.output.sheet.clone().unwrap_or_else(|| "Output".to_owned())
}

/// Text cells as Sheets must be given them to keep them text.
pub(crate) fn safe_row(row: Vec<Cell>) -> Vec<Cell> {
    row.into_iter().map(|c| if let Cell::Text(t) = c { Cell::Text(sheet_text(&t)) } else { c }).collect()
}

pub(crate) fn header(cols: &[impl AsRef<str>]) -> Vec<Cell> {
    safe_row(cols.iter().map(|c| Cell::Text(c.as_ref().to_owned())).collect())
}

/// An upper bound of what a row adds to a prompt: every cell with its column's name.
fn row_bytes(header: &[String], row: &[Cell]) -> u64 {
    let cell = |c: &Cell| match c {
        Cell::Text(t) => t.len(),
        Cell::Empty => 0,
        Cell::Bool(_) | Cell::Number(_) => 24,
    };
    row.iter().enumerate().map(|(i, c)| (header.get(i).map_or(0, String::len) + cell(c) + 8) as u64).sum()
}

/// The spec from A1: the job, or the message the execution fails with.
pub(crate) fn compile(cell: Value) -> Result<std::result::Result<Job, String>> {
    let Some(text) = cell.as_str().filter(|t| !t.trim().is_empty()) else {
        return Ok(Err(format!("rowbatch: no job spec: put it as JSON in A1 of a sheet named {SPEC_SHEET}")));
    };
    let spec = match crate::decode::value(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("rowbatch: the job spec in A1 of {SPEC_SHEET} is not JSON: {e}"))),
    };
    Ok(Job::compile(&spec)
        .map_err(|e| format!("rowbatch: the job spec in A1 of {SPEC_SHEET} is not valid: {e}")))
}

pub(crate) fn begin(run: &mut Run) -> Vec<Command> {
    run.phase = Top::Slice(Phase::Loaded);
    vec![Command::GetProps { keys: vec![P_RUN, P_STATE, P_STOP] }, Command::ReadCell { sheet: SPEC_SHEET }]
}

pub(crate) fn step(run: &mut Run, phase: Phase, mut got: Vec<Value>) -> Result<Vec<Command>> {
    let mut take = |i: usize| std::mem::take(&mut got[i]);
    match phase {
        Phase::Loaded => loaded(run, read(take(0), "getProps")?, take(1)),
        Phase::Ready => ready(run, take(0), take(1)),
        Phase::WaveLocked => wave_locked(run, read(take(0), "getProps")?),
        Phase::WaveRead { progress } => {
            let outputs: Option<Block> = read(take(0), "read")?;
            let progress = if progress {
                Some(read::<Option<Block>>(take(1), "read")?.unwrap_or_default())
            } else {
                None
            };
            wave_read(run, outputs.unwrap_or_default(), progress)
        }
        Phase::Fetched => fetched(run, read(take(0), "fetch")?),
        Phase::Journal => journal(run, read(take(0), "getProps")?),
        Phase::Closing => {
            let batches = got.get_mut(1).map(std::mem::take).unwrap_or(Value::Null);
            closing(run, read(std::mem::take(&mut got[0]), "getProps")?, batches)
        }
        Phase::Alerting => alerting(run, take(0).as_bool().unwrap_or(false)),
        Phase::Mailed => Ok(mailed(run, got)),
        Phase::Reporting => {
            let outputs: Option<Block> = read(take(0), "read")?;
            let progress: Option<Block> = read(take(1), "read")?;
            Ok(reporting(run, outputs.unwrap_or_default(), progress.unwrap_or_default()))
        }
    }
}

pub(crate) fn prop(props: &Props, key: &str) -> Option<String> {
    props.get(key).cloned().flatten()
}

pub(crate) fn shared_of(props: &Props) -> Result<Shared> {
    Shared::parse(prop(props, P_STATE).as_deref()).map_err(|e| host_error(P_STATE, e))
}

fn loaded(run: &mut Run, props: Props, spec: Value) -> Result<Vec<Command>> {
    if let Some(stopped) = prop(&props, P_STOP) {
        return Ok(vec![
            super::flows::end_triggers(),
            Command::Done { result: json!({ "stopped": stopped }) },
        ]);
    }
    let job = match compile(spec)? {
        Ok(job) => job,
        Err(message) => return Ok(vec![Command::Fail { message }]),
    };
    let mut s = Slice::new(job);
    s.info = prop(&props, P_RUN)
        .and_then(|t| crate::decode::value(t.as_bytes()).ok())
        .and_then(|v| crate::read::from_value(v).ok())
        .unwrap_or_else(|| RunInfo::new(run.run_id(), run.now));
    s.shared = shared_of(&props)?;
    s.ledger.execution = run.execution();
    let quota =
        crate::quota::report(&s.job, s.shared.day.clone().unwrap_or_default(), run.now, run.start.trigger);
    s.deadline = quota.deadline;
    let mut cmds = vec![Command::Triggers {
        delete: vec![CONTINUE],
        every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
        after: vec![(CONTINUE, WATCHDOG_MS)],
    }];
    if quota.pause_until.is_some() {
        s.pause = Some(quota);
        run.slice = Some(Box::new(s));
        cmds.extend(close(run));
        return Ok(cmds);
    }
    let out = output_sheet(&s.job);
    cmds.extend([
        Command::HasKey { name: key_name(&s.job).to_owned() },
        Command::ReadInput {
            sheet: s.job.spec.input.sheet.clone(),
            header_row: u64::from(s.job.spec.input.header_row),
        },
        Command::Lock,
        Command::Sheet { name: out, header: header(&output_columns(&s.job)), hidden: false },
        Command::Sheet { name: PROGRESS_SHEET.to_owned(), header: header(&PROGRESS_COLUMNS), hidden: true },
        Command::Unlock,
    ]);
    run.slice = Some(Box::new(s));
    run.phase = Top::Slice(Phase::Ready);
    Ok(cmds)
}

/// The Property that holds the provider's API key.
pub fn key_name(job: &Job) -> &'static str {
    match job.spec.provider.kind {
        crate::spec::ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
        crate::spec::ProviderKind::Openai => "OPENAI_API_KEY",
    }
}

#[derive(Debug, FromJson)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InputBlock {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub first_row: u64,
}

fn ready(run: &mut Run, has_key: Value, input: Value) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    if let Some(fail) = s.load_input(has_key, input)? {
        return Ok(vec![fail]);
    }
    Ok(wave_top(run))
}

fn wave_top(run: &mut Run) -> Vec<Command> {
    run.phase = Top::Slice(Phase::WaveLocked);
    vec![Command::Lock, Command::GetProps { keys: vec![P_STOP, P_STATE, P_LEDGER, P_ALERT_PROBLEM] }]
}

fn wave_locked(run: &mut Run, props: Props) -> Result<Vec<Command>> {
    let now = run.now;
    let holder = run.execution();
    let s = run.slice.as_mut().expect("loaded");
    s.stop_asked = prop(&props, P_STOP);
    s.alert_problem = prop(&props, P_ALERT_PROBLEM);
    let fresh = shared_of(&props)?;
    s.merge(fresh, &holder, now);
    let progress = s.mark.is_none() || prop(&props, P_LEDGER) != s.mark;
    let mut cmds = vec![Command::Read { sheet: output_sheet(&s.job), width: OUTPUT_COLUMNS.len() }];
    if progress {
        cmds.push(Command::Read { sheet: PROGRESS_SHEET.to_owned(), width: PROGRESS_COLUMNS.len() });
    }
    run.phase = Top::Slice(Phase::WaveRead { progress });
    Ok(cmds)
}

fn wave_read(run: &mut Run, outputs: Block, progress: Option<Block>) -> Result<Vec<Command>> {
    let now = run.now;
    let execution = run.execution();
    let s = run.slice.as_mut().expect("loaded");
    s.ledger.outputs = outputs;
    if let Some(p) = progress {
        s.ledger.progress = p;
    }
    let (out_writes, mut progress_writes) = reconciled(s, &execution, now);
    let mut marks: Vec<(u64, Cell)> = Vec::new();
    let go = s.fatal.is_none() && s.stop_asked.is_none() && s.pause.is_none();
    if go {
        let cap = crate::estimate::capacity_with(
            &s.job,
            crate::estimate::CapacityInput {
                spec: Value::Null,
                now,
                limiter: s.limiter.take(),
                budget: s.max_usd().map(|m| s.shared.budget(m)),
                row_bytes: Some(s.row_bytes),
                batch: false,
                day: s.shared.day.clone(),
            },
        );
        s.limiter = Some(cap.limiter);
        s.shared.limiter = s.limiter.clone();
        if cap.quota.as_ref().is_some_and(|q| q.pause_until.is_some()) {
            s.pause = cap.quota;
        }
        s.ledger.now = now;
        s.ledger.deadline = s.deadline;
        s.ledger.capacity = cap.capacity;
        s.ledger.reserve = cap.reserve;
        s.ledger.timing = cap.timing;
        let plan = crate::plan::plan(&s.job, &s.ledger);
        for w in &plan.progress_writes {
            apply(&mut s.ledger.progress, w.row, &w.values, PROGRESS_COLUMNS.len());
        }
        progress_writes.extend(plan.progress_writes.iter().cloned());
        marks.extend(plan.marks.iter().map(|m| (m.row, Cell::Text(m.status.as_str().to_owned()))));
        // Write-ahead: the wave's worst case is on record before a request leaves.
        s.shared.reserve(&execution, plan.reserved.usd, now + s.ledger.timing.lease_ms, None);
        s.plan = Some(plan);
    }
    let mut set = vec![s.state_prop()];
    if !progress_writes.is_empty() {
        // Stamped before the write: a writer killed half-way still makes the others read again.
        s.writes += 1;
        let mark = format!("{execution}/{}", s.writes);
        set.push((P_LEDGER, Some(mark.clone())));
        s.mark = Some(mark);
    }
    let mut cmds = vec![Command::SetProps { set }];
    let out = output_sheet(&s.job);
    let step = u64::from(crate::validate::GRID_STEP_ROWS);
    for (row, status) in marks {
        cmds.push(Command::Write {
            sheet: out.clone(),
            row,
            col: STATUS_COL,
            values: vec![safe_row(vec![status])],
            step,
        });
    }
    cmds.extend(runs(&out, out_writes, step));
    if let Some(c) = span(&s.ledger.progress, &progress_writes, step) {
        cmds.push(c);
    }
    // The wave's outcome lines go with its results: a slice killed later loses none of them.
    if !s.log.is_empty() {
        let values = std::mem::take(&mut s.log).into_iter().map(safe_row).collect();
        cmds.push(Command::Append {
            sheet: LOG_SHEET.to_owned(),
            header: header(&text::LOG_COLUMNS),
            values,
        });
    }
    cmds.extend([
        Command::Flush,
        Command::Unlock,
        Command::SetProps { set: vec![(P_RUN, Some(to_string(&s.info)))] },
    ]);
    if let Some(f) = &s.fatal {
        s.stop = Some(f.clone());
    } else if let Some(asked) = &s.stop_asked {
        s.stop = Some(asked.clone());
    }
    let plan = s.plan.as_ref();
    if s.stop.is_some() || s.pause.is_some() || plan.is_none_or(|p| p.send.is_empty()) {
        if let Some(p) = plan
            && s.stop.is_none()
            && p.stop == crate::plan::Stop::Budget
            && p.counts.in_flight == 0
        {
            let max = s.max_usd().unwrap_or(0.0);
            s.stop = Some(format!("budget reached: {:.4} of {max} USD spent", s.shared.total_spent()));
        }
        cmds.extend(close(run));
        return Ok(cmds);
    }
    let plan = s.plan.as_ref().expect("checked");
    cmds.extend(progress_of(s, now));
    s.flights = plan
        .send
        .iter()
        .map(|p| Flight {
            key: p.key.clone(),
            signature: p.signature.clone(),
            index: p.index,
            sheet_row: p.sheet_row,
            attempt: p.attempt,
            reask: None,
            reserve_usd: 0.0,
            cost_usd: 0.0,
        })
        .collect();
    s.wave_started = now;
    cmds.extend(send(run)?);
    Ok(cmds)
}

/// The outcomes waiting since the last locked section, against the ledger just read: the
/// output rows to write (ledger cells made safe, answer cells safe from ingest) and the progress
/// writes, both applied to the blocks kept in memory.
fn reconciled(s: &mut Slice, execution: &str, now: f64) -> (Vec<(u64, Vec<Cell>)>, Vec<RowWrite>) {
    let mut out_writes = Vec::new();
    if s.pending.is_empty() {
        return (out_writes, Vec::new());
    }
    let pending = std::mem::take(&mut s.pending);
    let input = ReconcileInput {
        spec: Value::Null,
        results: pending.iter().map(|f| f.outcome.clone()).collect(),
        outputs: std::mem::take(&mut s.ledger.outputs),
        progress: std::mem::take(&mut s.ledger.progress),
        execution: execution.to_owned(),
        now,
    };
    let rec = reconcile_with(&s.job, &input);
    // Taken back: reconcile only reads them.
    (s.ledger.outputs, s.ledger.progress) = (input.outputs, input.progress);
    let answer_width = output_columns(&s.job).len() - OUTPUT_COLUMNS.len();
    for w in &rec.output_writes {
        let ledger: Vec<Cell> = w.ledger.iter().map(|t| Cell::Text(t.clone())).collect();
        apply(&mut s.ledger.outputs, w.row, &ledger, OUTPUT_COLUMNS.len());
        let cells = &pending[w.result].cells;
        let mut row = safe_row(ledger);
        row.extend(if cells.is_empty() { vec![Cell::Empty; answer_width] } else { cells.clone() });
        out_writes.push((w.row, row));
    }
    for w in &rec.progress_writes {
        apply(&mut s.ledger.progress, w.row, &w.values, PROGRESS_COLUMNS.len());
    }
    s.summary.waves += 1;
    s.summary.written += rec.counts.written;
    s.summary.failed += rec.counts.failed;
    s.summary.retries += rec.counts.retries;
    (out_writes, rec.progress_writes)
}

/// [`reconciled`] as the writes of a locked section: output rows, then the progress span.
pub(crate) fn reconcile_pending(s: &mut Slice, execution: &str, now: f64) -> Vec<Command> {
    let (out, progress) = reconciled(s, execution, now);
    let step = u64::from(crate::validate::GRID_STEP_ROWS);
    let mut cmds = runs(&output_sheet(&s.job), out, step);
    cmds.extend(span(&s.ledger.progress, &progress, step));
    cmds
}

/// Writes a value row into a block read earlier, so the next decision sees it without a read.
pub(crate) fn apply(block: &mut Block, row: u64, values: &[Cell], width: usize) {
    let Some(i) = row.checked_sub(block.first_row).map(|i| i as usize) else { return };
    while block.rows.len() <= i {
        block.rows.push(vec![Cell::Empty; width]);
    }
    block.rows[i] = values.iter().take(width).cloned().collect();
}

/// One write per run of consecutive rows.
fn runs(sheet: &str, mut writes: Vec<(u64, Vec<Cell>)>, step: u64) -> Vec<Command> {
    writes.sort_by_key(|w| w.0);
    let mut cmds: Vec<Command> = Vec::new();
    for (row, values) in writes {
        if let Some(Command::Write { row: first, values: block, .. }) = cmds.last_mut()
            && *first + block.len() as u64 == row
        {
            block.push(values);
            continue;
        }
        cmds.push(Command::Write { sheet: sheet.to_owned(), row, col: 1, values: vec![values], step });
    }
    cmds
}

/// One write over the progress rows from the first to the last written, from the block.
pub(crate) fn span(block: &Block, writes: &[RowWrite], step: u64) -> Option<Command> {
    let first = writes.iter().map(|w| w.row).min()?;
    let last = writes.iter().map(|w| w.row).max()?;
    let width = PROGRESS_COLUMNS.len();
    let values = (first..=last)
        .map(|r| {
            let mut row = block.rows.get((r - block.first_row) as usize).cloned().unwrap_or_default();
            row.resize(width, Cell::Empty);
            safe_row(row)
        })
        .collect();
    Some(Command::Write { sheet: PROGRESS_SHEET.to_owned(), row: first, col: 1, values, step })
}

/// The round of requests for the rows in flight.
pub(crate) fn send(run: &mut Run) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    let items = s
        .flights
        .iter()
        .map(|f| Item {
            key: f.key.clone(),
            signature: f.signature.clone(),
            row: s.rows[f.index].clone(),
            reask: f.reask.clone(),
        })
        .collect();
    let built =
        build_requests_with(&s.job, &BuildInput { spec: Value::Null, header: s.header.clone(), items })?;
    for (f, r) in s.flights.iter_mut().zip(&built.requests) {
        f.reserve_usd = r.reserve_usd;
    }
    if let Some(l) = &mut s.limiter {
        l.requests.available -= built.requests.len() as f64;
    }
    s.fetch_started = run.now;
    run.phase = Top::Slice(Phase::Fetched);
    Ok(vec![Command::Fetch {
        url: built.endpoint.url,
        auth: built.endpoint.auth,
        key: key_name(&s.job).to_owned(),
        headers: built.endpoint.headers,
        bodies: built.requests.into_iter().map(|r| r.body).collect(),
    }])
}

fn fetched(run: &mut Run, responses: Vec<Response>) -> Result<Vec<Command>> {
    let now = run.now;
    let seed = run.seed();
    let execution = run.execution();
    let s = run.slice.as_mut().expect("loaded");
    let sent: Vec<Sent> = s
        .flights
        .iter()
        .map(|f| Sent {
            key: f.key.clone(),
            signature: f.signature.clone(),
            attempt: f.attempt,
            reasks: f.reask.as_ref().map_or(0, |r| r.count),
            reserve_usd: f.reserve_usd,
        })
        .collect();
    if responses.len() != sent.len() {
        return Err(host_error(
            "fetch",
            format!("{} responses for {} requests", responses.len(), sent.len()),
        ));
    }
    let got = crate::ingest::ingest_with(
        &s.job,
        &IngestInput {
            spec: Value::Null,
            sent,
            responses,
            now,
            seed,
            limiter: s.limiter.take(),
            budget: None,
            batch: false,
            day: None,
            wave_ms: Some(now - s.fetch_started),
        },
    )?;
    s.limiter = Some(got.limiter);
    if got.pause.is_some() {
        s.refused = true;
    } else {
        s.fetched += got.results.len() as u64;
        s.summary.sent += got.results.len();
    }
    s.unsettled += got.cost_usd;
    s.summary.cost_usd += got.cost_usd;
    s.info.cost_usd += got.cost_usd;
    if s.fatal.is_none() {
        s.fatal = got.fatal.map(|v| v.message);
    }
    let mut again = Vec::new();
    let cost_col =
        output_columns(&s.job).iter().position(|c| c == ANSWER_COLUMNS[3]).map(|i| i - OUTPUT_COLUMNS.len());
    for (mut f, mut r) in std::mem::take(&mut s.flights).into_iter().zip(got.results) {
        f.cost_usd += r.cost_usd;
        if r.status == Status::Reask {
            f.reask = r.reask.take();
            again.push(f);
            continue;
        }
        // The row's cost over every round it took.
        if let Some(c) = cost_col.and_then(|i| r.cells.get_mut(i)) {
            *c = Cell::Number((f.cost_usd * 1e6).round() / 1e6);
        }
        s.log.push(text::log_line(
            &s.info.id,
            &execution,
            s.summary.waves,
            f.sheet_row,
            f.attempt,
            &r,
            s.wave_started,
            now,
        ));
        s.pending.push(finished(&f, r));
    }
    if got.pause.is_some() && s.pause.is_none() {
        s.pause = Some(paused_day(s, now));
    }
    if again.is_empty() {
        return Ok(rounds_over(run));
    }
    if s.fatal.is_some() || s.pause.is_some() || now > s.deadline {
        release(s, again, "no time left to re-ask");
        return Ok(rounds_over(run));
    }
    s.flights = again;
    run.phase = Top::Slice(Phase::Journal);
    Ok(vec![Command::Lock, Command::GetProps { keys: vec![P_STATE] }])
}

/// The day's quota state just after a refusal, for the pause's message and end.
fn paused_day(s: &Slice, now: f64) -> DayReport {
    let mut day = s.shared.day.clone().unwrap_or_default();
    crate::quota::refused(&s.job, &mut day, now);
    crate::quota::report(&s.job, day, now, false)
}

impl Finished {
    /// An outcome that needs no more request (a batch line's).
    pub(crate) fn of(r: RowResult) -> Self {
        let f = Flight::reask(RowResult { reask: None, ..r.clone() }, 0, 0, 0);
        finished(&f, r)
    }
}

impl Flight {
    /// A row to ask again (from a batch line), at the attempt the line was.
    pub(crate) fn reask(r: RowResult, index: usize, sheet_row: u64, attempt: u32) -> Self {
        Flight {
            key: r.key,
            signature: r.signature,
            index,
            sheet_row,
            attempt,
            reask: r.reask,
            reserve_usd: 0.0,
            cost_usd: r.cost_usd,
        }
    }
}

fn finished(f: &Flight, r: RowResult) -> Finished {
    let status = match r.status {
        Status::Done => OutcomeStatus::Done,
        Status::Retry => OutcomeStatus::Retry,
        Status::Failed => OutcomeStatus::Failed,
        Status::Released | Status::Reask => OutcomeStatus::Released,
    };
    Finished {
        outcome: Outcome {
            key: f.key.clone(),
            signature: f.signature.clone(),
            status,
            note: r.note,
            not_before: r.not_before,
        },
        cells: r.cells,
    }
}

fn release(s: &mut Slice, rows: Vec<Flight>, why: &str) {
    for f in rows {
        let outcome = Outcome {
            key: f.key,
            signature: f.signature,
            status: OutcomeStatus::Released,
            note: why.to_owned(),
            not_before: 0.0,
        };
        s.pending.push(Finished { outcome, cells: Vec::new() });
    }
}

/// A re-ask round: settled and reserved under the lock like a wave; what the budget cannot
/// hold is released for a later wave.
fn journal(run: &mut Run, props: Props) -> Result<Vec<Command>> {
    let now = run.now;
    let execution = run.execution();
    let s = run.slice.as_mut().expect("loaded");
    let holder = s.round_holder.clone().unwrap_or(execution);
    s.merge(shared_of(&props)?, &holder, now);
    let flights = std::mem::take(&mut s.flights);
    let go = s.reserve_round(&holder, flights, now)?;
    let mut cmds = vec![Command::SetProps { set: vec![s.state_prop()] }, Command::Unlock];
    cmds.extend(if go { send(run)? } else { rounds_over(run) });
    Ok(cmds)
}

/// The rounds of a wave (or of a batch slice's re-asks) have their outcomes.
fn rounds_over(run: &mut Run) -> Vec<Command> {
    match run.slice.as_ref().and_then(|s| s.after_rounds) {
        Some(j) => super::batch::after_rounds(run, j),
        None => wave_top(run),
    }
}

/// The end of the slice: the day's trigger time and the money under the lock, the run's row in
/// the Batches sheet.
fn close(run: &mut Run) -> Vec<Command> {
    let s = run.slice.as_ref().expect("loaded");
    run.phase = Top::Slice(Phase::Closing);
    let mut cmds = vec![
        Command::Lock,
        Command::GetProps { keys: vec![P_STATE, P_ALERT_EMAIL, P_ALERTS, P_ALERT_PROBLEM] },
    ];
    if s.plan.is_some() {
        cmds.push(Command::Sheet {
            name: BATCH_SHEET.to_owned(),
            header: header(&crate::layout::BATCH_COLUMNS),
            hidden: false,
        });
        cmds.push(Command::Read { sheet: BATCH_SHEET.to_owned(), width: 1 });
    }
    cmds
}

fn closing(run: &mut Run, props: Props, batches: Value) -> Result<Vec<Command>> {
    let now = run.now;
    let holder = run.execution();
    let trigger_ms = if run.start.trigger { now - run.start.now } else { 0.0 };
    let s = run.slice.as_mut().expect("loaded");
    let fresh = shared_of(&props)?;
    s.merge(fresh, &holder, now);
    if trigger_ms > 0.0 {
        s.shared.day.get_or_insert_with(Default::default).record(now, 0, trigger_ms);
    }
    s.alert_problem = prop(&props, P_ALERT_PROBLEM);
    s.batches_pending = super::batch::pending(&props, now).0;
    let mut cmds = vec![Command::SetProps { set: vec![s.state_prop()] }];
    if let Some(plan) = &s.plan {
        let ids: Option<Block> = read(batches, "read")?;
        let record = text::batch_row(&s.job, &s.info, plan, s.stop.as_deref(), now);
        let ids = ids.unwrap_or_default();
        let at = ids.rows.iter().position(|r| matches!(r.first(), Some(Cell::Text(t)) if *t == s.info.id));
        let row = at.map_or(ids.first_row + ids.rows.len() as u64, |i| ids.first_row + i as u64);
        cmds.push(Command::Write {
            sheet: BATCH_SHEET.to_owned(),
            row,
            col: 1,
            values: vec![safe_row(record)],
            step: 0,
        });
    }
    cmds.extend([Command::Flush, Command::Unlock]);
    if let Some(stop) = &s.stop {
        cmds.push(Command::SetProps { set: vec![(P_STOP, Some(stop.clone()))] });
    }
    if let (Some(q), None) = (&s.pause, &s.stop) {
        let (until, why) = (q.pause_until.unwrap_or(now), q.message.clone().unwrap_or_default());
        record_pause(&mut s.info, now, until, &why);
        cmds.push(Command::SetProps {
            set: vec![
                (P_RUN, Some(to_string(&s.info))),
                (P_PROGRESS, Some(text::snapshot(s, now, Some((until, &why))))),
            ],
        });
        cmds.push(Command::Log { text: format!("rowbatch paused {why}") });
        cmds.push(Command::Triggers {
            delete: vec![CONTINUE],
            every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
            after: vec![(CONTINUE, (until - now).max(1000.0))],
        });
        let result = json!({ "run": s.info.id, "paused": { "until": until, "message": why }, "finished": false, "stop": null });
        cmds.push(Command::Done { result: wrap(run.reopened, result) });
        return Ok(cmds);
    }
    if let Some(plan) = &s.plan {
        s.alerts = text::alerts_due(
            &s.job,
            &s.info,
            plan,
            s.stop.as_deref(),
            prop(&props, P_ALERT_EMAIL),
            prop(&props, P_ALERTS),
        );
    }
    if s.alerts.is_some() {
        run.phase = Top::Slice(Phase::Alerting);
        cmds.push(Command::MayUse { scope: text::MAIL_SCOPE });
        return Ok(cmds);
    }
    cmds.extend(report_or_finish(run));
    Ok(cmds)
}

fn record_pause(info: &mut RunInfo, now: f64, until: f64, why: &str) {
    match info.pauses.last_mut() {
        Some(last) if last.until >= now => last.until = until,
        _ => info.pauses.push(Pause { at: now, until, reason: why.to_owned() }),
    }
    while info.pauses.len() > KEPT_PAUSES {
        let old = info.pauses.remove(0);
        info.earlier_pauses += 1;
        info.earlier_paused_ms += old.until - old.at;
    }
}

fn alerting(run: &mut Run, allowed: bool) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    let due = s.alerts.as_ref().expect("alerts due");
    if !allowed {
        let problem = text::mail_scope_problem(&due.to);
        s.alert_problem = Some(problem.clone());
        let mut cmds = vec![Command::SetProps { set: vec![(P_ALERT_PROBLEM, Some(problem))] }];
        cmds.extend(report_or_finish(run));
        return Ok(cmds);
    }
    run.phase = Top::Slice(Phase::Mailed);
    Ok(due
        .mails
        .iter()
        .map(|m| Command::Mail { to: due.to.clone(), subject: m.subject.clone(), body: m.body.clone() })
        .collect())
}

fn mailed(run: &mut Run, results: Vec<Value>) -> Vec<Command> {
    let s = run.slice.as_mut().expect("loaded");
    let due = s.alerts.take().expect("alerts due");
    let (sent, problem) = text::alerts_sent(due, &results);
    if problem.is_some() || s.alert_problem.is_some() {
        s.alert_problem = problem.clone();
    }
    let mut cmds = vec![Command::SetProps { set: vec![(P_ALERTS, Some(sent)), (P_ALERT_PROBLEM, problem)] }];
    cmds.extend(report_or_finish(run));
    cmds
}

fn report_or_finish(run: &mut Run) -> Vec<Command> {
    let s = run.slice.as_ref().expect("loaded");
    if s.plan.as_ref().is_some_and(|p| p.finished) || s.stop.is_some() {
        run.phase = Top::Slice(Phase::Reporting);
        let width = output_columns(&s.job).len();
        return vec![
            Command::Read { sheet: output_sheet(&s.job), width },
            Command::Read { sheet: PROGRESS_SHEET.to_owned(), width: PROGRESS_COLUMNS.len() },
        ];
    }
    finish(run)
}

fn reporting(run: &mut Run, outputs: Block, progress: Block) -> Vec<Command> {
    let now = run.now;
    let s = run.slice.as_mut().expect("loaded");
    let report = crate::report::report_with(
        &s.job,
        crate::report::ReportInput {
            spec: Value::Null,
            inputs: std::mem::take(&mut s.ledger.inputs),
            outputs,
            progress,
            run: Some(report_run(&s.job, &s.info, s.stop.clone())),
            now,
        },
    );
    let values = report.table.into_iter().map(|r| safe_row(r.to_vec())).collect();
    let mut cmds = vec![Command::Replace { sheet: REPORT_SHEET.to_owned(), values }];
    cmds.extend(finish(run));
    cmds
}

/// The sidebar's snapshot, kept in a Property and logged (`npm start` draws its bar from the log).
fn progress_of(s: &Slice, now: f64) -> [Command; 2] {
    let snapshot = text::snapshot(s, now, None);
    [
        Command::Log { text: format!("rowbatch progress {snapshot}") },
        Command::SetProps { set: vec![(P_PROGRESS, Some(snapshot))] },
    ]
}

/// What the report knows of the run beyond the sheets.
pub(crate) fn report_run(job: &Job, info: &RunInfo, stopped: Option<String>) -> crate::report::Run {
    crate::report::Run {
        id: info.id.clone(),
        started_at: info.started_at,
        cost_usd: info.cost_usd,
        budget_usd: job.spec.budget.as_ref().map(|b| b.max_usd),
        stopped,
        pauses: info.pauses.clone(),
        earlier_pauses: info.earlier_pauses,
        earlier_paused_ms: info.earlier_paused_ms,
    }
}

/// The sidebar's snapshot, the next slice (or none), and the result.
fn finish(run: &mut Run) -> Vec<Command> {
    let now = run.now;
    let s = run.slice.as_ref().expect("loaded");
    let plan = s.plan.as_ref();
    let ended = plan.is_none_or(|p| p.finished) || s.stop.is_some();
    let mut cmds = Vec::new();
    if plan.is_some() {
        cmds.extend(progress_of(s, now));
    }
    cmds.push(if ended && s.batches_pending {
        // The run is over; the heartbeat stays while provider batches are pending.
        Command::Triggers {
            delete: vec![CONTINUE],
            every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
            after: Vec::new(),
        }
    } else if ended {
        super::flows::end_triggers()
    } else {
        let wait = plan.and_then(|p| p.next_at).map_or(1000.0, |at| (at - now).max(1000.0));
        Command::Triggers {
            delete: vec![CONTINUE],
            every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
            after: vec![(CONTINUE, wait)],
        }
    });
    let result = json!({
        "run": s.info.id,
        "finished": plan.is_some_and(|p| p.finished),
        "stop": s.stop,
        "counts": plan.map(|p| crate::to_json::to_value(&p.counts)),
        "summary": crate::to_json::to_value(&s.summary),
        "nextAt": plan.and_then(|p| p.next_at),
    });
    cmds.push(Command::Log { text: format!("rowbatch {result}") });
    cmds.push(Command::Done { result: wrap(run.reopened, result) });
    cmds
}

fn wrap(reopened: Option<usize>, result: Value) -> Value {
    match reopened {
        Some(n) => json!({ "reopened": n, "run": result }),
        None => result,
    }
}
