//! Rounds of requests: a wave's `fetchAll`, its ingest, and the re-ask rounds after it, each
//! reserved under the lock before it is sent.

use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::slice::*;
use super::text;
use super::wave::*;
use super::*;
use crate::ingest::{IngestInput, Response, RowResult, Sent, Status};
use crate::quota::DayReport;
use crate::reconcile::{Outcome, OutcomeStatus};
use serde_json::Value;

/// The round of requests for the rows in flight.
pub(crate) fn send(run: &mut Run) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    let built = s.requests(&s.flights)?;
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

pub(crate) fn fetched(run: &mut Run, responses: Vec<Response>) -> Result<Vec<Command>> {
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
    // An answer, even one that fails validation, or a refusal of one row: the request itself
    // is accepted, and the waves grow to their size. A 429, a 5xx or a timeout decide nothing.
    let decisive =
        got.results.iter().any(|r| matches!(r.status, Status::Done | Status::Failed | Status::Reask));
    if got.fatal.is_none() && got.pause.is_none() && decisive {
        s.info.canary_passed = true;
        s.canary = Some(true);
    }
    if got.pause.is_some() {
        s.refused = true;
    } else {
        s.fetched += got.results.len() as u64;
        s.summary.sent += got.results.len();
    }
    s.unsettled += got.cost_usd;
    s.summary.cost_usd += got.cost_usd;
    s.info.cost_usd += got.cost_usd;
    s.cost_delta += got.cost_usd;
    if s.fatal.is_none() {
        s.fatal = got.fatal.map(|v| v.message);
    }
    let mut again = Vec::new();
    for (mut f, mut r) in std::mem::take(&mut s.flights).into_iter().zip(got.results) {
        f.cost_usd += r.cost_usd;
        if r.status == Status::Reask {
            f.reask = r.reask.take();
            again.push(f);
            continue;
        }
        // The attempt's cost over every round it took (reconcile adds the earlier attempts').
        r.cost_usd = f.cost_usd;
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
        s.pending.push(Finished::of(r));
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
    Ok(vec![Command::lock(), Command::GetProps { keys: vec![P_STATE] }])
}

/// The day's quota state just after a refusal, for the pause's message and end.
pub(crate) fn paused_day(s: &Slice, now: f64) -> DayReport {
    let mut day = s.shared.day.clone().unwrap_or_default();
    crate::quota::refused(&s.job, &mut day, now);
    crate::quota::report(&s.job, day, now, false)
}

impl Finished {
    /// An outcome that needs no more request (a batch line's).
    pub(crate) fn of(r: RowResult) -> Self {
        let status = match r.status {
            Status::Done => OutcomeStatus::Done,
            Status::Retry => OutcomeStatus::Retry,
            Status::Failed => OutcomeStatus::Failed,
            Status::Released | Status::Reask => OutcomeStatus::Released,
        };
        let outcome = Outcome {
            key: r.key,
            signature: r.signature,
            status,
            note: r.note,
            not_before: r.not_before,
            cost_usd: r.cost_usd,
        };
        Finished { outcome, cells: r.cells }
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

pub(crate) fn release(s: &mut Slice, rows: Vec<Flight>, why: &str) {
    for f in rows {
        let outcome = Outcome {
            key: f.key,
            signature: f.signature,
            status: OutcomeStatus::Released,
            note: why.to_owned(),
            not_before: 0.0,
            cost_usd: f.cost_usd,
        };
        s.pending.push(Finished { outcome, cells: Vec::new() });
    }
}

/// A re-ask round: settled and reserved under the lock like a wave; what the budget cannot
/// hold is released for a later wave.
pub(crate) fn journal(run: &mut Run, props: Props) -> Result<Vec<Command>> {
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
pub(crate) fn rounds_over(run: &mut Run) -> Vec<Command> {
    match run.slice.as_ref().and_then(|s| s.after_rounds) {
        Some(j) => super::batch::after_rounds(run, j),
        None => wave_top(run),
    }
}
