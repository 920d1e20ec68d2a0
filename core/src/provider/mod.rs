//! Everything between "send this row" and "write this": request bodies for OpenAI-compatible
//! servers and Anthropic, and reading their responses back.

pub mod anthropic;
pub mod classify;
pub mod openai;

use crate::cell::Cell;
use crate::error::Result;
use crate::price::Usage;
use crate::prompt::{self, PrefixReport};
use crate::spec::{Job, ProviderKind};
use crate::validate;
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Value, json};

/// Where requests go and how the host authenticates them. The API key never enters the core:
/// the host adds it from Properties as `auth` says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub url: String,
    /// `bearer` (an `Authorization: Bearer` header) or `x-api-key`.
    pub auth: &'static str,
    /// Other headers every request carries.
    pub headers: Vec<(String, String)>,
}

pub fn endpoint(job: &Job) -> Endpoint {
    let base = base_url(job);
    let json = ("content-type".to_owned(), "application/json".to_owned());
    match job.spec.provider.kind {
        ProviderKind::Openai => {
            Endpoint { url: format!("{base}/chat/completions"), auth: "bearer", headers: vec![json] }
        }
        ProviderKind::Anthropic => Endpoint {
            url: format!("{base}/messages"),
            auth: "x-api-key",
            headers: vec![json, ("anthropic-version".to_owned(), anthropic::VERSION.to_owned())],
        },
    }
}

/// The provider's base URL (`provider.baseUrl`, else the provider's own), without a trailing `/`.
pub fn base_url(job: &Job) -> String {
    let p = &job.spec.provider;
    let default = match p.kind {
        ProviderKind::Openai => openai::BASE_URL,
        ProviderKind::Anthropic => anthropic::BASE_URL,
    };
    p.base_url.as_deref().unwrap_or(default).trim_end_matches('/').to_owned()
}

/// A `GET` of the job's model, which spends nothing: both providers answer 200 when the key may
/// use the model, 401 for a wrong key, 404 for a model they do not have (OpenAI: "Retrieve
/// model", `GET /v1/models/{model}`; Anthropic: "Get a Model", `GET /v1/models/{model_id}`).
pub fn model_lookup(job: &Job) -> Endpoint {
    let mut e = endpoint(job);
    let id: String = job
        .spec
        .provider
        .model
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    e.url = format!("{}/models/{id}", base_url(job));
    e.headers.retain(|(k, _)| k != "content-type");
    e
}

/// One row to ask about, with its cells as the input block holds them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Item {
    pub key: String,
    pub signature: String,
    pub row: Vec<Cell>,
    /// Set when the row's last answer failed validation and is being asked again.
    #[serde(default)]
    pub reask: Option<Reask>,
}

/// A previous answer and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reask {
    pub answer: String,
    pub problems: Vec<String>,
    /// Re-asks so far, this one included.
    pub count: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildInput {
    pub spec: Value,
    pub header: Vec<String>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Built {
    pub endpoint: Endpoint,
    pub requests: Vec<Request>,
    pub prefix: PrefixReport,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub key: String,
    pub signature: String,
    /// The exact bytes to POST.
    pub body: String,
    /// Estimated prompt tokens (for rate limits and ETAs).
    pub prompt_tokens: u64,
    /// The most this request can use: prompt upper bound plus the whole output allowance.
    pub reserve_tokens: u64,
    /// The most it can cost; 0 when the model has no price.
    pub reserve_usd: f64,
    pub reasks: u32,
}

/// The messages after the static prefix.
#[derive(Debug, Clone)]
pub struct Turns {
    pub user: String,
    pub reask: Option<(String, String)>,
}

pub fn build_requests(input: BuildInput) -> Result<Built> {
    let job = Job::compile(&input.spec)?;
    build_requests_with(&job, &input)
}

/// [`build_requests`] for a compiled job (`input.spec` is not read).
pub fn build_requests_with(job: &Job, input: &BuildInput) -> Result<Built> {
    let positions = validate::require_positions(job, &input.header)?;
    let fixed = Fixed { prefix: prompt::prefix(job), schema: job.provider_schema().0 };
    let requests = input.items.iter().map(|item| request(job, &fixed, &positions, item)).collect();
    Ok(Built { endpoint: endpoint(job), requests, prefix: prompt::prefix_report(job, &fixed.prefix) })
}

/// The parts of every body that are the same for each row, made once per call.
pub struct Fixed {
    pub prefix: String,
    /// The provider's strict form of the output schema; `None` when the prompt alone asks.
    pub schema: Option<Value>,
}

fn request(job: &Job, fixed: &Fixed, positions: &[usize], item: &Item) -> Request {
    let user = prompt::row_text(job, &prompt::row_object(job, positions, &item.row));
    let reask = item.reask.as_ref().map(|r| {
        let list: Vec<String> = r.problems.iter().map(|p| format!("- {p}")).collect();
        let ask = format!(
            "That answer does not pass validation:\n{}\nReply with the corrected JSON object only.",
            list.join("\n")
        );
        (r.answer.clone(), ask)
    });
    let turns = Turns { user, reask };
    let body = match job.spec.provider.kind {
        ProviderKind::Openai => openai::body(job, fixed, &turns),
        ProviderKind::Anthropic => anthropic::body(job, fixed, &turns),
    };
    let text_len =
        fixed.prefix.len() + turns.user.len() + turns.reask.as_ref().map_or(0, |(a, q)| a.len() + q.len());
    let prompt_tokens = (text_len as u64).div_ceil(4);
    let max_output = u64::from(job.spec.provider.max_output_tokens);
    let prompt_max = text_len as u64 + 16 * 4;
    Request {
        key: item.key.clone(),
        signature: item.signature.clone(),
        body: body.to_string(),
        prompt_tokens,
        reserve_tokens: prompt_max + max_output,
        reserve_usd: job.price.as_ref().map_or(0.0, |p| p.worst_case(prompt_max, max_output)),
        reasks: item.reask.as_ref().map_or(0, |r| r.count),
    }
}

/// The messages list both providers share: the row, then any re-ask exchange.
pub fn messages(turns: &Turns) -> Vec<Value> {
    let mut out = vec![json!({ "role": "user", "content": turns.user })];
    if let Some((answer, ask)) = &turns.reask {
        out.push(json!({ "role": "assistant", "content": answer }));
        out.push(json!({ "role": "user", "content": ask }));
    }
    out
}

/// Why a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Finish {
    Complete,
    /// Cut off at the output token limit: the JSON is incomplete.
    Truncated,
    Refused,
    Other,
}

/// A successful response body, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    pub finish: Finish,
    /// The refusal or stop explanation, when the provider gave one.
    pub reason: String,
    pub usage: Usage,
}

pub fn read_reply(job: &Job, body: &Value) -> Option<Reply> {
    match job.spec.provider.kind {
        ProviderKind::Openai => openai::read(body),
        ProviderKind::Anthropic => anthropic::read(body),
    }
}

/// The JSON in a model's text: the whole text, else a fenced block, else the outermost
/// `{…}` in surrounding prose.
pub fn extract_json(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = crate::decode::value(t.as_bytes()) {
        return Some(v);
    }
    if let Some(start) = t.find("```") {
        let after = &t[start + 3..];
        let body = after
            .split_once('\n')
            .map_or(after, |(lang, rest)| if lang.trim().len() < 12 { rest } else { after });
        if let Some(end) = body.find("```")
            && let Ok(v) = crate::decode::value(body[..end].trim().as_bytes())
        {
            return Some(v);
        }
    }
    let (open, close) = (t.find('{')?, t.rfind('}')?);
    crate::decode::value(t.get(open..=close)?.as_bytes()).ok()
}
