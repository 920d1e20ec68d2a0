//! Anthropic Messages.

use super::{Finish, Fixed, Reply, Turns, messages};
use crate::price::Usage;
use crate::spec::Job;
use serde_json::{Value, json};

pub const BASE_URL: &str = "https://api.anthropic.com/v1";
pub const VERSION: &str = "2023-06-01";

/// The static prefix is the system block, marked for caching; the answer is constrained by
/// `output_config.format` (in Anthropic's narrower subset) on the models that have structured
/// outputs, and asked for by the prompt alone on the others.
pub fn body(job: &Job, fixed: &Fixed, turns: &Turns) -> Value {
    let p = &job.spec.provider;
    let mut body = json!({
        "model": p.model,
        "max_tokens": p.max_output_tokens,
        "system": [{ "type": "text", "text": fixed.prefix, "cache_control": { "type": "ephemeral" } }],
        "messages": messages(turns),
    });
    if let Some(schema) = &fixed.schema {
        body["output_config"] = json!({ "format": { "type": "json_schema", "schema": schema } });
    }
    // No `temperature`: the Messages request type of @anthropic-ai/sdk 1.12 no longer has it
    // (nor top_p/top_k), and a field the API does not define is a 400 ("temperature: Extra
    // inputs are not permitted"). The spec's temperature is for OpenAI-compatible servers.
    body
}

pub fn read(body: &Value) -> Option<Reply> {
    let blocks = body.get("content")?.as_array()?;
    let text: String = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let finish = match body.get("stop_reason").and_then(Value::as_str) {
        Some("end_turn" | "stop_sequence") => Finish::Complete,
        Some("max_tokens" | "model_context_window_exceeded") => Finish::Truncated,
        Some("refusal") => Finish::Refused,
        _ => Finish::Other,
    };
    let u = body.get("usage");
    let n = |k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    let reason = body.pointer("/stop_details/explanation").and_then(Value::as_str).unwrap_or_default();
    Some(Reply {
        reason: if finish == Finish::Refused && reason.is_empty() { text.clone() } else { reason.to_owned() },
        text,
        finish,
        usage: Usage {
            input: n("input_tokens"),
            cached_input: n("cache_read_input_tokens"),
            cache_write: n("cache_creation_input_tokens"),
            output: n("output_tokens"),
        },
    })
}
