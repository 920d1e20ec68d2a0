//! Prompts that make provider caching work: a static prefix — instructions, the output schema,
//! the examples — byte-identical for every row, and the row's data after it.

use crate::canonical;
use crate::cell::Cell;
use crate::spec::Job;
use serde::Serialize;
use serde_json::{Map, Value};

/// What the prefix costs and whether the provider will cache it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrefixReport {
    pub chars: usize,
    /// Estimated tokens (see [`estimate_tokens`]).
    pub tokens: u64,
    /// The provider's caching minimum for this model, when known.
    pub cache_min_tokens: Option<u32>,
    pub cacheable: bool,
    /// Set when the prefix is too short to be cached: every row pays for all of it.
    pub warning: Option<String>,
}

/// The static part of every request, built from the spec alone.
pub fn prefix(job: &Job) -> String {
    let p = &job.spec.prompt;
    let mut out = String::with_capacity(p.system.len() + 2048);
    out.push_str(p.system.trim_end());
    out.push_str("\n\nAnswer with one JSON object that matches this JSON Schema, and nothing else:\n");
    out.push_str(&job.output_schema.to_json().to_string());
    let (_, left_out) = job.provider_schema();
    if !left_out.is_empty() {
        out.push_str("\nThe answer format cannot enforce these parts of the schema; keep to them, answers are checked:");
        for rule in &left_out {
            out.push_str("\n- ");
            out.push_str(rule);
        }
    }
    for (i, ex) in p.examples.iter().enumerate() {
        out.push_str(&format!("\n\nExample {}\nInput: ", i + 1));
        out.push_str(&render(&p.template, |name| ex.input.get(name).map(value_text)));
        out.push_str("\nOutput: ");
        out.push_str(&ex.output.to_string());
    }
    out
}

/// The row's part of a request: the template with each `{{Column}}` replaced by its value.
pub fn row_text(job: &Job, row: &Map<String, Value>) -> String {
    render(&job.spec.prompt.template, |name| row.get(name).map(value_text))
}

/// Rough tokens for sizing, ETAs and estimates: four bytes of UTF-8 to a token, as OpenAI's
/// rule of thumb has it for English. Budgets use [`max_tokens`] instead.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// An upper bound for budget reservations: a token is at least one byte, and a request adds a
/// few tokens of framing per message.
pub fn max_tokens(text: &str) -> u64 {
    text.len() as u64 + 16
}

/// What [`prefix`]'s `text` costs and whether it will be cached.
pub fn prefix_report(job: &Job, text: &str) -> PrefixReport {
    let tokens = estimate_tokens(text);
    let min = job.price.as_ref().and_then(|p| p.cache_min_tokens);
    let cacheable = min.is_some_and(|m| tokens >= u64::from(m));
    let warning = match min {
        Some(m) if !cacheable => Some(format!(
            "the static prompt is about {tokens} tokens; {} caches prompts of {m} or more, so every row pays \
             for all of it (longer instructions or more examples would be cached)",
            job.spec.provider.model
        )),
        _ => None,
    };
    PrefixReport { chars: text.chars().count(), tokens, cache_min_tokens: min, cacheable, warning }
}

fn render(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        // The spec check guarantees every `{{` closes and names a column.
        let Some(close) = after.find("}}") else { break };
        out.push_str(&value(after[..close].trim()).unwrap_or_default());
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A value as it reads in a prompt: text as it is, numbers in canonical spelling, empty as "".
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().and_then(canonical::number).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// A row's cells as the object the template reads, typed like validation types them.
pub fn row_object(job: &Job, positions: &[usize], row: &[Cell]) -> Map<String, Value> {
    let nulls = job
        .spec
        .input
        .null_tokens
        .as_deref()
        .map_or_else(canonical::NullTokens::default, canonical::NullTokens::new);
    let cells: Vec<&Cell> = positions.iter().map(|&p| row.get(p).unwrap_or(&Cell::Empty)).collect();
    match crate::validate::check_row(job, &cells, &nulls).0 {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
