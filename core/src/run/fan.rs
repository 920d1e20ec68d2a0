//! Workers: a slice of the run's chain (a run, its continuation trigger, a resume) that finds
//! more due rows than one execution sends well becomes an orchestrator. Under the lock it leases
//! nothing; it asks the host for a round of workers — one `fetchAll` of POSTs to the script's own
//! web app, each an execution of the `Work` flow that leases and sends its own waves on the
//! exactly-once ledger for [`WORKER_SLICE_MS`] — then plans again from the sheets. When fewer
//! rows are due than a second worker would take, it sends them itself, and closes the run as
//! any slice does. Web app executions are not trigger time (Apps Script counts only triggers
//! against the 90 minutes a day), so a consumer account's daily trigger time pays only for the
//! orchestrator's waiting.
//!
//! UrlFetch gives up on a request after about 60 s (unconfirmed; PLATFORM.md), and then the
//! whole `fetchAll` throws. A worker that outlives it keeps its leases and writes its outcomes
//! as any slice does; whether Apps Script lets it finish or ends it, the ledger holds: rows it
//! had leased are taken again once the lease lapses. So a failed or timed-out call tells the
//! orchestrator nothing but to plan again; a round without one answer makes it work alone only
//! when that plan shows no outcome and no spending the workers left behind (a web app out of
//! reach, a wrong secret), not when one slow worker threw the others' answers away.

use super::flows::Phase as Top;
use super::protocol::Command;
use super::slice::{Phase, Slice};
use super::{Flow, Run, read};
use crate::error::Result;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a worker starts waves: its last wave, as slow as its slowest request, should still
/// end inside UrlFetch's ~60 s timeout on the orchestrator's side most of the time (a request
/// rarely takes 40 s: the bench's latency has its 95th percentile at 20 s).
pub const WORKER_SLICE_MS: f64 = 20_000.0;

/// A worker's deadline: as a slice's, the time its last wave must have ended by (the planner
/// counts the slowest request UrlFetch waits for, the writes and a margin), so that it starts
/// waves for [`WORKER_SLICE_MS`].
pub(crate) fn worker_deadline(now: f64) -> f64 {
    let t = crate::plan::Timing::default();
    now + WORKER_SLICE_MS + t.slowest_request_ms + t.write_ms + t.margin_ms
}

/// Script Property: the web app's secret, which each worker's request carries.
pub const P_WEBAPP_SECRET: &str = "ROWBATCH_WEBAPP_SECRET";

/// Why a deployed script works alone: the web app refuses requests without its secret.
pub(crate) const NO_SECRET: &str =
    "set the Script Property ROWBATCH_WEBAPP_SECRET (the web app's secret) for the run to start workers";

/// Script Property: the last round of workers, for the sidebar and `rowbatch status`.
pub const P_WORKERS: &str = "ROWBATCH_WORKERS";

/// The rounds of workers an orchestrating slice started.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fan {
    /// Workers the next round asks for (chosen under the lock, taken when the round goes).
    #[serde(skip)]
    pub(crate) next: Option<u32>,
    /// Why that many: `requests`, `tokens` or `platform` (workers at once), `spec`, `time`,
    /// `rows` or `quota`.
    pub(crate) limited_by: String,
    /// Workers running at once in the round: its calls, at most `fetchAll`'s lanes.
    pub(crate) at_once: u32,
    pub(crate) rounds: u32,
    pub(crate) calls: u32,
    /// Calls with no answer from the worker (a timeout, an error page, a refusal).
    pub(crate) unanswered: u32,
    pub(crate) last_round_ms: f64,
    /// Why this execution works alone after all: a round in which no worker answered (the web
    /// app not reachable as deployed, a wrong secret, a timeout), in the first caller's words.
    pub(crate) alone: Option<String>,
    /// The last round's workers answered and sent nothing (the rate, the tokens or the budget
    /// bound them): no more rounds in this slice.
    #[serde(skip)]
    idle: bool,
    #[serde(skip)]
    round_started: f64,
    /// What the run had to show when the round went: rows with an outcome and money spent.
    #[serde(skip)]
    shown: (usize, f64),
    /// A round without one answer, in the first caller's words, until the next plan tells a
    /// timeout (one slow worker throws the whole `fetchAll`, the others' work done) from
    /// workers that never worked.
    #[serde(skip)]
    silent: Option<String>,
    /// The last round's calls.
    #[serde(skip)]
    last_count: usize,
}

/// Rows with an outcome and money spent, as the ledger and the run record show them: what a
/// round's workers leave behind whether or not their answers reach the orchestrator.
fn shown(s: &Slice, plan: &Plan) -> (usize, f64) {
    (plan.counts.done + plan.counts.failed, s.info.cost_usd)
}

/// After a round without one answer, on the next plan: the slice works alone unless its
/// workers left outcomes or spending behind them. The round's record, with why, when it does.
pub(crate) fn verdict(s: &mut Slice, plan: &Plan, now: f64) -> Option<Command> {
    let why = s.fan.silent.take()?;
    let (rows, usd) = shown(s, plan);
    if rows > s.fan.shown.0 || usd > s.fan.shown.1 {
        return None;
    }
    s.fan.alone = Some(format!("no worker answered: {}", super::text::cut(&why, 300)));
    Some(record(s, now, s.fan.last_count))
}

/// What a worker's execution answers (the web app's `work` action).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WorkerAnswer {
    ok: bool,
    result: Option<Value>,
    error: Option<Value>,
    /// The HTTP status of an answer that was not the web app's JSON (an error page).
    status: Option<u16>,
}

/// Whether this slice starts workers at all: the host can call its own web app, it is not a
/// worker itself, workers have answered (or not been tried) and had work, the canary has passed,
/// and no `--limit` (which counts rows in one place).
fn orchestrates(start: &super::Start, s: &Slice) -> bool {
    start.fan_out
        && start.flow != Flow::Work
        && s.fan.alone.is_none()
        && !s.fan.idle
        && s.info.canary_passed
        && s.info.limit.is_none()
}

/// Calls for a round, or `None` for the slice to send the wave itself: the slice orchestrates
/// ([`orchestrates`]), there is time for a round, and the due rows are worth two calls or more
/// (one, when the slice's own time is too short for its wave).
///
/// How many workers run at once is the core's estimate (the provider's rate and token limits
/// kept in flight, the account's simultaneous executions) and the spec's `limits.workers`.
/// `fetchAll` runs `lanes` calls at once and starts the next as one ends, so when that many
/// workers may run at once the round pools as many calls as its lanes can end before the
/// execution does ([`by_time`]): one round then spans the slice, with one tail of stragglers
/// instead of one a round. With fewer, each makes one call. Either way no more calls than the
/// due rows are worth, nor than the UrlFetch calls left today allow a wave each.
pub(crate) fn workers(run: &Run, s: &mut Slice, plan: &Plan, now: f64) -> Option<u32> {
    // Rows this slice could send, or would but for its own time: a worker's slice is shorter
    // (the rate, the tokens and the budget bind workers as they bind the slice).
    let sendable = !plan.send.is_empty() || (plan.stop == crate::plan::Stop::Time && plan.counts.due > 0);
    if !orchestrates(&run.start, s) || !sendable {
        return None;
    }
    let l = &s.job.spec.limits;
    let lanes = l.fetch_all_concurrency.max(1);
    let tokens_per_row = match plan.send.len() {
        0 => s.ledger.reserve.tokens,
        n => plan.reserved.tokens / n as u64,
    };
    // The provider's and the platform's bounds; the rows' bound is a worker's share, below.
    let estimate = crate::estimate::workers(&s.job, u64::from(u32::MAX), tokens_per_row);
    let (at_once, at_once_by) =
        least([(estimate.count, estimate.limited_by.as_str()), (l.workers.unwrap_or(u32::MAX), "spec")]);
    let in_time = by_time(lanes, now, s.deadline());
    let (calls, calls_by) =
        if at_once >= lanes { (in_time, "time") } else { least([(at_once, at_once_by), (in_time, "time")]) };
    // What a worker sends in its slice: about two requests a lane (the planner sizes its waves
    // to end inside the slice at the pace observed), so more calls than that would idle.
    let per_worker = u64::from(lanes) * 2;
    let by_rows = u32::try_from((plan.counts.due as u64).div_ceil(per_worker)).unwrap_or(u32::MAX);
    let day = crate::quota::report(&s.job, s.shared.day.clone().unwrap_or_default(), now, false);
    let by_quota = u32::try_from(day.fetches_left / u64::from(l.wave_size.max(1))).unwrap_or(u32::MAX);
    let (n, by) = least([(calls, calls_by), (by_rows, "rows"), (by_quota, "quota")]);
    // One worker is worth a round only when this slice cannot send the wave itself (its own
    // time is short, a worker's is shorter).
    if n == 0 || (n < 2 && !plan.send.is_empty()) {
        return None;
    }
    s.fan.limited_by = by.to_owned();
    s.fan.at_once = n.min(at_once).min(lanes);
    s.fan.shown = shown(s, plan);
    Some(n)
}

/// The least bound and its name (the first of equals).
fn least<const N: usize>(bounds: [(u32, &str); N]) -> (u32, &str) {
    bounds.into_iter().fold((u32::MAX, ""), |a, b| if b.0 < a.0 { b } else { a })
}

/// Whether a round of workers could still start at `at` (a nap's end): the slice orchestrates
/// and a call ends before the execution does.
pub(crate) fn may_round(start: &super::Start, s: &Slice, at: f64) -> bool {
    orchestrates(start, s) && by_time(s.job.spec.limits.fetch_all_concurrency, at, s.deadline()) > 0
}

/// Calls a round may make and still end before the execution: `lanes` at a time, each as long
/// as UrlFetch waits (a call past it throws), all ended by the slice's deadline plus the one
/// slowest request the deadline leaves room for, less the margin for the writes.
pub(crate) fn by_time(lanes: u32, now: f64, deadline: f64) -> u32 {
    let t = crate::plan::Timing::default();
    let room = deadline + t.slowest_request_ms - t.write_ms - t.margin_ms - now;
    let per_lane = (room / t.slowest_request_ms).floor().max(0.0) as u32;
    lanes.max(1).saturating_mul(per_lane)
}

/// The round on record for the sidebar and `rowbatch status`.
pub(crate) fn record(s: &Slice, now: f64, count: usize) -> Command {
    let record = serde_json::json!({ "at": now, "count": count, "fan": s.fan });
    Command::SetProps { set: vec![(P_WORKERS, Some(record.to_string()))] }
}

/// The round: `count` workers at once.
pub(crate) fn spawn(run: &mut Run, count: u32) -> Vec<Command> {
    let s = run.slice.as_mut().expect("loaded");
    s.fan.round_started = run.now;
    run.phase = Top::Slice(Phase::Spawned);
    vec![Command::Workers { count, secret: P_WEBAPP_SECRET }]
}

/// The round's answers: each worker's summary added to the slice's, the round on record for the
/// sidebar; then the next locked section plans again from the sheets.
pub(crate) fn spawned(run: &mut Run, answers: Value) -> Result<Vec<Command>> {
    let now = run.now;
    let answers: Vec<Value> = read(answers, "workers")?;
    let count = answers.len();
    let s = run.slice.as_mut().expect("loaded");
    s.fan.rounds += 1;
    s.fan.calls += answers.len() as u32;
    s.fan.last_round_ms = now - s.fan.round_started;
    s.fan.last_count = count;
    let mut answered = 0;
    let sent_before = s.summary().sent;
    let mut first_error = None;
    for a in answers {
        let a: WorkerAnswer = crate::read::from_value(a).unwrap_or_default();
        match a.result.as_ref().and_then(|r| r.get("summary")).filter(|_| a.ok) {
            Some(summary) => {
                s.add_worker(summary);
                answered += 1;
            }
            None => {
                s.fan.unanswered += 1;
                let why = match (a.error, a.status) {
                    (Some(Value::String(t)), _) => t,
                    (Some(other), _) => {
                        other.get("message").and_then(Value::as_str).map_or(other.to_string(), str::to_owned)
                    }
                    (None, Some(status)) => format!("the web app answered {status} without JSON"),
                    (None, None) => "the worker gave no answer".to_owned(),
                };
                first_error = first_error.or(Some(why));
            }
        }
    }
    s.fan.idle = answered > 0 && s.summary().sent == sent_before;
    // Not one answer: unless the next plan shows the workers' work, the rest of this slice
    // sends its own waves, and says why (`verdict`).
    if answered == 0 && count > 0 {
        s.fan.silent = Some(first_error.unwrap_or_else(|| "no answer".to_owned()));
    }
    let mut cmds = vec![record(s, now, count)];
    cmds.extend(super::wave::wave_top(run));
    Ok(cmds)
}

#[cfg(test)]
mod tests {
    use super::by_time;

    #[test]
    fn a_round_makes_no_more_calls_than_its_lanes_can_end_before_the_execution() {
        // A 300 s slice (of 6 minutes), 10 lanes, calls of up to 60 s each.
        let deadline = 300_000.0;
        assert_eq!(by_time(10, 20_000.0, deadline), 50, "5 a lane: 332 s left");
        assert_eq!(by_time(10, 232_000.0, deadline), 20, "2 a lane: 120 s left");
        assert_eq!(by_time(10, 292_000.0, deadline), 10, "1 a lane: 60 s left");
        assert_eq!(by_time(10, 293_000.0, deadline), 0, "no call fits: no round");
        assert_eq!(by_time(0, 20_000.0, deadline), 5, "0 lanes is taken as 1");
    }
}
