//! The run as a sans-IO state machine: the host performs commands, the driver decides.
//!
//! A host (Apps Script, the local runtime, a test) makes a [`Run`] for one execution with
//! [`Start`] — which entry point, the clock, a random seed — then feeds it [`Event`]s: what the
//! last [`Command`]s returned. Every decision is here: the wave loop, the re-ask cut-off, the
//! money journal ([`Shared`]), quota pauses, alerts, the sheets' rows and cells, the triggers.
//! The compiled job and keyed rows stay in the driver for the whole execution; the sheets stay
//! the source of truth, so an execution killed at any command is replaced by one that reads
//! them again. Given the same start and events, a run issues the same commands on every host:
//! recorded runs replay as golden vectors.

mod batch;
mod close;
mod dry;
mod fan;
mod flows;
mod key;
mod protocol;
mod rounds;
mod shared;
mod slice;
mod text;
mod wave;

pub use fan::{P_WORKERS, WORKER_SLICE_MS};
pub use protocol::{Command, Event};
pub use shared::{Reservation, Shared};

use crate::error::{Error, Problem, Result};
use serde::Deserialize;
use serde_json::Value;

/// The hidden sheet whose A1 holds the job spec.
pub const SPEC_SHEET: &str = "_rowbatch_spec";
/// The hidden progress ledger (leases, attempts).
pub const PROGRESS_SHEET: &str = "_rowbatch_progress";
pub const BATCH_SHEET: &str = "Batches";
/// The user-facing log, one row per request outcome.
pub const LOG_SHEET: &str = "Progress";
pub const REPORT_SHEET: &str = "Report";

/// The host's entry points that triggers call.
pub const CONTINUE: &str = "rowbatchContinue";
pub const HEARTBEAT: &str = "rowbatchHeartbeat";

/// Script Properties.
pub const P_RUN: &str = "ROWBATCH_RUN";
pub const P_STATE: &str = "ROWBATCH_STATE";
pub const P_STOP: &str = "ROWBATCH_STOP";
pub const P_PROGRESS: &str = "ROWBATCH_PROGRESS";
pub const P_LEDGER: &str = "ROWBATCH_LEDGER";
pub const P_ALERT_EMAIL: &str = "ROWBATCH_ALERT_EMAIL";
pub const P_ALERTS: &str = "ROWBATCH_ALERTS";
pub const P_ALERT_PROBLEM: &str = "ROWBATCH_ALERT_PROBLEM";

/// A watchdog continuation set past the 6-minute limit, so a live slice is never doubled by
/// its own watchdog.
pub const WATCHDOG_MS: f64 = 7.0 * 60_000.0;
/// A run whose last slice reported longer ago than this is continued by the heartbeat.
pub const STALE_MS: f64 = 8.0 * 60_000.0;
/// The heartbeat's period while a run is on.
pub const HEARTBEAT_MINUTES: u32 = 10;

/// Which entry point the execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// A new run: a new id, then the first slice.
    Run,
    /// A slice of the run as the sheets say it is (a trigger, or by hand).
    Continue,
    /// The stop flag cleared, then a slice.
    Resume,
    /// Continues a run whose slices went silent; nothing while one is alive or paused.
    Heartbeat,
    /// Sets the stop flag: the running slice stops before its next wave, and none follows.
    Stop,
    /// Re-opens every failed output row, then resumes.
    RetryFailed,
    /// Where the job stands, from the sheets; nothing is sent or written.
    Status,
    /// The run report, made from the sheets and written to the Report sheet.
    Report,
    /// Submits the due rows as provider batches.
    SubmitBatch,
    /// Polls the pending batches and ingests those that ended.
    PollBatches,
    /// Cancels the pending batches.
    CancelBatches,
    /// Asks the provider, for nothing, whether the key and the model will do.
    CheckKey,
    /// What a run would send now and what it would cost; nothing is sent or written.
    DryRun,
    /// A provider batch's result files, as the provider keeps them (`batch` names it).
    BatchFile,
    /// A worker: one short slice of waves started by an orchestrating slice through the web
    /// app (see [`fan`]); it never touches triggers, alerts or the report.
    Work,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Start {
    pub flow: Flow,
    pub now: f64,
    /// 32 hex digits from the host's `newSeed()`: ids and retry jitter come from it.
    pub seed: String,
    /// Started by a trigger: its runtime counts against the day's trigger quota.
    #[serde(default)]
    pub trigger: bool,
    /// `run` and `dryRun`: only these sheet rows, first to last (the run keeps them).
    #[serde(default)]
    pub rows: Option<[u64; 2]>,
    /// `run` and `dryRun`: only the rows with these keys (`rowbatch run --ids`).
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// `run` and `dryRun`: at most this many rows (`rowbatch run --limit`): the first that are
    /// due; the run then answers those (retries included) and is finished.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The host can start workers: the script is deployed as a web app.
    #[serde(default)]
    pub fan_out: bool,
    /// `batchFile`: the provider's batch id.
    #[serde(default)]
    pub batch: Option<String>,
}

/// A recorded execution: how it started and what its host observed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recorded {
    pub start: Start,
    pub events: Vec<Event>,
}

/// Replays a recorded execution: the commands of each step, the first from `begin`. The same
/// recording gives the same commands on every host (golden vectors in tests/vectors/run.json).
pub fn replay(recorded: Recorded) -> Result<Vec<Vec<Command>>> {
    let mut run = Run::new(recorded.start)?;
    let mut steps = vec![run.begin()];
    for event in recorded.events {
        steps.push(run.step(event)?);
    }
    Ok(steps)
}

/// One execution's driver.
pub struct Run {
    pub(crate) start: Start,
    pub(crate) now: f64,
    pub(crate) phase: flows::Phase,
    /// Indices of the last commands whose results the next step reads.
    wanted: Vec<usize>,
    pub(crate) slice: Option<Box<slice::Slice>>,
    pub(crate) batch: Option<Box<batch::Work>>,
    /// Re-opened rows, reported around the slice's result (`RetryFailed`).
    pub(crate) reopened: Option<usize>,
    seeds: u32,
    done: bool,
}

impl Run {
    pub fn new(start: Start) -> Result<Self> {
        if start.seed.len() < 24 || !start.seed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(Problem::new("seed", "at least 24 hex digits (newSeed())")));
        }
        Ok(Self {
            now: start.now,
            start,
            phase: flows::Phase::Begin,
            wanted: Vec::new(),
            slice: None,
            batch: None,
            reopened: None,
            seeds: 0,
            done: false,
        })
    }

    /// The first commands.
    pub fn begin(&mut self) -> Vec<Command> {
        let cmds = flows::begin(self);
        self.emit(cmds)
    }

    /// The next commands, from what the last ones returned.
    pub fn step(&mut self, event: Event) -> Result<Vec<Command>> {
        if self.done {
            return Err(Error::invalid(Problem::new("event", "no event: the run has ended")));
        }
        if event.results.len() < self.wanted.iter().max().map_or(0, |m| m + 1) {
            return Err(Error::invalid(Problem::new(
                "results",
                format!("one result per command ({} or more)", self.wanted.iter().max().map_or(0, |m| m + 1)),
            )));
        }
        let mut results = event.results;
        let picked: Vec<Value> = self.wanted.iter().map(|&i| std::mem::take(&mut results[i])).collect();
        self.now = event.now.max(self.now);
        let cmds = flows::step(self, picked)?;
        Ok(self.emit(cmds))
    }

    fn emit(&mut self, mut cmds: Vec<Command>) -> Vec<Command> {
        // The run's triggers belong to its chain of slices: a worker leaves them alone.
        if self.start.flow == Flow::Work {
            cmds.retain(|c| !matches!(c, Command::Triggers { .. }));
        }
        self.wanted = cmds.iter().enumerate().filter(|(_, c)| returns(c)).map(|(i, _)| i).collect();
        self.done = matches!(cmds.last(), Some(Command::Done { .. } | Command::Fail { .. }));
        cmds
    }

    /// A fresh seed for retry jitter, derived from the start's: a replay draws the same ones.
    pub(crate) fn seed(&mut self) -> String {
        self.seeds += 1;
        format!("{}{:08x}", self.start.seed, self.seeds)
    }

    pub(crate) fn run_id(&self) -> String {
        self.start.seed[..12].to_owned()
    }

    pub(crate) fn execution(&self) -> String {
        self.start.seed[12..24].to_owned()
    }
}

fn returns(c: &Command) -> bool {
    matches!(
        c,
        Command::GetProps { .. }
            | Command::ReadCell { .. }
            | Command::ReadInput { .. }
            | Command::Read { .. }
            | Command::HasKey { .. }
            | Command::Fetch { .. }
            | Command::Call { .. }
            | Command::MayUse { .. }
            | Command::Mail { .. }
            | Command::User
            | Command::Workers { .. }
    )
}

/// A result the host gave in the wrong shape: the execution cannot go on.
pub(crate) fn host_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid(Problem::new(what, format!("what the host's command returns ({e})")))
}

/// Reads one result as `T`.
pub(crate) fn read<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    crate::read::from_value(v).map_err(|e| host_error(what, e))
}
