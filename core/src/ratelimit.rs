//! Token buckets for requests and tokens (input and output apart for Anthropic), seeded from the
//! spec, corrected by the providers' headers, halved by a 429 and grown back by successes. The
//! wave size follows from what they hold.

use crate::spec::{Job, ProviderKind};
use serde::Deserialize;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bucket {
    /// Per minute, as the provider or the spec states it.
    pub limit: f64,
    pub available: f64,
}

impl Bucket {
    fn new(limit: f64) -> Self {
        Self { limit, available: limit }
    }

    fn refill(&mut self, ms: f64, factor: f64) {
        let cap = self.limit * factor;
        self.available = (self.available + self.limit * ms / 60_000.0).min(cap);
    }

    /// Takes a provider's `limit`/`remaining` pair: the limit is the truth, and what remains can
    /// only lower what we think we have.
    fn correct(&mut self, limit: Option<f64>, remaining: Option<f64>) {
        if let Some(l) = limit.filter(|l| *l > 0.0) {
            self.limit = l;
        }
        if let Some(r) = remaining {
            self.available = self.available.min(r);
        }
    }
}

/// The limiter's state: small, kept by the host between executions (in Properties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limiter {
    pub requests: Bucket,
    /// Every token for OpenAI; input tokens for Anthropic.
    pub tokens: Bucket,
    /// Anthropic's separate output-token limit, once its headers have told us.
    pub output_tokens: Option<Bucket>,
    /// 1 normally; halved by each 429 (down to 1/8), +1/8 back per successful wave.
    pub factor: f64,
    /// When the buckets were last refilled (ms).
    pub at: f64,
    /// The last success (ms): Anthropic's prompt cache only serves requests sent after a first
    /// response has started, so a cold start sends one row alone.
    pub last_success: f64,
    /// Prompt tokens per answered request as the provider counted them (a moving average), once
    /// answers have come: the token reservation follows what the rows really take.
    #[serde(default)]
    pub prompt_tokens: Option<f64>,
    /// What one place in a `fetchAll` lane takes (a moving average of wave time over requests
    /// per lane): with the lanes, it predicts how long a wave of n will take.
    #[serde(default)]
    pub lane_ms: Option<f64>,
}

/// Anthropic's cache entries live 5 minutes.
const WARM_MS: f64 = 300_000.0;
const MIN_FACTOR: f64 = 0.125;

impl Limiter {
    pub fn new(job: &Job, now: f64) -> Self {
        let l = &job.spec.limits;
        Self {
            requests: Bucket::new(f64::from(l.requests_per_minute)),
            tokens: Bucket::new(f64::from(l.tokens_per_minute)),
            output_tokens: None,
            factor: 1.0,
            at: now,
            last_success: 0.0,
            prompt_tokens: None,
            lane_ms: None,
        }
    }

    pub fn refill(&mut self, now: f64) {
        let ms = (now - self.at).max(0.0);
        self.requests.refill(ms, self.factor);
        self.tokens.refill(ms, self.factor);
        if let Some(o) = &mut self.output_tokens {
            o.refill(ms, self.factor);
        }
        self.at = self.at.max(now);
    }

    /// Whole requests and tokens available now; the output allowance counts against Anthropic's
    /// output bucket, so it limits the request count there.
    pub fn capacity(&mut self, job: &Job, now: f64) -> (u64, u64) {
        self.refill(now);
        let mut requests = self.requests.available.max(0.0).floor() as u64;
        if let Some(o) = &self.output_tokens {
            let per = f64::from(job.spec.provider.max_output_tokens).max(1.0);
            requests = requests.min((o.available.max(0.0) / per).floor() as u64);
        }
        let cold = self.last_success <= 0.0 || now - self.last_success > WARM_MS;
        if job.spec.provider.kind == ProviderKind::Anthropic && cold {
            requests = requests.min(1);
        }
        (requests, self.tokens.available.max(0.0).floor() as u64)
    }

    /// Counts a wave against the buckets as it is sent.
    pub fn spend(&mut self, requests: u64, tokens: u64, output: u64) {
        self.requests.available -= requests as f64;
        self.tokens.available -= tokens as f64;
        if let Some(o) = &mut self.output_tokens {
            o.available -= output as f64;
        }
    }

    /// Reads the provider's rate-limit headers from a response.
    pub fn observe(&mut self, h: &BTreeMap<String, String>) {
        let n = |k: &str| h.get(k).and_then(|v| crate::decode::number(v));
        let pair = |prefix: &str, kind: &str| {
            (n(&format!("{prefix}-limit-{kind}")), n(&format!("{prefix}-remaining-{kind}")))
        };
        let (l, r) = pair("x-ratelimit", "requests");
        self.requests.correct(l, r);
        let (l, r) = pair("x-ratelimit", "tokens");
        self.tokens.correct(l, r);
        let anthropic = |kind: &str| {
            (
                n(&format!("anthropic-ratelimit-{kind}-limit")),
                n(&format!("anthropic-ratelimit-{kind}-remaining")),
            )
        };
        let (l, r) = anthropic("requests");
        self.requests.correct(l, r);
        let (l, r) = anthropic("input-tokens");
        self.tokens.correct(l, r);
        if let (Some(limit), remaining) = anthropic("output-tokens") {
            let bucket = self.output_tokens.get_or_insert_with(|| Bucket::new(limit));
            bucket.correct(Some(limit), remaining);
        }
    }

    /// A 429: halve what we allow ourselves and stop sending until the buckets refill.
    pub fn throttled(&mut self) {
        self.factor = (self.factor / 2.0).max(MIN_FACTOR);
        self.requests.available = self.requests.available.min(0.0);
    }

    /// A wave of `n` requests took `ms` through `lanes` lanes (0: all at once): the pace of a
    /// place in a lane, into the moving average (a third each: a wave is a coarse sample).
    pub fn observe_wave(&mut self, n: usize, ms: f64, lanes: u32) {
        if n == 0 || ms <= 0.0 {
            return;
        }
        let per_lane = if lanes == 0 { 1 } else { n.div_ceil(lanes as usize) };
        let lane = ms / per_lane as f64;
        self.lane_ms = Some(self.lane_ms.map_or(lane, |avg| avg * 2.0 / 3.0 + lane / 3.0));
    }

    /// An answer's prompt tokens, into the moving average (a tenth each).
    pub fn observe_prompt(&mut self, tokens: u64) {
        let t = tokens as f64;
        self.prompt_tokens = Some(self.prompt_tokens.map_or(t, |avg| avg * 0.9 + t * 0.1));
    }

    /// A wave without a 429 grows the allowance back.
    pub fn recovered(&mut self, now: f64) {
        self.factor = (self.factor + MIN_FACTOR).min(1.0);
        self.last_success = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &str) -> Job {
        let spec = serde_json::json!({
            "name": "t",
            "input": { "schema": { "type": "object", "properties": { "a": { "type": "string" } } } },
            "output": { "schema": { "type": "object", "properties": { "b": { "type": "string" } } } },
            "prompt": { "system": "s", "template": "{{a}}" },
            "provider": { "kind": kind, "model": "m", "maxOutputTokens": 100 },
            "limits": { "requestsPerMinute": 60, "tokensPerMinute": 6000 }
        });
        Job::compile(&spec).unwrap()
    }

    #[test]
    fn buckets_refill_with_time_and_never_beyond_the_limit() {
        let j = job("openai");
        let mut l = Limiter::new(&j, 0.0);
        assert_eq!(l.capacity(&j, 0.0), (60, 6000));
        l.spend(60, 6000, 0);
        assert_eq!(l.capacity(&j, 0.0), (0, 0));
        assert_eq!(l.capacity(&j, 10_000.0), (10, 1000));
        assert_eq!(l.capacity(&j, 1e9), (60, 6000));
    }

    #[test]
    fn a_429_halves_the_allowance_and_successes_grow_it_back() {
        let j = job("openai");
        let mut l = Limiter::new(&j, 0.0);
        l.throttled();
        assert_eq!(l.capacity(&j, 0.0).0, 0);
        assert_eq!(l.capacity(&j, 1e9).0, 30);
        for _ in 0..3 {
            l.throttled();
        }
        assert_eq!(l.capacity(&j, 2e9).0, 7, "never below an eighth");
        for _ in 0..8 {
            l.recovered(0.0);
        }
        assert_eq!(l.capacity(&j, 3e9).0, 60);
    }

    #[test]
    fn headers_correct_the_buckets() {
        let j = job("anthropic");
        let mut l = Limiter::new(&j, 0.0);
        let h: BTreeMap<String, String> = [
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "3"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"),
            ("anthropic-ratelimit-output-tokens-limit", "8000"),
            ("anthropic-ratelimit-output-tokens-remaining", "250"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        l.observe(&h);
        l.recovered(1.0);
        // Three requests left, but only 250 output tokens: two answers of up to 100 tokens.
        assert_eq!(l.capacity(&j, 1.0).0, 2);
        assert_eq!(l.requests.limit, 50.0);
        assert_eq!(l.tokens.limit, 40000.0);
    }

    #[test]
    fn anthropic_sends_one_row_alone_until_the_cache_is_warm() {
        let j = job("anthropic");
        let mut l = Limiter::new(&j, 0.0);
        assert_eq!(l.capacity(&j, 1_000.0).0, 1);
        l.recovered(1_000.0);
        assert!(l.capacity(&j, 2_000.0).0 > 1);
        assert_eq!(l.capacity(&j, 400_000.0).0, 1, "cold again after 5 minutes");
    }
}
