//! OpenAI Chat Completions and the servers that speak it (Azure-style, OpenRouter, Ollama, vLLM).

use super::{Finish, Fixed, Reply, Turns, messages};
use crate::price::Usage;
use crate::spec::Job;
use serde_json::{Value, json};

pub const BASE_URL: &str = "https://api.openai.com/v1";

/// A strict json_schema response format (the schema in OpenAI's subset: see
/// [`crate::schema::Dialect`]) unless the spec turned it off, and no `cache_control`: OpenAI caches exact prefixes
/// of 1,024+ tokens by itself, and strict servers reject the field.
pub fn body(job: &Job, fixed: &Fixed, turns: &Turns) -> Value {
    let p = &job.spec.provider;
    let mut msgs = vec![json!({ "role": "system", "content": fixed.prefix })];
    msgs.extend(messages(turns));
    let mut body = json!({
        "model": p.model,
        "messages": msgs,
        "max_completion_tokens": p.max_output_tokens,
    });
    if let Some(schema) = &fixed.schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": { "name": "row_output", "strict": true, "schema": schema }
        });
    }
    if let Some(t) = p.temperature {
        body["temperature"] = json!(t);
    }
    // Routes rows of one job to the same cache; only OpenAI's own API knows the field.
    if p.base_url.as_deref().is_none_or(|u| u.trim_end_matches('/') == BASE_URL) {
        body["prompt_cache_key"] = json!(format!("rowbatch-{}", job.version));
    }
    body
}

pub fn read(body: &Value) -> Option<Reply> {
    let choice = body.get("choices")?.get(0)?;
    let message = choice.get("message")?;
    let refusal = message.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty());
    let finish = match (refusal, choice.get("finish_reason").and_then(Value::as_str)) {
        (Some(_), _) | (_, Some("content_filter")) => Finish::Refused,
        (_, Some("length")) => Finish::Truncated,
        (_, Some("stop")) => Finish::Complete,
        _ => Finish::Other,
    };
    let u = body.get("usage");
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let prompt = n(u.and_then(|u| u.get("prompt_tokens")));
    let cached = n(u.and_then(|u| u.pointer("/prompt_tokens_details/cached_tokens"))).min(prompt);
    Some(Reply {
        text: message.get("content").and_then(Value::as_str).unwrap_or_default().to_owned(),
        finish,
        reason: refusal.unwrap_or_default().to_owned(),
        usage: Usage {
            input: prompt - cached,
            cached_input: cached,
            cache_write: 0,
            output: n(u.and_then(|u| u.get("completion_tokens"))),
        },
    })
}
