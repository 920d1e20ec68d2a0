//! The wave planner: which rows to send now, and why the others are not sent.
//!
//! Pure: the host passes the keyed input block, the ledger as the sheets hold it, the clock, the
//! request/token/budget capacity and the per-row reservation. The host writes the returned
//! leases before it sends anything, under the script lock, so a second execution planning next
//! sees them.

use crate::error::Result;
use crate::keys::KeyedRows;
use crate::layout::PROGRESS_COLUMNS;
use crate::ledger::{Block, Ledger, Progress, RowWrite, Status};
use crate::spec::{Job, OnEdit};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    pub spec: Value,
    pub inputs: KeyedRows,
    /// The output sheet's ledger columns.
    #[serde(default)]
    pub outputs: Block,
    #[serde(default)]
    pub progress: Block,
    /// This execution's id: leases carry it.
    pub execution: String,
    /// Milliseconds since the epoch, from the host's clock.
    pub now: f64,
    /// When this execution must have finished writing (start + time slice), in ms.
    pub deadline: f64,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub capacity: Capacity,
    #[serde(default)]
    pub reserve: Reserve,
    /// Planning a provider Batch API submission: every due row that the budget allows (no wave
    /// size, no time slice), leased until the batch must have ended.
    #[serde(default)]
    pub batch: bool,
    /// At most this many rows (a batch part's share of the due rows).
    #[serde(default)]
    pub max_rows: Option<u32>,
    /// Only the sheet rows from the first to the last of these are sent ("Run selected rows");
    /// the counts still cover the whole sheet, and the plan is finished when this range is.
    #[serde(default)]
    pub rows: Option<[u64; 2]>,
    /// Only the rows with these keys are sent (`rowbatch run --ids`), like `rows`.
    #[serde(default)]
    pub keys: Option<Vec<String>>,
}

/// A batch lease outlives the providers' 24-hour completion window, with room to ingest.
pub const BATCH_LEASE_MS: f64 = 26.0 * 3_600_000.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Timing {
    /// The slowest request a wave should expect. UrlFetch gives up after about 60 s.
    pub slowest_request_ms: f64,
    /// Writing a wave's outputs and progress (two `setValues` and a lock).
    pub write_ms: f64,
    pub margin_ms: f64,
    /// How long a lease holds. Longer than one Apps Script execution (6 min) can live, so a lease
    /// only lapses when its execution is surely gone.
    pub lease_ms: f64,
    /// Requests the host's `fetchAll` runs at once (0: all of them). With fewer lanes than
    /// requests, a wave takes as many request times as its longest lane holds.
    pub lanes: u32,
    /// What one place in a lane takes, as observed (`capacity` gives it from the limiter).
    pub lane_ms: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            slowest_request_ms: 60_000.0,
            write_ms: 3_000.0,
            margin_ms: 5_000.0,
            lease_ms: 420_000.0,
            lanes: 0,
            lane_ms: 0.0,
        }
    }
}

impl Timing {
    /// How long a wave of `n` requests may take: the longest lane's requests before its last at
    /// the observed pace, and the last one at the slowest a request may be.
    pub fn wave_ms(&self, n: u64) -> f64 {
        let per_lane = if self.lanes == 0 { 1 } else { n.div_ceil(u64::from(self.lanes)) };
        per_lane.saturating_sub(1) as f64 * self.lane_ms + self.slowest_request_ms
    }
}

/// What may still be spent in this wave; absent means no limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capacity {
    pub requests: Option<u64>,
    pub tokens: Option<u64>,
    /// Budget headroom: the budget minus what is spent and what other waves have reserved.
    pub usd: Option<f64>,
}

/// The worst case of one row: prompt tokens plus the maximum output, and its price.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reserve {
    pub tokens: u64,
    pub usd: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Due retries first (earliest first), then new rows in sheet order.
    pub send: Vec<Send>,
    /// Leases for what is sent, and progress rows to clear; write before sending.
    pub progress_writes: Vec<RowWrite>,
    /// Output status cells to change (`done` ⇄ `stale`) as inputs are edited or restored.
    pub marks: Vec<Mark>,
    /// Sheet rows whose output is written and current.
    pub done: Vec<u64>,
    pub stale: Vec<Stale>,
    pub duplicates: Vec<Duplicate>,
    pub waiting: Vec<Waiting>,
    pub in_flight: Vec<InFlight>,
    pub failed: Vec<Failed>,
    /// Sheet rows excluded by keying (blank, invalid, no key, repeated key) that have no output.
    pub excluded: Vec<u64>,
    pub counts: Counts,
    pub reserved: Reserved,
    /// Why the wave is not bigger.
    pub stop: Stop,
    /// Every key is done, failed for good, a duplicate or excluded: nothing will ever be sent.
    pub finished: bool,
    /// The earliest time (ms) something not sendable now becomes sendable: a retry falls due or
    /// a lease lapses. The host schedules its continuation for it.
    pub next_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Send {
    pub index: usize,
    pub sheet_row: u64,
    pub key: String,
    pub signature: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// The output row this answer will overwrite (a reprocessed edit or a retried failure).
    pub replace_row: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    pub row: u64,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stale {
    pub sheet_row: u64,
    pub key: String,
    pub output_row: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Duplicate {
    pub sheet_row: u64,
    pub key: String,
    /// The key whose row or output stands for this one.
    pub of: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub sheet_row: u64,
    pub key: String,
    pub until: f64,
    pub attempts: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    pub sheet_row: u64,
    pub key: String,
    pub by: String,
    pub until: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    pub sheet_row: u64,
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Counts {
    pub rows: usize,
    pub done: usize,
    pub stale: usize,
    pub failed: usize,
    pub duplicates: usize,
    pub excluded: usize,
    pub waiting: usize,
    pub in_flight: usize,
    /// Rows that could be sent now, before capacity, budget and time are applied.
    pub due: usize,
    pub sent: usize,
    /// Outputs made with another version of the spec (kept; counted so the report can say).
    pub older_spec: usize,
    /// Outputs whose key is no longer in the input.
    pub orphan_outputs: usize,
    pub duplicate_outputs: usize,
    pub unreadable_outputs: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reserved {
    pub requests: u64,
    pub tokens: u64,
    pub usd: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stop {
    /// Every due row is in the wave (or none is due).
    Drained,
    WaveSize,
    Requests,
    Tokens,
    Budget,
    /// Not enough time left in this execution for a wave to finish and be written.
    Time,
}

pub fn plan_wave(input: PlanInput) -> Result<Plan> {
    let job = Job::compile(&input.spec)?;
    Ok(plan(&job, &input))
}

/// How far a row got; the lowest rank in a duplicate group stands for the group, so sorting
/// the sheet never moves work to a row that has not started.
fn rank(ledger: &Ledger, key: &str, sig: &str) -> u8 {
    match (ledger.outputs.get(key), ledger.progress.get(key)) {
        (Some(o), _) if o.signature == sig && o.status.is_answer() => 0,
        (Some(_), _) => 1,
        (None, Some(_)) => 2,
        (None, None) => 3,
    }
}

struct Candidate {
    index: usize,
    retry: bool,
    not_before: f64,
    attempts: u32,
    replace_row: Option<u64>,
}

/// [`plan_wave`] for a compiled job (`input.spec` is not read).
pub fn plan(job: &Job, input: &PlanInput) -> Plan {
    let mut ledger = Ledger::read(&input.outputs, &input.progress, &job.version);
    let rows = &input.inputs;
    let now = input.now;
    let limits = &job.spec.limits;
    let keyed = job.spec.input.key.is_some();
    let excluded: HashSet<u64> = rows.excluded.iter().map(|e| e.sheet_row).collect();
    let mut plan = Plan {
        send: Vec::new(),
        progress_writes: Vec::new(),
        marks: Vec::new(),
        done: Vec::new(),
        stale: Vec::new(),
        duplicates: Vec::new(),
        waiting: Vec::new(),
        in_flight: Vec::new(),
        failed: Vec::new(),
        excluded: Vec::new(),
        counts: Counts { rows: rows.keys.len(), ..Counts::default() },
        reserved: Reserved::default(),
        stop: Stop::Drained,
        finished: false,
        next_at: None,
    };

    // In a keyed sheet, rows with the same content but different keys (keying found them): one
    // stands for them all.
    let mut standing: HashMap<&str, (u8, usize)> = HashMap::default();
    if keyed {
        for g in &rows.duplicate_groups {
            for &sheet_row in &g.sheet_rows {
                let i = sheet_row.wrapping_sub(rows.first_row) as usize;
                let Some(key) = rows.keys.get(i).filter(|k| !k.is_empty()) else { continue };
                if !excluded.contains(&sheet_row) {
                    let r = (rank(&ledger, key, &rows.signatures[i]), i);
                    standing.entry(g.signature.as_str()).and_modify(|b| *b = (*b).min(r)).or_insert(r);
                }
            }
        }
    }

    let mut matched = 0;
    let mut open = Vec::new();
    let mut clear: Vec<&str> = Vec::new();
    for (i, (key, sig)) in rows.keys.iter().zip(&rows.signatures).enumerate() {
        let sheet_row = rows.first_row + i as u64;
        if key.is_empty() {
            plan.excluded.push(sheet_row);
            continue;
        }
        let progress = ledger.progress.get(key.as_str());
        if let Some(out) = ledger.outputs.get(key.as_str()) {
            matched += 1;
            if out.older_spec && out.status.is_answer() {
                plan.counts.older_spec += 1;
            }
            let edited = out.signature != sig.as_str();
            match (out.status, edited) {
                (Status::Failed, false) => {
                    plan.failed.push(Failed { sheet_row, key: key.clone(), reason: out.note.clone() });
                    clear.extend(progress.map(|_| key.as_str()));
                    continue;
                }
                (Status::Done | Status::Stale, false) => {
                    if out.status == Status::Stale {
                        plan.marks.push(Mark { row: out.row, status: Status::Done });
                    }
                    plan.done.push(sheet_row);
                    clear.extend(progress.map(|_| key.as_str()));
                    continue;
                }
                (Status::Done | Status::Stale, true) if job.spec.input.on_edit == OnEdit::Keep => {
                    if out.status == Status::Done {
                        plan.marks.push(Mark { row: out.row, status: Status::Stale });
                    }
                    plan.stale.push(Stale { sheet_row, key: key.clone(), output_row: out.row });
                    continue;
                }
                (Status::Done | Status::Stale, true)
                    if progress.is_some_and(|p| p.attempts >= limits.attempts_per_row) =>
                {
                    // Reprocessing failed for good; the old output stays.
                    let reason = progress.map(|p| p.last_error.clone()).unwrap_or_default();
                    plan.failed.push(Failed { sheet_row, key: key.clone(), reason });
                    continue;
                }
                // Edited after it failed, re-opened by "Retry failed rows", or answered and
                // edited when edits are reprocessed: send again, the answer takes the old row.
                _ => {}
            }
        }
        if excluded.contains(&sheet_row) {
            plan.excluded.push(sheet_row);
            continue;
        }
        if let Some(&(_, first)) = standing.get(sig.as_str()).filter(|(_, first)| *first != i) {
            let of = rows.keys[first].clone();
            plan.duplicates.push(Duplicate { sheet_row, key: key.clone(), of });
            continue;
        }
        if input.rows.is_some_and(|[first, last]| sheet_row < first || sheet_row > last) {
            continue;
        }
        if input.keys.as_ref().is_some_and(|ks| !ks.contains(key)) {
            continue;
        }
        open.push(i);
    }
    plan.counts.orphan_outputs = ledger.outputs.len() - matched;

    // Content already answered under another key, whose row may be gone from the input: looked
    // up for the open rows only, which near the end of a large job are few.
    let mut answered: HashMap<&str, Option<&str>> = HashMap::default();
    if keyed {
        answered.extend(open.iter().map(|&i| (rows.signatures[i].as_str(), None)));
        for (k, o) in &ledger.outputs {
            if let Some(slot @ None) = answered.get_mut(o.signature.as_ref())
                && o.status.is_answer()
            {
                *slot = Some(k.as_ref());
            }
        }
    }
    let mut candidates = Vec::new();
    for i in open {
        let (key, sheet_row) = (&rows.keys[i], rows.first_row + i as u64);
        if let Some(Some(of)) = answered.get(rows.signatures[i].as_str()).filter(|of| **of != Some(key)) {
            plan.duplicates.push(Duplicate { sheet_row, key: key.clone(), of: (*of).to_owned() });
            continue;
        }
        let replace_row = ledger.outputs.get(key.as_str()).map(|o| o.row);
        let (mut attempts, mut not_before) = (0, 0.0);
        if let Some(p) = ledger.progress.get(key.as_str()) {
            if p.leased(now) {
                let (by, until) = (p.leased_by.clone(), p.lease_until);
                plan.in_flight.push(InFlight { sheet_row, key: key.clone(), by, until });
                continue;
            }
            // Attempts used up with no failure on record: the failure row was deleted by hand,
            // which is how a user asks for another round.
            if p.attempts < limits.attempts_per_row {
                (attempts, not_before) = (p.attempts, p.not_before);
            }
            if not_before > now {
                plan.waiting.push(Waiting { sheet_row, key: key.clone(), until: not_before, attempts });
                continue;
            }
        }
        candidates.push(Candidate { index: i, retry: attempts > 0, not_before, attempts, replace_row });
    }

    // Due retries first, longest waiting first; then new rows in sheet order.
    candidates.sort_unstable_by(|a, b| {
        b.retry.cmp(&a.retry).then(a.not_before.total_cmp(&b.not_before)).then(a.index.cmp(&b.index))
    });
    plan.counts.due = candidates.len();
    let wave_size = if input.batch { u32::MAX } else { limits.wave_size };
    let wave_size = input.max_rows.map_or(wave_size, |m| m.min(wave_size));
    select(&mut plan, &candidates, input, wave_size, &mut ledger);

    for key in clear {
        plan.progress_writes.extend(ledger.clear_progress(key));
    }
    for row in std::mem::take(&mut ledger.extra_progress) {
        plan.progress_writes.push(RowWrite::clear(row, PROGRESS_COLUMNS.len()));
    }

    let c = &mut plan.counts;
    c.done = plan.done.len();
    c.stale = plan.stale.len();
    c.failed = plan.failed.len();
    c.duplicates = plan.duplicates.len();
    c.excluded = plan.excluded.len();
    c.waiting = plan.waiting.len();
    c.in_flight = plan.in_flight.len();
    c.sent = plan.send.len();
    c.duplicate_outputs = ledger.duplicate_outputs.len();
    c.unreadable_outputs = ledger.unreadable_outputs.len();
    plan.finished = c.due == 0 && c.waiting == 0 && c.in_flight == 0;
    plan.next_at =
        plan.waiting.iter().map(|w| w.until).chain(plan.in_flight.iter().map(|f| f.until)).reduce(f64::min);
    plan
}

fn select<'a>(
    plan: &mut Plan,
    candidates: &[Candidate],
    input: &'a PlanInput,
    wave_size: u32,
    ledger: &mut Ledger<'a>,
) {
    let t = &input.timing;
    if candidates.is_empty() {
        return;
    }
    if !input.batch && input.now + t.slowest_request_ms + t.write_ms + t.margin_ms > input.deadline {
        plan.stop = Stop::Time;
        return;
    }
    let cap = &input.capacity;
    let per = &input.reserve;
    for c in candidates {
        let r = &mut plan.reserved;
        let stop = if r.requests >= u64::from(wave_size) {
            Some(Stop::WaveSize)
        } else if !input.batch
            && input.now + t.wave_ms(r.requests + 1) + t.write_ms + t.margin_ms > input.deadline
        {
            // A capped fetchAll: one more row would make the wave outlast the slice.
            Some(Stop::Time)
        } else if cap.requests.is_some_and(|n| r.requests + 1 > n) {
            Some(Stop::Requests)
        } else if cap.tokens.is_some_and(|n| r.tokens + per.tokens > n) {
            Some(Stop::Tokens)
        } else if cap.usd.is_some_and(|n| r.usd + per.usd > n) {
            Some(Stop::Budget)
        } else {
            None
        };
        if let Some(stop) = stop {
            plan.stop = stop;
            return;
        }
        r.requests += 1;
        r.tokens += per.tokens;
        r.usd += per.usd;
        let rows = &input.inputs;
        let key = rows.keys[c.index].as_str();
        // The lease keeps the key's last error and what its attempts so far have cost.
        let prior = ledger.progress.get(key);
        let lease = Progress {
            row: 0,
            attempts: c.attempts,
            not_before: c.not_before,
            leased_by: input.execution.clone(),
            lease_until: input.now + if input.batch { BATCH_LEASE_MS } else { t.lease_ms },
            last_error: prior.map(|p| p.last_error.clone()).unwrap_or_default(),
            cost_usd: prior.map_or(0.0, |p| p.cost_usd),
        };
        plan.progress_writes.push(ledger.set_progress(key, lease));
        plan.send.push(Send {
            index: c.index,
            sheet_row: rows.first_row + c.index as u64,
            signature: rows.signatures[c.index].clone(),
            key: key.to_owned(),
            attempt: c.attempts + 1,
            replace_row: c.replace_row,
        });
    }
}
