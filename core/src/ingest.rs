//! A wave's responses in, decisions out: per row an answer to write (validated, fixed, scored,
//! as cells), a re-ask, a retry time, a permanent failure, or the stop of the whole job; with
//! the usage and cost of every attempt, the budget settled and the rate limiter corrected.

use crate::budget::Budget;
use crate::cell::Cell;
use crate::error::{Error, Problem, Result};
use crate::finding::{Finding, clip};
use crate::price::Usage;
use crate::provider::classify::{Class, Verdict, classify};
use crate::provider::{self, Finish, Reask};
use crate::quality::Quality;
use crate::quota::Day;
use crate::ratelimit::Limiter;
use crate::retry;
use crate::spec::Job;
use crate::validate;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Sheets holds at most 50,000 characters in a cell.
pub const CELL_LIMIT: usize = 50_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestInput {
    pub spec: Value,
    /// What was sent, in the order of `responses`.
    pub sent: Vec<Sent>,
    pub responses: Vec<Response>,
    pub now: f64,
    /// The host's random seed (`newSeed()`), for retry jitter.
    pub seed: String,
    #[serde(default)]
    pub limiter: Option<Limiter>,
    #[serde(default)]
    pub budget: Option<Budget>,
    /// Answers from a provider Batch API: priced at the batch rate.
    #[serde(default)]
    pub batch: bool,
    /// The day's quota use (see [`crate::quota`]): the wave's requests are counted, or a
    /// refusal recorded.
    #[serde(default)]
    pub day: Option<Day>,
    /// How long the wave's `fetchAll` took: the limiter learns the lanes' pace from it.
    #[serde(default)]
    pub wave_ms: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sent {
    pub key: String,
    pub signature: String,
    /// 1 for the first try (the plan's `attempt`).
    #[serde(default = "one")]
    pub attempt: u32,
    #[serde(default)]
    pub reasks: u32,
    /// The request's reservation (`buildRequests`), released now.
    #[serde(default)]
    pub reserve_usd: f64,
}

fn one() -> u32 {
    1
}

/// One HTTP exchange as the host saw it. `status` 0: no response (network failure, timeout).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Response {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Write `cells` after the ledger columns.
    Done,
    /// Ask again with `reask` (not an attempt: the answer came, it was wrong).
    Reask,
    /// Transient: not before `notBefore`.
    Retry,
    /// Permanent for this row.
    Failed,
    /// The job stopped (see `fatal`); the row's lease is released without using an attempt.
    Released,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    pub key: String,
    pub signature: String,
    pub status: Status,
    pub note: String,
    pub not_before: f64,
    /// The output columns after the ledger ones (the answer's fields, then [`ANSWER_COLUMNS`]),
    /// formula-safe.
    pub cells: Vec<Cell>,
    pub answer: Option<Value>,
    pub quality: Option<Quality>,
    /// What is left after the automatic fixes: warnings for answers, errors for re-asks.
    pub findings: Vec<Finding>,
    pub fixes: usize,
    pub reask: Option<Reask>,
    pub http_status: u16,
    pub code: String,
    pub usage: Usage,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestCounts {
    pub done: usize,
    pub reask: usize,
    pub retry: usize,
    pub failed: usize,
    pub released: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    pub results: Vec<RowResult>,
    /// Set when the job must stop: what happened and what to do.
    pub fatal: Option<Verdict>,
    /// Set when the platform refused the wave for today: the rows are released (no attempt
    /// used) and the run waits for `day` to have room (`capacity` says until when).
    pub pause: Option<Verdict>,
    pub day: Option<Day>,
    pub usage: Usage,
    pub cost_usd: f64,
    pub limiter: Limiter,
    pub budget: Option<Budget>,
    pub counts: IngestCounts,
}

pub fn ingest(input: IngestInput) -> Result<Ingested> {
    let job = Job::compile(&input.spec)?;
    ingest_with(&job, &input)
}

impl RowResult {
    /// A result with no response behind it (a batch line that expired, was cancelled, or is for
    /// content that has changed since).
    pub fn without_response(key: &str, signature: &str, status: Status, code: &str, note: String) -> Self {
        Self {
            key: key.to_owned(),
            signature: signature.to_owned(),
            status,
            note,
            not_before: 0.0,
            cells: Vec::new(),
            answer: None,
            quality: None,
            findings: Vec::new(),
            fixes: 0,
            reask: None,
            http_status: 0,
            code: code.to_owned(),
            usage: Usage::default(),
            cost_usd: 0.0,
        }
    }
}

/// [`ingest`] for a compiled job (`input.spec` is not read).
pub fn ingest_with(job: &Job, input: &IngestInput) -> Result<Ingested> {
    if input.sent.len() != input.responses.len() {
        let found = format!("{} sent, {} responses", input.sent.len(), input.responses.len());
        return Err(Error::invalid(Problem::new("responses", "one response per sent request").found(found)));
    }
    let mut limiter = input.limiter.clone().unwrap_or_else(|| Limiter::new(job, input.now));
    let mut budget = input.budget;
    let mut out = Ingested {
        results: Vec::with_capacity(input.sent.len()),
        fatal: None,
        pause: None,
        day: None,
        usage: Usage::default(),
        cost_usd: 0.0,
        limiter: limiter.clone(),
        budget: None,
        counts: IngestCounts::default(),
    };
    let (mut throttled, mut answered) = (0usize, false);
    for (sent, response) in input.sent.iter().zip(&input.responses) {
        let headers: BTreeMap<String, String> =
            response.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
        limiter.observe(&headers);
        let mut r =
            RowResult::without_response(&sent.key, &sent.signature, Status::Failed, "", String::new());
        r.http_status = response.status;
        if (200..300).contains(&response.status) {
            answered = true;
            read_success(job, sent, &response.body, input.now, input.batch, &mut r);
        } else {
            let v = classify(response.status, &headers, &response.body);
            r.code = v.code.clone();
            match v.class {
                Class::Transient => {
                    throttled += usize::from(response.status == 429);
                    let d = retry::delay(sent.attempt, &headers, input.now, &input.seed, &sent.key);
                    r.status = Status::Retry;
                    r.not_before = input.now + d.ms;
                    r.note = format!("{}; next try in {:.1} s ({})", v.message, d.ms / 1000.0, d.source);
                }
                Class::Permanent => {
                    r.status = Status::Failed;
                    r.note = v.message.clone();
                }
                Class::Fatal => {
                    r.status = Status::Released;
                    r.note = v.message.clone();
                    out.fatal.get_or_insert(v);
                }
                Class::Quota => {
                    r.status = Status::Released;
                    r.note = v.message.clone();
                    out.pause.get_or_insert(v);
                }
            }
        }
        if r.usage.prompt() > 0 {
            limiter.observe_prompt(r.usage.prompt());
        }
        out.usage.add(&r.usage);
        out.cost_usd += r.cost_usd;
        if let Some(b) = &mut budget {
            b.settle(sent.reserve_usd, r.cost_usd);
        }
        let c = &mut out.counts;
        match r.status {
            Status::Done => c.done += 1,
            Status::Reask => c.reask += 1,
            Status::Retry => c.retry += 1,
            Status::Failed => c.failed += 1,
            Status::Released => c.released += 1,
        }
        out.results.push(r);
    }
    // A limit reached answers many requests of a wave with 429s; a stray one (the provider's
    // own hiccup) is retried without halving the whole job's pace. Its headers still correct
    // the buckets above.
    if throttled > 0 && throttled * 10 >= input.sent.len() {
        limiter.throttled();
    } else if answered {
        limiter.recovered(input.now);
    }
    if let Some(ms) = input.wave_ms {
        limiter.observe_wave(input.sent.len(), ms, job.spec.limits.fetch_all_concurrency);
    }
    out.limiter = limiter;
    if let Some(mut day) = input.day.clone() {
        if out.pause.is_some() {
            crate::quota::refused(job, &mut day, input.now);
        } else {
            day.record(input.now, input.sent.len() as u64, 0.0);
        }
        out.day = Some(day);
    }
    out.budget = budget;
    Ok(out)
}

fn read_success(job: &Job, sent: &Sent, body: &str, now: f64, batch: bool, r: &mut RowResult) {
    let parsed: Option<Value> = crate::decode::value(body.as_bytes()).ok();
    let Some(reply) = parsed.as_ref().and_then(|b| provider::read_reply(job, b)) else {
        r.code = "unreadable".into();
        r.note = "the provider's response is not a chat completion (check provider.kind and baseUrl)".into();
        return;
    };
    r.usage = reply.usage;
    // Only a response with a body has usage; every other outcome costs nothing.
    r.cost_usd = job.price.as_ref().map_or(0.0, |p| p.cost(&r.usage, batch));
    match reply.finish {
        Finish::Refused => {
            r.code = "refused".into();
            r.note = format!("the model refused: {}", reply.reason.trim());
            return;
        }
        Finish::Truncated => {
            r.code = "truncated".into();
            r.note = format!(
                "the answer was cut off at provider.maxOutputTokens ({}); raise it for rows like this one",
                job.spec.provider.max_output_tokens
            );
            return;
        }
        Finish::Complete | Finish::Other => {}
    }
    let max_reasks = job.spec.limits.reasks_per_row;
    let Some(value) = provider::extract_json(&reply.text) else {
        let problem = "the answer is not JSON".to_owned();
        return reask_or_fail(r, sent, max_reasks, &reply.text, vec![problem], "not_json");
    };
    let fixed = validate::fixed_answer(job, &value);
    r.fixes = fixed.applied.len();
    if !fixed.report.valid {
        let errors: Vec<Finding> = fixed.report.findings.iter().filter(|f| f.is_error()).cloned().collect();
        let problems = errors
            .iter()
            .map(|f| if f.path.is_empty() { f.message.clone() } else { format!("{}: {}", f.path, f.message) })
            .collect();
        r.findings = errors;
        return reask_or_fail(r, sent, max_reasks, &reply.text, problems, "invalid");
    }
    match cells(job, &fixed.answer, fixed.report.quality.score) {
        Ok(mut cells) => {
            // Each fix with its reason (a default written, an alias named), then what is left.
            let warnings: Vec<String> = fixed
                .applied
                .iter()
                .map(|a| format!("fixed {}: {}", a.path, a.fix.reason))
                .chain(fixed.report.findings.iter().map(|f| format!("{}: {}", f.path, f.message)))
                .collect();
            cells.push(Cell::Text(crate::cell::sheet_text(&clip(&warnings.join("; "), 1_000))));
            cells.push(Cell::Number(f64::from(sent.attempt)));
            cells.push(Cell::Number((r.cost_usd * 1e8).round() / 1e8));
            cells.push(Cell::Text(crate::layout::iso_time(now)));
            r.status = Status::Done;
            r.cells = cells;
            r.answer = Some(fixed.answer);
            r.quality = Some(fixed.report.quality);
            r.findings = fixed.report.findings;
            if r.fixes > 0 {
                r.note = format!("{} automatic fix(es) applied", r.fixes);
            }
        }
        Err(note) => {
            r.code = "too_long".into();
            r.note = note;
        }
    }
}

fn reask_or_fail(r: &mut RowResult, sent: &Sent, max: u32, text: &str, problems: Vec<String>, code: &str) {
    r.code = code.into();
    if sent.reasks < max {
        r.status = Status::Reask;
        r.note = format!(
            "re-asking ({} of {max}): {}",
            sent.reasks + 1,
            problems.first().cloned().unwrap_or_default()
        );
        r.reask = Some(Reask { answer: text.to_owned(), problems, count: sent.reasks + 1 });
    } else {
        r.status = Status::Failed;
        let first = problems.first().cloned().unwrap_or_default();
        r.note = if max == 0 { first } else { format!("still invalid after {max} re-ask(s): {first}") };
    }
}

/// The answer as output cells, one per answer column (a field, or a spread field's leaf), then
/// the quality score. Text that a
/// sheet would read as a formula, a number, a date or a boolean is kept text with a leading
/// apostrophe ([`crate::cell::sheet_text`]).
fn cells(job: &Job, answer: &Value, score: u32) -> std::result::Result<Vec<Cell>, String> {
    let mut out = Vec::new();
    for column in &job.answer_columns {
        let name = &column.name;
        let cell = match crate::layout::at_path(answer, &column.path) {
            Value::Null => Cell::Empty,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => n.as_f64().map_or(Cell::Empty, Cell::Number),
            Value::String(s) => Cell::Text(crate::cell::sheet_text(s)),
            other => Cell::Text(other.to_string()),
        };
        if let Cell::Text(t) = &cell
            && t.chars().count() > CELL_LIMIT
        {
            let n = t.chars().count();
            return Err(format!("field {name} is {n} characters; a sheet cell holds {CELL_LIMIT}"));
        }
        out.push(cell);
    }
    out.push(Cell::Number(f64::from(score)));
    Ok(out)
}
