//! The entry points and the phases of an execution: which results the driver waits for next.

use super::protocol::Command;
use super::slice::{self, Slice};
use super::{CONTINUE, Flow, HEARTBEAT, P_PROGRESS, P_RUN, P_STOP, Run, STALE_MS, read};
use crate::error::Result;
use crate::layout::PROGRESS_COLUMNS;
use crate::ledger::{Block, RetryInput, retry_failed};
use crate::to_json::to_string;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(crate) type Props = BTreeMap<String, Option<String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Begin,
    /// Stop: the user's email.
    StopUser,
    /// Heartbeat: the stop flag and the sidebar's snapshot.
    Heartbeat,
    /// Retry failed: the spec, then the output ledger under the lock.
    RetrySpec,
    RetryRead,
    /// Status and report: the spec, then the sheets.
    LookSpec,
    Look,
    /// Check key: the spec, whether a key is set, the model lookup (see [`super::key`]).
    KeySpec,
    KeyHas,
    KeyAnswer,
    /// A slice (see [`slice`]).
    Slice(slice::Phase),
    /// A Batch API flow (see [`super::batch`]).
    Batch(super::batch::Phase),
}

/// Every trigger of the run deleted: it has ended.
pub(crate) fn end_triggers() -> Command {
    Command::Triggers { delete: vec![CONTINUE, HEARTBEAT], every: None, after: Vec::new() }
}

pub(crate) fn begin(run: &mut Run) -> Vec<Command> {
    match run.start.flow {
        Flow::Stop => {
            run.phase = Phase::StopUser;
            vec![Command::User]
        }
        Flow::Heartbeat => {
            run.phase = Phase::Heartbeat;
            // Under the lock: what it ends, no submission can have started meanwhile.
            vec![
                Command::lock(),
                Command::GetProps { keys: vec![P_STOP, P_PROGRESS, super::batch::P_BATCHES] },
            ]
        }
        Flow::RetryFailed => {
            run.phase = Phase::RetrySpec;
            vec![Command::ReadCell { sheet: super::SPEC_SHEET }]
        }
        Flow::Status | Flow::Report | Flow::DryRun => {
            run.phase = Phase::LookSpec;
            vec![Command::ReadCell { sheet: super::SPEC_SHEET }]
        }
        Flow::Run => {
            if let Some([first, last]) = run.start.rows
                && (first < 2 || first > last)
            {
                let message = format!(
                    "rowbatch: rows {first} to {last}: expected a first sheet row of 2 or more, and no later than the last"
                );
                return vec![Command::Fail { message }];
            }
            if run.start.limit == Some(0) || run.start.keys.as_ref().is_some_and(Vec::is_empty) {
                let message = "rowbatch: --limit and --ids choose at least one row".to_owned();
                return vec![Command::Fail { message }];
            }
            let info = slice::RunInfo {
                rows: run.start.rows,
                keys: run.start.keys.clone(),
                limit: run.start.limit,
                ..slice::RunInfo::new(run.run_id(), run.now)
            };
            let mut cmds =
                vec![Command::SetProps { set: vec![(P_RUN, Some(to_string(&info))), (P_STOP, None)] }];
            cmds.extend(slice::begin(run));
            cmds
        }
        Flow::Resume => {
            let mut cmds = vec![Command::SetProps { set: vec![(P_STOP, None)] }];
            cmds.extend(slice::begin(run));
            cmds
        }
        Flow::Continue | Flow::Work => slice::begin(run),
        Flow::CheckKey => super::key::begin(run),
        Flow::SubmitBatch | Flow::PollBatches | Flow::CancelBatches | Flow::BatchFile => {
            super::batch::begin(run)
        }
    }
}

pub(crate) fn step(run: &mut Run, mut got: Vec<Value>) -> Result<Vec<Command>> {
    let mut take = |i: usize| std::mem::take(&mut got[i]);
    Ok(match run.phase {
        Phase::Begin => unreachable!("begin() emits the first commands"),
        Phase::StopUser => {
            let who = take(0).as_str().map(str::to_owned).unwrap_or_default();
            let why =
                if who.is_empty() { "stopped by a user".to_owned() } else { format!("stopped by {who}") };
            vec![
                Command::SetProps { set: vec![(P_STOP, Some(why))] },
                end_triggers(),
                Command::Done { result: json!("stopping") },
            ]
        }
        Phase::Heartbeat => {
            let props: Props = read(take(0), "getProps")?;
            let snapshot: Value = props
                .get(P_PROGRESS)
                .cloned()
                .flatten()
                .and_then(|t| crate::decode::value(t.as_bytes()).ok())
                .unwrap_or(Value::Null);
            let num = |v: &Value| v.as_f64().unwrap_or(0.0);
            let (batches, overdue) = super::batch::pending(&props, run.now);
            let ended = props.get(P_STOP).is_some_and(Option::is_some) || snapshot["finished"] == true;
            let (mut cmds, result) = if overdue {
                // A poll died before it scheduled the next: this execution polls.
                (vec![Command::Unlock], None)
            } else if ended && batches {
                (vec![Command::Unlock], Some(json!({ "waiting": "batches" })))
            } else if ended {
                (vec![super::close::ended_triggers(false), Command::Unlock], Some(json!({ "ended": true })))
            } else if snapshot["paused"].is_object() && run.now < num(&snapshot["paused"]["until"]) {
                (vec![Command::Unlock], Some(json!({ "paused": true })))
            } else if snapshot.is_object() && run.now - num(&snapshot["at"]) < STALE_MS {
                (vec![Command::Unlock], Some(json!({ "alive": true })))
            } else {
                (vec![Command::Unlock], None)
            };
            match result {
                Some(result) => cmds.push(Command::Done { result }),
                None if overdue => cmds.extend(super::batch::begin(run)),
                None => cmds.extend(slice::begin(run)),
            }
            cmds
        }
        Phase::RetrySpec => match slice::compile(take(0))? {
            Err(message) => vec![Command::Fail { message }],
            Ok(job) => {
                let sheet = slice::output_sheet(&job);
                let width = crate::layout::output_columns(&job).len();
                run.slice = Some(Box::new(Slice::new(job)));
                run.phase = Phase::RetryRead;
                vec![
                    Command::lock(),
                    Command::read(sheet, width),
                    Command::read(super::PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
                ]
            }
        },
        Phase::RetryRead => {
            let outputs: Option<Block> = read(take(0), "read")?;
            let progress: Option<Block> = read(take(1), "read")?;
            let input =
                RetryInput { outputs: outputs.unwrap_or_default(), progress: progress.unwrap_or_default() };
            let s = run.slice.as_ref().expect("the spec was read");
            let reopen = retry_failed(&s.job, &input);
            let mut cmds = Vec::new();
            if reopen.rows > 0 {
                cmds.push(Command::Write {
                    sheet: slice::output_sheet(&s.job),
                    row: reopen.first_row,
                    col: slice::STATUS_COL,
                    values: reopen.statuses.into_iter().map(|c| slice::safe_row(c.to_vec())).collect(),
                    step: 0,
                });
            }
            let mut progress = input.progress;
            for w in &reopen.progress_writes {
                super::wave::apply(&mut progress, w.row, &w.values, PROGRESS_COLUMNS.len());
            }
            let step = u64::from(crate::validate::GRID_STEP_ROWS);
            cmds.extend(super::wave::span(&progress, &reopen.progress_writes, step));
            cmds.extend([Command::Flush, Command::Unlock]);
            if reopen.rows == 0 {
                cmds.push(Command::Done { result: json!({ "reopened": 0 }) });
            } else {
                run.reopened = Some(reopen.rows);
                run.slice = None;
                cmds.push(Command::SetProps { set: vec![(P_STOP, None)] });
                cmds.extend(slice::begin(run));
            }
            cmds
        }
        Phase::KeySpec => super::key::spec(run, take(0))?,
        Phase::KeyHas => super::key::has(run, take(0)),
        Phase::KeyAnswer => super::key::answered(run, take(0))?,
        Phase::LookSpec => match slice::compile(take(0))? {
            Err(message) => vec![Command::Fail { message }],
            Ok(job) => {
                let width = if run.start.flow == Flow::Report {
                    crate::layout::output_columns(&job).len()
                } else {
                    crate::layout::OUTPUT_COLUMNS.len()
                };
                let cmds = vec![
                    Command::ReadInput {
                        sheet: job.spec.input.sheet.clone(),
                        header_row: u64::from(job.spec.input.header_row),
                    },
                    Command::read(slice::output_sheet(&job), width),
                    Command::read(super::PROGRESS_SHEET.to_owned(), crate::layout::PROGRESS_COLUMNS.len()),
                    Command::GetProps { keys: vec![P_RUN, P_STOP, super::P_WORKERS] },
                ];
                run.slice = Some(Box::new(Slice::new(job)));
                run.phase = Phase::Look;
                cmds
            }
        },
        Phase::Look => {
            let s = run.slice.take().expect("the spec was read");
            look(run, s.job, take(0), take(1), take(2), read(take(3), "getProps")?)?
        }
        Phase::Slice(p) => slice::step(run, p, got)?,
        Phase::Batch(p) => super::batch::step(run, p, got)?,
    })
}

/// Status or report, from the sheets as they are.
fn look(
    run: &Run,
    job: crate::spec::Job,
    input: Value,
    outputs: Value,
    progress: Value,
    props: Props,
) -> Result<Vec<Command>> {
    let Some(input) = read::<Option<slice::InputBlock>>(input, "readInput")? else {
        let name = job.spec.input.sheet.clone().unwrap_or_default();
        return Ok(vec![Command::Fail {
            message: format!("rowbatch: the input sheet \"{name}\" does not exist"),
        }]);
    };
    let inputs = match crate::keys::key_block(&job, &input.header, &input.rows, input.first_row) {
        Ok(k) => k,
        Err(e) => {
            return Ok(vec![Command::Fail {
                message: format!("rowbatch: the input sheet cannot be read: {e}"),
            }]);
        }
    };
    let outputs: Block = read::<Option<Block>>(outputs, "read")?.unwrap_or_default();
    let progress: Block = read::<Option<Block>>(progress, "read")?.unwrap_or_default();
    let info: Option<slice::RunInfo> = props
        .get(P_RUN)
        .cloned()
        .flatten()
        .and_then(|t| crate::decode::value(t.as_bytes()).ok())
        .and_then(|v| crate::read::from_value(v).ok());
    let stopped = props.get(P_STOP).cloned().flatten();
    if run.start.flow == Flow::DryRun {
        return super::dry::dry_run(&job, &input, inputs, outputs, progress, run.now, &run.start);
    }
    if run.start.flow == Flow::Status {
        let input = crate::plan::PlanInput {
            spec: Value::Null,
            inputs,
            outputs,
            progress,
            execution: "status".into(),
            now: run.now,
            deadline: run.now,
            timing: Default::default(),
            capacity: Default::default(),
            reserve: Default::default(),
            batch: false,
            max_rows: None,
            rows: None,
            keys: None,
        };
        let plan = crate::plan::plan(&job, &input);
        let result = json!({
            "counts": crate::to_json::to_value(&plan.counts),
            "finished": plan.finished,
            "nextAt": plan.next_at,
            "stopped": stopped,
            "run": info.map(|i| crate::to_json::to_value(&i)),
            // The last round of workers, while the run is on (see `fan`).
            "workers": props.get(super::P_WORKERS).cloned().flatten()
                .and_then(|t| crate::decode::value(t.as_bytes()).ok())
                .filter(|_| !plan.finished),
        });
        return Ok(vec![Command::Done { result }]);
    }
    let report = crate::report::report_with(
        &job,
        crate::report::ReportInput {
            spec: Value::Null,
            inputs,
            outputs,
            progress,
            run: info.map(|i| super::close::report_run(&job, &i, stopped)),
            now: run.now,
        },
    );
    let result = crate::to_json::to_value(&report);
    let values = report.table.into_iter().map(|r| slice::safe_row(r.to_vec())).collect();
    Ok(vec![Command::Replace { sheet: super::REPORT_SHEET.to_owned(), values }, Command::Done { result }])
}
