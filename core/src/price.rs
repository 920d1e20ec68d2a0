//! Prices as data (`core/prices/prices.json`, each with its date) and usage → dollars.

use serde::Deserialize;
use serde::Serialize;
use std::sync::OnceLock;

/// USD per million tokens for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Price {
    /// The model id this price is for (a prefix: `gpt-4o-mini` covers its dated snapshots).
    #[serde(default)]
    pub model: String,
    /// The provider that serves it (`openai`, `anthropic`), for the new-job form's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub input: f64,
    pub cached_input: f64,
    /// Anthropic's cache writes (1.25 × input for the 5-minute cache); OpenAI has none.
    #[serde(default)]
    pub cache_write: Option<f64>,
    pub output: f64,
    /// The shortest prompt prefix the provider caches.
    #[serde(default)]
    pub cache_min_tokens: Option<u32>,
    /// Whether the model takes a schema-constrained answer format (Anthropic lists the models
    /// with structured outputs; OpenAI's strict mode came with gpt-4o-2024-08-06).
    #[serde(default)]
    pub structured_outputs: Option<bool>,
    /// When the price was read off the provider's page.
    pub date: String,
}

/// The built-in price table, as the new-job form lists it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub batch_discount: f64,
    pub models: Vec<Price>,
}

/// The whole built-in table.
pub fn table_of(_: serde_json::Value) -> crate::error::Result<&'static Table> {
    Ok(table())
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let json =
            crate::decode::value(include_bytes!("../prices/prices.json")).expect("prices.json is JSON");
        crate::read::at::<Table>("", json).expect("prices.json is a price table")
    })
}

/// The built-in price of a model: the entry with the longest id that starts the model's id.
pub fn builtin(model: &str) -> Option<Price> {
    table().models.iter().filter(|p| model.starts_with(&p.model)).max_by_key(|p| p.model.len()).cloned()
}

/// The models the table knows, for messages.
pub fn known() -> Vec<&'static str> {
    table().models.iter().map(|p| p.model.as_str()).collect()
}

/// Batch APIs charge this share of the realtime price.
pub fn batch_factor() -> f64 {
    table().batch_discount
}

/// Tokens of one response, split the way they are priced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    /// Prompt tokens read at the full price.
    pub input: u64,
    /// Prompt tokens served from the provider's cache.
    pub cached_input: u64,
    /// Prompt tokens written to the cache (Anthropic).
    pub cache_write: u64,
    pub output: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.input += other.input;
        self.cached_input += other.cached_input;
        self.cache_write += other.cache_write;
        self.output += other.output;
    }

    /// Every prompt token, cached or not: what rate limits count.
    pub fn prompt(&self) -> u64 {
        self.input + self.cached_input + self.cache_write
    }
}

impl Price {
    pub fn cost(&self, u: &Usage, batch: bool) -> f64 {
        let write = self.cache_write.unwrap_or(self.input);
        let usd = (u.input as f64 * self.input
            + u.cached_input as f64 * self.cached_input
            + u.cache_write as f64 * write
            + u.output as f64 * self.output)
            / 1e6;
        if batch { usd * batch_factor() } else { usd }
    }

    /// The most a request can cost: every prompt token at the highest input rate (a cache write
    /// costs more than a plain read) and the whole output allowance.
    pub fn worst_case(&self, prompt_tokens: u64, max_output: u64) -> f64 {
        let input = self.input.max(self.cache_write.unwrap_or(0.0));
        (prompt_tokens as f64 * input + max_output as f64 * self.output) / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_model_wins() {
        assert_eq!(builtin("gpt-4o-mini-2024-07-18").unwrap().model, "gpt-4o-mini");
        assert_eq!(builtin("gpt-4o-2024-08-06").unwrap().model, "gpt-4o");
        assert_eq!(builtin("claude-sonnet-4-5").unwrap().cache_write, Some(3.75));
        assert_eq!(builtin("llama3"), None);
    }

    #[test]
    fn usage_is_priced_by_kind_and_halved_in_batches() {
        let p = builtin("claude-haiku-4-5").unwrap();
        let u =
            Usage { input: 1_000_000, cached_input: 1_000_000, cache_write: 1_000_000, output: 1_000_000 };
        assert!((p.cost(&u, false) - (1.0 + 0.1 + 1.25 + 5.0)).abs() < 1e-9);
        assert!((p.cost(&u, true) - (1.0 + 0.1 + 1.25 + 5.0) / 2.0).abs() < 1e-9);
        assert!((p.worst_case(1000, 100) - (1000.0 * 1.25 + 100.0 * 5.0) / 1e6).abs() < 1e-12);
    }
}
