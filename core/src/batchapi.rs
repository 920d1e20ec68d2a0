//! Provider Batch APIs: OpenAI's batch JSONL files and Anthropic's message batches, for half the
//! price. Files are split under the provider's limits and under UrlFetch's 50 MB (the request
//! that uploads them and the response that brings the answers back); result lines, in any order,
//! become the same results the realtime path makes (validated, fixed, scored, priced at the
//! batch rate), matched to their rows by `custom_id`.

use crate::cell::Cell;
use crate::error::{Error, Problem, Result};
use crate::finding::clip;
use crate::ingest::{self, IngestInput, RowResult, Sent, Status};
use crate::keys::KeyedRows;
use crate::ledger::{Block, Ledger};
use crate::provider::{self, BuildInput, Item};
use crate::signature;
use crate::spec::{Job, ProviderKind};
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One UrlFetch request or response holds 50 MB; parts keep 2 MB of that for framing.
pub const URLFETCH_BYTES: u64 = 48_000_000;
const OPENAI_LINES: usize = 50_000;
const OPENAI_BYTES: u64 = 200_000_000;
const ANTHROPIC_REQUESTS: usize = 100_000;
const ANTHROPIC_BYTES: u64 = 256_000_000;
/// A result line's size besides the answer: ids, usage, headers of the embedded response.
const RESULT_OVERHEAD: u64 = 2_000;

/// A batch's state in one vocabulary for both providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Made here, not yet acknowledged by the provider.
    Submitted,
    Validating,
    InProgress,
    Finalizing,
    Completed,
    Failed,
    Expired,
    Cancelling,
    Cancelled,
}

impl State {
    /// Nothing more will happen at the provider.
    pub fn is_final(self) -> bool {
        matches!(self, State::Completed | State::Failed | State::Expired | State::Cancelled)
    }
}

/// `<key's letters>_<key hash>_<signature hash>_<attempt>`: at most 59 characters of
/// `[A-Za-z0-9_-]`, as Anthropic requires; readable in the providers' dashboards, and enough to
/// find the row and to tell whether it has been edited since.
pub fn custom_id(key: &str, signature: &str, attempt: u32) -> String {
    let letters: String = key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(24).collect();
    let letters = if letters.is_empty() { "row".to_owned() } else { letters };
    format!("{letters}_{}_{}_{}", key_hash(key), signature_hash(signature), attempt.min(9_999))
}

fn key_hash(key: &str) -> String {
    signature::hash(key)["SIG_v1_".len()..][..16].to_owned()
}

fn signature_hash(sig: &str) -> String {
    match sig.strip_prefix("SIG_v1_") {
        Some(hex) if hex.len() >= 12 => hex[..12].to_owned(),
        _ => signature::hash(sig)["SIG_v1_".len()..][..12].to_owned(),
    }
}

/// The parts of a custom id: key hash, signature hash, attempt.
fn parse_custom_id(id: &str) -> Option<(&str, &str, u32)> {
    let mut parts = id.rsplitn(4, '_');
    let attempt = parts.next()?.parse().ok()?;
    let sig = parts.next()?;
    let key = parts.next()?;
    parts.next()?;
    Some((key, sig, attempt))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilesInput {
    pub spec: Value,
    pub header: Vec<String>,
    pub items: Vec<FileItem>,
    /// Tighter limits than the providers' (tests, or a smaller UrlFetch allowance).
    #[serde(default)]
    pub max_lines: Option<usize>,
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileItem {
    pub key: String,
    pub signature: String,
    #[serde(default = "one")]
    pub attempt: u32,
    pub row: Vec<Cell>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Files {
    pub parts: Vec<Part>,
    /// The limits the parts were cut to.
    pub max_lines: usize,
    pub max_bytes: u64,
    /// The most one result line can take, from `provider.maxOutputTokens`.
    pub max_result_line_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// OpenAI: the JSONL file to upload. Anthropic: the JSON body of the batch request.
    pub body: String,
    pub lines: usize,
    pub bytes: u64,
    /// The most its results can weigh.
    pub result_bytes: u64,
    /// Worst case at the batch price.
    pub reserve_usd: f64,
    pub keys: Vec<String>,
}

/// The submission's files: one line per row, cut into parts under every limit.
pub fn files(input: FilesInput) -> Result<Files> {
    let job = Job::compile(&input.spec)?;
    files_with(&job, input)
}

/// [`files`] for a compiled job (`input.spec` is not read).
pub fn files_with(job: &Job, input: FilesInput) -> Result<Files> {
    let kind = job.spec.provider.kind;
    let items: Vec<Item> = input
        .items
        .iter()
        .map(|i| Item { key: i.key.clone(), signature: i.signature.clone(), row: i.row.clone(), reask: None })
        .collect();
    let built =
        provider::build_requests_with(job, &BuildInput { spec: Value::Null, header: input.header, items })?;
    let (lines_cap, bytes_cap) = match kind {
        ProviderKind::Openai => (OPENAI_LINES, OPENAI_BYTES),
        ProviderKind::Anthropic => (ANTHROPIC_REQUESTS, ANTHROPIC_BYTES),
    };
    let max_lines = input.max_lines.unwrap_or(lines_cap).clamp(1, lines_cap);
    let max_bytes = input.max_bytes.unwrap_or(URLFETCH_BYTES).clamp(1, bytes_cap.min(URLFETCH_BYTES));
    // The answer is JSON inside a JSON string: up to 4 bytes a token, escaping can double it.
    let max_result = u64::from(job.spec.provider.max_output_tokens) * 8 + RESULT_OVERHEAD;
    let factor = crate::price::batch_factor();
    let mut parts: Vec<Part> = Vec::new();
    let mut open = new_part(kind);
    for (request, item) in built.requests.iter().zip(&input.items) {
        let id = custom_id(&item.key, &item.signature, item.attempt);
        let line = match kind {
            ProviderKind::Openai => format!(
                "{{\"custom_id\":\"{id}\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}}\n",
                request.body
            ),
            ProviderKind::Anthropic => format!("{{\"custom_id\":\"{id}\",\"params\":{}}}", request.body),
        };
        let bytes = line.len() as u64 + 1;
        if bytes + 64 > max_bytes || max_result + 64 > max_bytes {
            let found = format!("a request of {bytes} bytes, results up to {max_result} bytes");
            let problem =
                Problem::new(format!("items[{}]", item.key), format!("parts of at most {max_bytes} bytes"));
            return Err(Error::invalid(problem.found(found)));
        }
        let full = open.lines >= max_lines
            || open.bytes + bytes > max_bytes
            || open.result_bytes + max_result > max_bytes;
        if full {
            parts.push(close(kind, std::mem::replace(&mut open, new_part(kind))));
        }
        if kind == ProviderKind::Anthropic && open.lines > 0 {
            open.body.push(',');
        }
        open.body.push_str(&line);
        open.lines += 1;
        open.bytes += bytes;
        open.result_bytes += max_result;
        open.reserve_usd += request.reserve_usd * factor;
        open.keys.push(item.key.clone());
    }
    if open.lines > 0 {
        parts.push(close(kind, open));
    }
    Ok(Files { parts, max_lines, max_bytes, max_result_line_bytes: max_result })
}

fn new_part(kind: ProviderKind) -> Part {
    let body = if kind == ProviderKind::Anthropic { "{\"requests\":[".to_owned() } else { String::new() };
    let bytes = body.len() as u64 + 2;
    Part { body, lines: 0, bytes, result_bytes: 0, reserve_usd: 0.0, keys: Vec::new() }
}

fn close(kind: ProviderKind, mut part: Part) -> Part {
    if kind == ProviderKind::Anthropic {
        part.body.push_str("]}");
    }
    part.bytes = part.body.len() as u64;
    part
}

/// One HTTP call of the batch protocol; the host adds the API key as `auth` says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub method: &'static str,
    pub url: String,
    pub auth: &'static str,
    pub headers: Vec<(String, String)>,
    /// JSON to send, if any.
    pub body: Option<String>,
    /// For an upload: send `multipart/form-data` with these text fields and the part's body as
    /// the file field `file`.
    pub form: Option<Vec<(String, String)>>,
    pub file_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallInput {
    pub spec: Value,
    /// `upload` (OpenAI), `create`, `status`, `cancel`, `download` (a file id for OpenAI, the
    /// results URL for Anthropic).
    pub op: String,
    #[serde(default)]
    pub id: Option<String>,
    /// `create`: OpenAI's uploaded file id; `download`: a file id or results URL.
    #[serde(default)]
    pub file: Option<String>,
    /// `create` for Anthropic: the part's body.
    #[serde(default)]
    pub body: Option<String>,
    /// `create`: a label the provider keeps with the batch.
    #[serde(default)]
    pub label: Option<String>,
}

pub fn call(input: CallInput) -> Result<Call> {
    let job = Job::compile(&input.spec)?;
    call_with(&job, input)
}

/// [`call`] for a compiled job (`input.spec` is not read).
pub fn call_with(job: &Job, input: CallInput) -> Result<Call> {
    let kind = job.spec.provider.kind;
    let base = provider::base_url(job);
    let base = base.as_str();
    let endpoint = provider::endpoint(job);
    let need = |v: &Option<String>, what: &str| {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::invalid(Problem::new(what, format!("a value for the {} call", input.op)).found("nothing"))
        })
    };
    let safe_id = |v: &Option<String>| {
        need(v, "id").and_then(|id| {
            if id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                Ok(id)
            } else {
                Err(Error::invalid(Problem::new("id", "a batch or file id").found(clip(&id, 80))))
            }
        })
    };
    let mut c = Call {
        method: "GET",
        url: String::new(),
        auth: endpoint.auth,
        headers: endpoint.headers.iter().filter(|(k, _)| k != "content-type").cloned().collect(),
        body: None,
        form: None,
        file_name: None,
    };
    let label = input.label.clone().unwrap_or_else(|| job.spec.name.clone());
    match (kind, input.op.as_str()) {
        (ProviderKind::Openai, "upload") => {
            c.method = "POST";
            c.url = format!("{base}/files");
            c.form = Some(vec![("purpose".into(), "batch".into())]);
            c.file_name = Some("rowbatch.jsonl".into());
        }
        (ProviderKind::Openai, "create") => {
            c.method = "POST";
            c.url = format!("{base}/batches");
            let body = json!({
                "input_file_id": safe_id(&input.file)?,
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
                "metadata": { "job": clip(&label, 500), "spec": job.version },
            });
            c.body = Some(body.to_string());
        }
        (ProviderKind::Anthropic, "create") => {
            c.method = "POST";
            c.url = format!("{base}/messages/batches");
            c.body = Some(need(&input.body, "body")?);
        }
        (ProviderKind::Openai, "status") => c.url = format!("{base}/batches/{}", safe_id(&input.id)?),
        (ProviderKind::Anthropic, "status") => {
            c.url = format!("{base}/messages/batches/{}", safe_id(&input.id)?)
        }
        (ProviderKind::Openai, "cancel") => {
            c.method = "POST";
            c.url = format!("{base}/batches/{}/cancel", safe_id(&input.id)?);
        }
        (ProviderKind::Anthropic, "cancel") => {
            c.method = "POST";
            c.url = format!("{base}/messages/batches/{}/cancel", safe_id(&input.id)?);
        }
        (ProviderKind::Openai, "download") => {
            c.url = format!("{base}/files/{}/content", safe_id(&input.file)?)
        }
        (ProviderKind::Anthropic, "download") => {
            let url = need(&input.file, "file")?;
            // The results URL comes from the provider's answer: only ever sent where the key goes.
            let origin = |u: &str| u.split('/').take(3).collect::<Vec<_>>().join("/");
            if origin(&url) != origin(base) {
                return Err(Error::invalid(
                    Problem::new("file", format!("a results URL on {}", origin(base))).found(clip(&url, 200)),
                ));
            }
            c.url = url;
        }
        (_, op) => {
            let ops = if kind == ProviderKind::Openai {
                "upload, create, status, cancel or download"
            } else {
                "create, status, cancel or download"
            };
            return Err(Error::invalid(Problem::new("op", ops).found(clip(op, 40))));
        }
    }
    if c.body.is_some() {
        c.headers.push(("content-type".into(), "application/json".into()));
    }
    Ok(c)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateInput {
    pub spec: Value,
    /// The provider's batch object as text (from `create`, `status` or `cancel`).
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchState {
    pub id: String,
    pub state: State,
    /// The provider's own word for it.
    pub provider_status: String,
    pub is_final: bool,
    /// OpenAI's answers and errors files; Anthropic's results URL.
    pub results: Vec<String>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Why a batch failed as a whole (OpenAI validation errors).
    pub message: String,
}

pub fn state(input: StateInput) -> Result<BatchState> {
    let job = Job::compile(&input.spec)?;
    state_with(&job, input)
}

/// [`state`] for a compiled job (`input.spec` is not read).
pub fn state_with(job: &Job, input: StateInput) -> Result<BatchState> {
    let v: Value = crate::decode::value(input.body.as_bytes()).map_err(|e| {
        Error::invalid(
            Problem::new("body", "the provider's batch object (JSON)")
                .found(format!("{e}: {}", clip(&input.body, 200))),
        )
    })?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let id = s("/id");
    if id.is_empty() {
        return Err(Error::invalid(Problem::new("body.id", "a batch id").found(clip(&input.body, 200))));
    }
    let out = match job.spec.provider.kind {
        ProviderKind::Openai => {
            let status = s("/status");
            let state = match status.as_str() {
                "validating" => State::Validating,
                "in_progress" => State::InProgress,
                "finalizing" => State::Finalizing,
                "completed" => State::Completed,
                "failed" => State::Failed,
                "expired" => State::Expired,
                "cancelling" => State::Cancelling,
                "cancelled" => State::Cancelled,
                _ => State::Submitted,
            };
            let results = ["/output_file_id", "/error_file_id"]
                .iter()
                .map(|p| s(p))
                .filter(|f| !f.is_empty())
                .collect();
            let messages: Vec<String> = v
                .pointer("/errors/data")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get("message").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            BatchState {
                id,
                state,
                provider_status: status,
                is_final: state.is_final(),
                results,
                total: n("/request_counts/total"),
                succeeded: n("/request_counts/completed"),
                failed: n("/request_counts/failed"),
                message: clip(&messages.join("; "), 1_000),
            }
        }
        ProviderKind::Anthropic => {
            let status = s("/processing_status");
            let c = |k: &str| n(&format!("/request_counts/{k}"));
            let total =
                ["processing", "succeeded", "errored", "canceled", "expired"].iter().map(|k| c(k)).sum();
            let state = match status.as_str() {
                "in_progress" => State::InProgress,
                "canceling" => State::Cancelling,
                "ended" if !v.get("cancel_initiated_at").is_none_or(Value::is_null) => State::Cancelled,
                "ended" if c("expired") > 0 && c("succeeded") + c("errored") == 0 => State::Expired,
                "ended" => State::Completed,
                _ => State::Submitted,
            };
            let url = s("/results_url");
            BatchState {
                id,
                state,
                provider_status: status,
                is_final: state.is_final(),
                results: if url.is_empty() { Vec::new() } else { vec![url] },
                total,
                succeeded: c("succeeded"),
                failed: c("errored") + c("canceled") + c("expired"),
                message: String::new(),
            }
        }
    };
    Ok(out)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultsInput {
    pub spec: Value,
    /// Result lines (JSONL): a whole file or a slice of one, in any order.
    pub text: String,
    /// The input as it is now: lines are matched to rows by key, and a row edited since it was
    /// submitted is not answered with its old content's answer.
    pub inputs: KeyedRows,
    pub now: f64,
    pub seed: String,
    /// Set with the batch's lease holder on the last slice: the batch's rows that had no line
    /// are released (so the planner can send them again) without using an attempt.
    #[serde(default)]
    pub last: Option<Last>,
    /// The batch's lease holder and the progress block read for this slice: a line whose row
    /// this batch no longer holds (ingested by an earlier slice, or released) is not ingested
    /// again, so a slice run twice neither writes nor re-asks anything twice.
    #[serde(default)]
    pub lease: Option<Lease>,
    #[serde(default)]
    pub budget: Option<crate::budget::Budget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lease {
    pub holder: String,
    #[serde(default)]
    pub progress: Block,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Last {
    /// The lease holder (`batch:<id>`) written when the batch was submitted.
    pub holder: String,
    #[serde(default)]
    pub progress: Block,
    /// Why the rows without a line have none (the batch failed, expired, was cancelled).
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    /// As `ingest` makes them: answers to write, re-asks (for the realtime path), retries,
    /// failures and releases.
    pub results: Vec<RowResult>,
    /// Per result, the attempt the batch line was.
    pub attempts: Vec<u32>,
    pub lines: usize,
    /// Lines that match no row (deleted since) or are not result lines at all.
    pub unmatched: Vec<Unmatched>,
    pub cost_usd: f64,
    pub budget: Option<crate::budget::Budget>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unmatched {
    pub line: usize,
    pub custom_id: String,
    pub reason: String,
}

/// A result line as a response the realtime path understands, or an outcome without one.
enum Line {
    Response(ingest::Response),
    Outcome(Status, &'static str, String),
}

pub fn results(input: ResultsInput) -> Result<Results> {
    let job = Job::compile(&input.spec)?;
    results_with(&job, input)
}

/// [`results`] for a compiled job (`input.spec` is not read).
pub fn results_with(job: &Job, input: ResultsInput) -> Result<Results> {
    let kind = job.spec.provider.kind;
    let rows = &input.inputs;
    let mut by_hash: rustc_hash::FxHashMap<String, usize> = Default::default();
    for (i, key) in rows.keys.iter().enumerate() {
        if !key.is_empty() {
            by_hash.insert(key_hash(key), i);
        }
    }
    let mut out = Results {
        results: Vec::new(),
        attempts: Vec::new(),
        lines: 0,
        unmatched: Vec::new(),
        cost_usd: 0.0,
        budget: input.budget,
    };
    let (mut sent, mut responses) = (Vec::new(), Vec::new());
    let mut seen = vec![false; rows.keys.len()];
    let empty = Block::default();
    let held = input.lease.as_ref().map(|l| (l, Ledger::read(&empty, &l.progress, &job.version)));
    for (n, text) in input.text.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        out.lines += 1;
        let unmatched = |id: &str, reason: &str| Unmatched {
            line: n + 1,
            custom_id: clip(id, 80),
            reason: reason.to_owned(),
        };
        let Ok(v) = crate::decode::value(text.as_bytes()) else {
            out.unmatched.push(unmatched("", "not JSON"));
            continue;
        };
        let id = v.get("custom_id").and_then(Value::as_str).unwrap_or_default();
        let Some((k, s, attempt)) = parse_custom_id(id) else {
            out.unmatched.push(unmatched(id, "not a rowbatch custom_id"));
            continue;
        };
        let Some(&i) = by_hash.get(k) else {
            out.unmatched.push(unmatched(id, "no row has this key now"));
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            out.unmatched.push(unmatched(id, "a second line for this row"));
            continue;
        }
        let (key, sig) = (&rows.keys[i], &rows.signatures[i]);
        if let Some((lease, ledger)) = &held
            && ledger.progress.get(key.as_str()).is_none_or(|p| p.leased_by != lease.holder)
        {
            out.unmatched
                .push(unmatched(id, "this batch no longer holds the row (ingested already, or released)"));
            continue;
        }
        let line = if signature_hash(sig) != s {
            Line::Outcome(
                Status::Released,
                "edited",
                "the row was edited after the batch was submitted; it is sent again".into(),
            )
        } else {
            read_line(kind, &v)
        };
        match line {
            Line::Response(r) => {
                sent.push(Sent {
                    key: key.clone(),
                    signature: sig.clone(),
                    attempt,
                    reasks: 0,
                    reserve_usd: 0.0,
                });
                responses.push(r);
            }
            Line::Outcome(status, code, note) => {
                out.results.push(RowResult::without_response(key, sig, status, code, note));
                out.attempts.push(attempt);
            }
        }
    }
    if !sent.is_empty() {
        let attempts: Vec<u32> = sent.iter().map(|s| s.attempt).collect();
        let ingested = ingest::ingest_with(
            job,
            &IngestInput {
                spec: Value::Null,
                sent,
                responses,
                now: input.now,
                seed: input.seed.clone(),
                limiter: None,
                budget: out.budget,
                batch: true,
                day: None,
                wave_ms: None,
            },
        )?;
        out.cost_usd = ingested.cost_usd;
        out.budget = ingested.budget;
        out.results.extend(ingested.results);
        out.attempts.extend(attempts);
    }
    if let Some(last) = &input.last {
        let ledger = Ledger::read(&empty, &last.progress, &job.version);
        let reason = if last.reason.is_empty() {
            "the batch ended without an answer for this row"
        } else {
            &last.reason
        };
        for (i, (key, sig)) in rows.keys.iter().zip(&rows.signatures).enumerate() {
            let held = ledger.progress.get(key.as_str()).is_some_and(|p| p.leased_by == last.holder);
            if !key.is_empty() && held && !seen[i] {
                out.results.push(RowResult::without_response(
                    key,
                    sig,
                    Status::Released,
                    "no_line",
                    reason.to_owned(),
                ));
                out.attempts.push(1);
            }
        }
    }
    Ok(out)
}

/// A line of OpenAI's output or error file, or of Anthropic's results.
fn read_line(kind: ProviderKind, v: &Value) -> Line {
    let text = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    match kind {
        ProviderKind::Openai => {
            if let Some(code) = v.pointer("/response/status_code").and_then(Value::as_u64) {
                let body = v.pointer("/response/body").map(Value::to_string).unwrap_or_default();
                return Line::Response(ingest::Response {
                    status: code as u16,
                    headers: BTreeMap::new(),
                    body,
                });
            }
            let (code, message) = (text("/error/code"), text("/error/message"));
            match code.as_str() {
                "batch_expired" => Line::Outcome(
                    Status::Retry,
                    "expired",
                    "the batch expired before this row was answered".into(),
                ),
                "batch_cancelled" => {
                    Line::Outcome(Status::Released, "cancelled", "the batch was cancelled".into())
                }
                _ => Line::Outcome(
                    Status::Retry,
                    "batch_error",
                    format!("batch line failed: {}", clip(&format!("{code} {message}"), 300)),
                ),
            }
        }
        ProviderKind::Anthropic => match text("/result/type").as_str() {
            "succeeded" => {
                let body = v.pointer("/result/message").map(Value::to_string).unwrap_or_default();
                Line::Response(ingest::Response { status: 200, headers: BTreeMap::new(), body })
            }
            "errored" => {
                // The error object a realtime call would have had; its type decides the class.
                let error = v.pointer("/result/error").cloned().unwrap_or(Value::Null);
                let status = match error.pointer("/error/type").and_then(Value::as_str) {
                    Some("invalid_request_error") => 400,
                    Some("authentication_error") => 401,
                    Some("permission_error") => 403,
                    Some("not_found_error") => 404,
                    Some("request_too_large") => 413,
                    Some("rate_limit_error") => 429,
                    Some("overloaded_error") => 529,
                    _ => 500,
                };
                Line::Response(ingest::Response { status, headers: BTreeMap::new(), body: error.to_string() })
            }
            "canceled" => Line::Outcome(Status::Released, "cancelled", "the batch was cancelled".into()),
            "expired" => Line::Outcome(
                Status::Retry,
                "expired",
                "the batch expired before this row was answered".into(),
            ),
            other => Line::Outcome(
                Status::Retry,
                "batch_error",
                format!("unknown result type {}", clip(other, 40)),
            ),
        },
    }
}
