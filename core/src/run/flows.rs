//! The entry points and the phases of an execution: which results the driver waits for next.

use super::protocol::Command;
use super::slice::{self, Slice};
use super::{CONTINUE, Flow, HEARTBEAT, P_PROGRESS, P_RUN, P_STOP, Run, STALE_MS, read};
use crate::error::Result;
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
    /// A slice (see [`slice`]).
    Slice(slice::Phase),
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
            vec![Command::GetProps { keys: vec![P_STOP, P_PROGRESS] }]
        }
        Flow::RetryFailed => {
            run.phase = Phase::RetrySpec;
            vec![Command::ReadCell { sheet: super::SPEC_SHEET }]
        }
        Flow::Run => {
            let info = slice::RunInfo::new(run.run_id(), run.now);
            let mut cmds = vec![Command::SetProps { set: vec![(P_RUN, Some(to_string(&info))), (P_STOP, None)] }];
            cmds.extend(slice::begin(run));
            cmds
        }
        Flow::Resume => {
            let mut cmds = vec![Command::SetProps { set: vec![(P_STOP, None)] }];
            cmds.extend(slice::begin(run));
            cmds
        }
        Flow::Continue => slice::begin(run),
    }
}

pub(crate) fn step(run: &mut Run, mut got: Vec<Value>) -> Result<Vec<Command>> {
    let mut take = |i: usize| std::mem::take(&mut got[i]);
    Ok(match run.phase {
        Phase::Begin => unreachable!("begin() emits the first commands"),
        Phase::StopUser => {
            let who = take(0).as_str().map(str::to_owned).unwrap_or_default();
            let why = if who.is_empty() { "stopped by a user".to_owned() } else { format!("stopped by {who}") };
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
            if props.get(P_STOP).is_some_and(Option::is_some) || snapshot["finished"] == true {
                vec![end_triggers(), Command::Done { result: json!({ "ended": true }) }]
            } else if snapshot["paused"].is_object() && run.now < num(&snapshot["paused"]["until"]) {
                vec![Command::Done { result: json!({ "paused": true }) }]
            } else if snapshot.is_object() && run.now - num(&snapshot["at"]) < STALE_MS {
                vec![Command::Done { result: json!({ "alive": true }) }]
            } else {
                slice::begin(run)
            }
        }
        Phase::RetrySpec => {
            let job = slice::compile(take(0))?;
            let cmds = match job {
                Err(message) => vec![Command::Fail { message }],
                Ok(job) => {
                    let sheet = slice::output_sheet(&job);
                    run.slice = Some(Box::new(Slice::new(job)));
                    run.phase = Phase::RetryRead;
                    vec![Command::Lock, Command::Read { sheet, width: crate::layout::OUTPUT_COLUMNS.len() }]
                }
            };
            cmds
        }
        Phase::RetryRead => {
            let outputs: Option<Block> = read(take(0), "read")?;
            let reopen = retry_failed(RetryInput { outputs: outputs.unwrap_or_default() });
            let mut cmds = Vec::new();
            if reopen.rows > 0 {
                let s = run.slice.as_ref().expect("the spec was read");
                cmds.push(Command::Write {
                    sheet: slice::output_sheet(&s.job),
                    row: reopen.first_row,
                    col: slice::STATUS_COL,
                    values: reopen.statuses.into_iter().map(|c| slice::safe_row(c.to_vec())).collect(),
                    step: 0,
                });
            }
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
        Phase::Slice(p) => slice::step(run, p, got)?,
    })
}
