//! One time slice of the realtime run: waves under the lock, sent with `fetchAll`, until the
//! job is done, the slice's time is up, a daily quota is spent, or the run must stop.
//!
//! Each wave is one locked section: read the output ledger (and the progress ledger when
//! another writer has touched it), settle the money of the last round, write the last wave's
//! outcomes, plan the next wave on what the sheets now hold, record its reservation and write
//! its leases — then send it outside the lock. Re-asks go out in rounds of their own, each with
//! its reservation recorded first.

use super::close::*;
use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::rounds::*;
use super::shared::Shared;
use super::text;
use super::wave::*;
use super::*;
use crate::cell::{Cell, sheet_text};
use crate::keys::key_block;
use crate::layout::{PROGRESS_COLUMNS, output_columns};
use crate::ledger::Block;
use crate::plan::{Plan, PlanInput};
use crate::provider::{BuildInput, Item, Reask, build_requests_with};
use crate::quota::DayReport;
use crate::ratelimit::Limiter;
use crate::reconcile::Outcome;
use crate::report::Pause;
use crate::spec::Job;
use crate::to_json::to_string;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The output sheet's `_status` column (1-based).
pub(crate) const STATUS_COL: u64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Loaded,
    Ready,
    WaveLocked,
    WaveRead {
        progress: bool,
    },
    Fetched,
    Journal,
    Closing,
    Alerting,
    Mailed,
    Reporting,
    /// A round of workers has answered (see [`super::fan`]).
    Spawned,
}

/// `ROWBATCH_RUN`: the run this slice belongs to.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RunInfo {
    pub id: String,
    pub started_at: f64,
    /// What this run's requests cost, as the slices settled it.
    pub cost_usd: f64,
    /// The run's first request got an answer from the provider (any answer but a refusal that
    /// would fail every row): until then each wave is that one row alone, the canary.
    pub canary_passed: bool,
    /// "Run selected rows": the sheet rows, first to last, the run is limited to.
    pub rows: Option<[u64; 2]>,
    /// `--ids`: the keys the run is limited to.
    pub keys: Option<Vec<String>>,
    /// `--limit`: how many rows the run may start; `started` are those it has, by key.
    pub limit: Option<u32>,
    pub started: Vec<String>,
    pub pauses: Vec<Pause>,
    pub earlier_pauses: u32,
    pub earlier_paused_ms: f64,
}

impl RunInfo {
    pub fn new(id: String, now: f64) -> Self {
        Self { id, started_at: now, ..Self::default() }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
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
    pub(crate) key: String,
    pub(crate) signature: String,
    pub(crate) index: usize,
    pub(crate) sheet_row: u64,
    pub(crate) attempt: u32,
    pub(crate) reask: Option<Reask>,
    pub(crate) reserve_usd: f64,
    pub(crate) cost_usd: f64,
}

impl Flight {
    /// A planned row's first request of this attempt.
    pub(crate) fn of(p: &crate::plan::Send) -> Self {
        Flight {
            key: p.key.clone(),
            signature: p.signature.clone(),
            index: p.index,
            sheet_row: p.sheet_row,
            attempt: p.attempt,
            reask: None,
            reserve_usd: 0.0,
            cost_usd: 0.0,
        }
    }
}

/// An outcome waiting for the next locked section, with its answer cells.
pub(crate) struct Finished {
    pub(crate) outcome: Outcome,
    pub(crate) cells: Vec<Cell>,
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
    /// What this execution's requests cost that `ROWBATCH_RUN` does not hold yet: folded into the
    /// record read under the lock, so slices working at once lose none of each other's.
    pub(crate) cost_delta: f64,
    /// The canary's state this execution decided (passed, or reset by a resume), not yet recorded.
    pub(crate) canary: Option<bool>,
    /// The rounds of workers this execution started (see [`super::fan`]).
    pub(crate) fan: super::fan::Fan,
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
                rows: None,
                keys: None,
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
            cost_delta: 0.0,
            canary: None,
            fan: Default::default(),
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

    /// The run record just read under the lock, with what this execution added since it last
    /// wrote it: its cost, its canary decision, the rows it started (`--limit`). A record of
    /// another run (one started meanwhile) is the one kept.
    pub(crate) fn merge_info(&mut self, text: Option<String>) {
        let fresh: Option<RunInfo> = text
            .and_then(|t| crate::decode::value(t.as_bytes()).ok())
            .and_then(|v| crate::read::from_value(v).ok());
        // Kept in `info` as it was spent; added to a fresh record once.
        let delta = std::mem::take(&mut self.cost_delta);
        if let Some(fresh) = fresh {
            let mine = std::mem::replace(&mut self.info, fresh);
            self.info.cost_usd += delta;
            if self.info.id == mine.id {
                for k in mine.started {
                    if !self.info.started.contains(&k) {
                        self.info.started.push(k);
                    }
                }
            }
        }
        if let Some(c) = self.canary.take() {
            self.info.canary_passed = c;
        }
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

    /// A worker's summary (its execution's answer) added to this slice's.
    pub(crate) fn add_worker(&mut self, w: &Value) {
        let n = |k: &str| w.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
        self.summary.sent += n("sent");
        self.summary.written += n("written");
        self.summary.failed += n("failed");
        self.summary.retries += n("retries");
        self.summary.waves += n("waves");
        self.summary.cost_usd += w.get("costUsd").and_then(Value::as_f64).unwrap_or(0.0);
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

    /// The output sheet's header (row 1 as read) against this job's layout: `Err` with why it is
    /// another layout's; the header's write when the row is blank (a sheet made empty by hand, or
    /// by an execution killed between making the sheet and writing its header); else nothing.
    pub(crate) fn output_header(&self, block: Value) -> Result<std::result::Result<Option<Command>, String>> {
        let block = read::<Option<Block>>(block, "read")?.unwrap_or_default();
        let row = block.rows.first().map_or(&[][..], Vec::as_slice);
        let out = output_sheet(&self.job);
        if row.iter().all(|c| *c == Cell::Empty) {
            let values = vec![header(&output_columns(&self.job))];
            return Ok(Ok(Some(Command::Write { sheet: out, row: 1, col: 1, values, step: 0 })));
        }
        Ok(crate::layout::header_mismatch(&self.job, &out, row).map_or(Ok(None), Err))
    }

    pub(crate) fn has_rows(&self) -> bool {
        !self.header.is_empty()
    }

    /// The requests for rows in flight (first asks or re-asks).
    pub(crate) fn requests(&self, flights: &[Flight]) -> Result<crate::provider::Built> {
        let items = flights
            .iter()
            .map(|f| Item {
                key: f.key.clone(),
                signature: f.signature.clone(),
                row: self.rows[f.index].clone(),
                reask: f.reask.clone(),
            })
            .collect();
        build_requests_with(&self.job, &BuildInput { spec: Value::Null, header: self.header.clone(), items })
    }

    /// A round of re-asks reserved under `holder` (the lock held, the state fresh): those the
    /// budget cannot hold are released for a later wave. Whether any is left to send.
    pub(crate) fn reserve_round(&mut self, holder: &str, flights: Vec<Flight>, now: f64) -> Result<bool> {
        if flights.is_empty() {
            return Ok(false);
        }
        let built = self.requests(&flights)?;
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
        Phase::Ready => {
            // The web app's secret is asked for last, and only when the run may start workers.
            let mut got = got.into_iter();
            let mut next = || got.next().unwrap_or(Value::Null);
            let (has_key, input, header, secret) = (next(), next(), next(), next());
            ready(run, has_key, input, header, secret)
        }
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
        Phase::Spawned => super::fan::spawned(run, take(0)),
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
    // A worker works a run that is on, and only that.
    if run.start.flow == super::Flow::Work && prop(&props, P_RUN).is_none() {
        return Ok(vec![Command::Done { result: json!({ "run": null, "finished": true, "summary": null }) }]);
    }
    let mut s = Slice::new(job);
    s.info = prop(&props, P_RUN)
        .and_then(|t| crate::decode::value(t.as_bytes()).ok())
        .and_then(|v| crate::read::from_value(v).ok())
        .unwrap_or_else(|| RunInfo::new(run.run_id(), run.now));
    // Resumed (after a stop for a wrong key or model, as often as not): the first row goes alone again.
    if run.start.flow == super::Flow::Resume {
        s.info.canary_passed = false;
        s.canary = Some(false);
    }
    s.shared = shared_of(&props)?;
    s.ledger.execution = run.execution();
    s.ledger.rows = s.info.rows;
    s.ledger.keys = s.info.keys.clone();
    let quota =
        crate::quota::report(&s.job, s.shared.day.clone().unwrap_or_default(), run.now, run.start.trigger);
    s.deadline = quota.deadline;
    if run.start.flow == super::Flow::Work {
        s.deadline = s.deadline.min(super::fan::worker_deadline(run.now));
    }
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
    // Workers need the web app's secret (deployed, `fanOut`, is the host's to say).
    let fan_out = run.start.fan_out && run.start.flow != super::Flow::Work;
    cmds.extend([
        Command::HasKey { name: key_name(&s.job).to_owned() },
        Command::ReadInput {
            sheet: s.job.spec.input.sheet.clone(),
            header_row: u64::from(s.job.spec.input.header_row),
        },
        Command::lock(),
        Command::Sheet { name: out.clone(), header: header(&output_columns(&s.job)), hidden: false },
        Command::header_row(out, output_columns(&s.job).len()),
        Command::Sheet { name: PROGRESS_SHEET.to_owned(), header: header(&PROGRESS_COLUMNS), hidden: true },
        Command::Unlock,
    ]);
    if fan_out {
        cmds.push(Command::HasKey { name: super::fan::P_WEBAPP_SECRET.to_owned() });
    }
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InputBlock {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub first_row: u64,
}

fn ready(
    run: &mut Run,
    has_key: Value,
    input: Value,
    out_header: Value,
    secret: Value,
) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    let mut cmds: Vec<Command> = Vec::new();
    if run.start.fan_out && run.start.flow != super::Flow::Work && secret != true {
        s.fan.alone = Some(super::fan::NO_SECRET.to_owned());
        cmds.push(super::fan::record(s, run.now, 0));
    }
    if let Some(fail) = s.load_input(has_key, input)? {
        return Ok(vec![fail]);
    }
    let write_header = match s.output_header(out_header)? {
        Ok(write) => write,
        Err(message) => return Ok(vec![super::flows::end_triggers(), Command::Fail { message }]),
    };
    if let Some(keys) = s.info.keys.as_ref().filter(|_| run.start.flow == super::Flow::Run) {
        let missing: Vec<&str> =
            keys.iter().filter(|k| !s.ledger.inputs.keys.contains(k)).map(String::as_str).take(10).collect();
        if !missing.is_empty() {
            let message = format!("rowbatch: no row of the input sheet has the key {}", missing.join(", "));
            return Ok(vec![super::flows::end_triggers(), Command::Fail { message }]);
        }
    }
    let end = s.ledger.inputs.first_row + s.ledger.inputs.keys.len() as u64;
    if let Some([first, last]) = s.info.rows.filter(|[first, _]| *first >= end)
        && run.start.flow == super::Flow::Run
    {
        let message =
            format!("rowbatch: rows {first} to {last}: the input sheet's rows end at row {}", end - 1);
        return Ok(vec![super::flows::end_triggers(), Command::Fail { message }]);
    }
    cmds.extend(write_header);
    cmds.extend(wave_top(run));
    Ok(cmds)
}
