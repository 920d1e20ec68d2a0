//! The end of a slice: the day's trigger time and the money under the lock, the Batches row,
//! a quota pause, alerts, the report, the next trigger and the result.

use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::slice::*;
use super::text;
use super::*;
use crate::cell::Cell;
use crate::layout::{PROGRESS_COLUMNS, output_columns};
use crate::ledger::Block;
use crate::report::Pause;
use crate::spec::Job;
use crate::to_json::to_string;
use serde_json::{Value, json};

/// Properties hold 9 KB a value: the latest pauses are kept whole, earlier ones as totals.
const KEPT_PAUSES: usize = 20;

/// The end of the slice: the day's trigger time and the money under the lock, the run's row in
/// the Batches sheet.
pub(crate) fn close(run: &mut Run) -> Vec<Command> {
    let s = run.slice.as_ref().expect("loaded");
    run.phase = Top::Slice(Phase::Closing);
    let mut cmds = vec![
        Command::lock(),
        Command::GetProps { keys: vec![P_STATE, P_ALERT_EMAIL, P_ALERTS, P_ALERT_PROBLEM, P_RUN] },
    ];
    // The run's row in the Batches sheet, its alerts and its report are the chain's to write.
    if s.plan.is_some() && run.start.flow != Flow::Work {
        cmds.push(Command::Sheet {
            name: BATCH_SHEET.to_owned(),
            header: header(&crate::layout::BATCH_COLUMNS),
            hidden: false,
        });
        cmds.push(Command::read(BATCH_SHEET.to_owned(), 1));
    }
    cmds
}

pub(crate) fn closing(run: &mut Run, props: Props, batches: Value) -> Result<Vec<Command>> {
    let now = run.now;
    let holder = run.execution();
    let trigger_ms = if run.start.trigger { now - run.start.now } else { 0.0 };
    let s = run.slice.as_mut().expect("loaded");
    let fresh = shared_of(&props)?;
    s.merge(fresh, &holder, now);
    s.merge_info(prop(&props, P_RUN));
    if trigger_ms > 0.0 {
        s.shared.day.get_or_insert_with(Default::default).record(now, 0, trigger_ms);
    }
    s.alert_problem = prop(&props, P_ALERT_PROBLEM);
    s.batches_pending = super::batch::pending(&props, now).0;
    let mut cmds = vec![Command::SetProps { set: vec![s.state_prop()] }];
    if let Some(plan) = s.plan.as_ref().filter(|_| run.start.flow != Flow::Work) {
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
    // A run that has ended drops its triggers under the lock: a batch submitted meanwhile (under
    // the lock too) sets its poll and heartbeat after this, never before.
    let paused = s.pause.is_some() && s.stop.is_none();
    if ended(s) && !paused {
        cmds.push(ended_triggers(s.batches_pending));
    }
    let pause = match (&s.pause, &s.stop) {
        (Some(q), None) => Some((q.pause_until.unwrap_or(now), q.message.clone().unwrap_or_default())),
        _ => None,
    };
    if let Some((until, why)) = &pause {
        record_pause(&mut s.info, now, *until, why);
    }
    cmds.extend([
        Command::SetProps { set: vec![(P_RUN, Some(to_string(&s.info)))] },
        Command::Flush,
        Command::Unlock,
    ]);
    if let Some(stop) = &s.stop {
        cmds.push(Command::SetProps { set: vec![(P_STOP, Some(stop.clone()))] });
    }
    if let Some((until, why)) = pause {
        cmds.push(Command::SetProps {
            set: vec![(P_PROGRESS, Some(text::snapshot(s, now, Some((until, &why)))))],
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
    if let Some(plan) = s.plan.as_ref().filter(|_| run.start.flow != Flow::Work) {
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

pub(crate) fn record_pause(info: &mut RunInfo, now: f64, until: f64, why: &str) {
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

pub(crate) fn alerting(run: &mut Run, allowed: bool) -> Result<Vec<Command>> {
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

pub(crate) fn mailed(run: &mut Run, results: Vec<Value>) -> Vec<Command> {
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

pub(crate) fn report_or_finish(run: &mut Run) -> Vec<Command> {
    let s = run.slice.as_ref().expect("loaded");
    let chain = run.start.flow != Flow::Work;
    if chain && (s.plan.as_ref().is_some_and(|p| p.finished) || s.stop.is_some()) {
        run.phase = Top::Slice(Phase::Reporting);
        let width = output_columns(&s.job).len();
        return vec![
            Command::read(output_sheet(&s.job), width),
            Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
        ];
    }
    finish(run)
}

pub(crate) fn reporting(run: &mut Run, outputs: Block, progress: Block) -> Vec<Command> {
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
pub(crate) fn progress_of(s: &Slice, now: f64) -> [Command; 2] {
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
/// The run is over: finished, or stopped.
fn ended(s: &Slice) -> bool {
    s.plan.as_ref().is_none_or(|p| p.finished) || s.stop.is_some()
}

/// The triggers of a run that has ended: none, or the heartbeat alone while provider batches
/// are pending (it polls one whose poll died). A fired poll trigger left by a killed poll goes.
pub(crate) fn ended_triggers(batches_pending: bool) -> Command {
    if batches_pending {
        Command::Triggers {
            delete: vec![CONTINUE],
            every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
            after: Vec::new(),
        }
    } else {
        Command::Triggers {
            delete: vec![CONTINUE, HEARTBEAT, super::batch::POLL],
            every: None,
            after: Vec::new(),
        }
    }
}

pub(crate) fn finish(run: &mut Run) -> Vec<Command> {
    let now = run.now;
    let s = run.slice.as_ref().expect("loaded");
    let plan = s.plan.as_ref();
    let mut cmds = Vec::new();
    if plan.is_some() {
        cmds.extend(progress_of(s, now));
    }
    // When the next slice can send: at once while rows are due (this one ran out of time or of
    // the minute's rate), else when a retry falls due or a lease lapses. A row a worker still
    // holds must not hold back the rows due beside it.
    let next_at =
        plan.and_then(|p| p.next_at.filter(|_| p.counts.due == 0 || p.stop == crate::plan::Stop::Budget));
    if !ended(s) {
        let wait = next_at.map_or(1000.0, |at| (at - now).max(1000.0));
        cmds.push(Command::Triggers {
            delete: vec![CONTINUE],
            every: Some((HEARTBEAT, HEARTBEAT_MINUTES)),
            after: vec![(CONTINUE, wait)],
        });
    }
    let result = json!({
        "run": s.info.id,
        "finished": plan.is_some_and(|p| p.finished),
        "stop": s.stop,
        "counts": plan.map(|p| crate::to_json::to_value(&p.counts)),
        "summary": crate::to_json::to_value(&s.summary),
        "nextAt": next_at,
        "workers": (s.fan.rounds > 0 || s.fan.alone.is_some()).then(|| crate::to_json::to_value(&s.fan)),
    });
    cmds.push(Command::Log { text: format!("rowbatch {result}") });
    cmds.push(Command::Done { result: wrap(run.reopened, result) });
    cmds
}

pub(crate) fn wrap(reopened: Option<usize>, result: Value) -> Value {
    match reopened {
        Some(n) => json!({ "reopened": n, "run": result }),
        None => result,
    }
}
