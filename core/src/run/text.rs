//! What the run writes for people: the Progress log's lines, the Batches sheet's row, the
//! sidebar's snapshot, and the email alerts.

use super::slice::{RunInfo, Slice};
use crate::cell::Cell;
use crate::ingest::{RowResult, Status};
use crate::layout::iso_time;
use crate::plan::Plan;
use crate::spec::Job;
use crate::to_json::to_string;
use serde_json::{Value, json};

/// The Progress sheet's columns: one row per request outcome, in the seed notes' names.
pub const LOG_COLUMNS: [&str; 15] = [
    "Batch_ID",
    "Row_Number",
    "Case_ID",
    "Status",
    "Started_At",
    "Completed_At",
    "Duration_Sec",
    "Retry_Count",
    "Error_Message",
    "Tokens",
    "Cost_USD",
    "Fixes_Applied",
    "Warnings",
    "Last_Updated",
    "Checkpoint",
];

const NOTE_CHARS: usize = 500;
/// The sidebar lists the latest failures, this many, each note cut to 200 characters.
const SNAPSHOT_ERRORS: usize = 8;
const SNAPSHOT_NOTE_CHARS: usize = 200;

pub(crate) fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Done => "done",
        Status::Reask => "reask",
        Status::Retry => "retry",
        Status::Failed => "failed",
        Status::Released => "released",
    }
}

/// One outcome's line in the Progress log.
#[allow(clippy::too_many_arguments)]
pub fn log_line(
    run: &str,
    execution: &str,
    wave: usize,
    sheet_row: u64,
    attempt: u32,
    r: &RowResult,
    started: f64,
    now: f64,
) -> Vec<Cell> {
    let u = &r.usage;
    let text = |s: String| Cell::Text(s);
    let n = |v: f64| Cell::Number(v);
    vec![
        text(run.to_owned()),
        n(sheet_row as f64),
        text(r.key.clone()),
        text(status_word(r.status).to_owned()),
        text(iso_time(started)),
        text(iso_time(now)),
        n(((now - started) / 100.0).round() / 10.0),
        n(f64::from(attempt.saturating_sub(1))),
        text(cut(&r.note, NOTE_CHARS)),
        n((u.input + u.cached_input + u.cache_write + u.output) as f64),
        n(r.cost_usd),
        n(r.fixes as f64),
        n(r.findings.len() as f64),
        text(iso_time(now)),
        text(format!("{execution}/{wave}")),
    ]
}

/// The run's row in the Batches sheet.
pub fn batch_row(job: &Job, info: &RunInfo, plan: &Plan, stopped: Option<&str>, now: f64) -> Vec<Cell> {
    crate::run_record::record(
        job,
        &info.id,
        info.started_at,
        now,
        info.cost_usd,
        &plan.counts,
        plan.finished,
        stopped,
    )
    .cells
}

/// `ROWBATCH_PROGRESS`: what the sidebar polls (a few hundred bytes).
pub(crate) fn snapshot(s: &Slice, now: f64, paused: Option<(f64, &str)>) -> String {
    let (info, plan) = (s.info(), s.plan());
    let mut v = json!({
        "costUsd": info.cost_usd,
        "budgetUsd": s.job.spec.budget.as_ref().map(|b| b.max_usd),
        "startedAt": info.started_at,
        "at": now,
        "sent": s.summary().sent,
        "stop": s.stopped(),
        "paused": paused.map(|(until, message)| json!({ "until": until, "message": message })),
        "alertProblem": s.alert_problem(),
    });
    if let Some(p) = plan {
        let c = &p.counts;
        let errors: Vec<Value> = p.failed[p.failed.len().saturating_sub(SNAPSHOT_ERRORS)..]
            .iter()
            .map(|f| json!({ "row": f.sheet_row, "key": f.key, "note": cut(&f.reason, SNAPSHOT_NOTE_CHARS) }))
            .collect();
        let more = json!({
            "done": c.done, "failed": c.failed, "duplicates": c.duplicates, "excluded": c.excluded,
            "pending": c.due + c.waiting + c.in_flight, "rows": c.rows, "finished": p.finished, "errors": errors,
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut v, more) {
            a.extend(b);
        }
    }
    v.to_string()
}

/// The scope `MailApp` needs; left out of the manifest so that nobody grants mail access unused.
pub const MAIL_SCOPE: &str = "https://www.googleapis.com/auth/script.send_mail";

/// More than this share of finished rows failed, once at least `FAILURE_MIN_ROWS` have finished.
const FAILURE_RATE: f64 = 0.2;
const FAILURE_MIN_ROWS: usize = 20;

pub(crate) struct Mail {
    flag: &'static str,
    pub subject: String,
    pub body: String,
}

/// Alerts to send now, and the flags of those already sent for this run.
pub(crate) struct AlertsDue {
    pub to: String,
    pub mails: Vec<Mail>,
    sent: serde_json::Map<String, Value>,
}

/// Email alerts, off unless `ROWBATCH_ALERT_EMAIL` names a recipient: one notice when the run
/// finishes or stops, one when more than a fifth of the first 20+ finished rows failed.
pub(crate) fn alerts_due(
    job: &Job,
    info: &RunInfo,
    plan: &Plan,
    stop: Option<&str>,
    to: Option<String>,
    sent: Option<String>,
) -> Option<AlertsDue> {
    let to = to.filter(|t| !t.trim().is_empty())?;
    let mut sent = sent
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.as_object().cloned())
        .filter(|m| m.get("run").and_then(Value::as_str) == Some(info.id.as_str()))
        .unwrap_or_default();
    sent.insert("run".into(), json!(info.id));
    let c = &plan.counts;
    let finished = c.done + c.failed;
    let line = format!(
        "{} done, {} failed, {} pending; ${:.4} spent",
        c.done,
        c.failed,
        c.due + c.waiting + c.in_flight,
        info.cost_usd
    );
    let name = &job.spec.name;
    let mut mails = Vec::new();
    let flag = |k: &str| sent.get(k) == Some(&Value::Bool(true));
    if !flag("failureRate")
        && finished >= FAILURE_MIN_ROWS
        && c.failed as f64 / finished as f64 > FAILURE_RATE
    {
        mails.push(Mail {
            flag: "failureRate",
            subject: format!("rowbatch: many rows are failing in {name}"),
            body: format!("{line}\nOpen the output sheet for the reasons (_note column)."),
        });
    }
    if !flag("done") && (plan.finished || stop.is_some()) {
        mails.push(Mail {
            flag: "done",
            subject: format!("rowbatch: {name} {}", if stop.is_some() { "stopped" } else { "finished" }),
            body: stop.map_or(line.clone(), |s| format!("{line}\nStopped: {s}")),
        });
    }
    (!mails.is_empty()).then_some(AlertsDue { to, mails, sent })
}

/// What the host reports when the mail scope is not granted.
pub(crate) fn mail_scope_problem(to: &str) -> String {
    format!(
        "Alerts to {to} are on, but the project may not send mail: add \"{MAIL_SCOPE}\" to oauthScopes in appsscript.json, push, and accept the new permission."
    )
}

/// The flags to keep after sending (`ROWBATCH_ALERTS`), and the problem to show, if any.
pub(crate) fn alerts_sent(due: AlertsDue, results: &[Value]) -> (String, Option<String>) {
    let AlertsDue { to, mails, mut sent } = due;
    let mut problem = None;
    for (m, r) in mails.iter().zip(results) {
        match r.as_str() {
            Some(e) => problem = Some(format!("An alert to {to} was not sent: {}", cut(e, 300))),
            None => {
                sent.insert(m.flag.into(), Value::Bool(true));
            }
        }
    }
    (to_string(&Value::Object(sent)), problem)
}
