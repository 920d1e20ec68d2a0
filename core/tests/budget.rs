//! The hard budget, through the functions hosts call: capacity and reservation before a wave
//! (`capacity`, `buildRequests`), settling after it (`ingest`). For any sequence of real usages
//! that stay within their reservations, spend never passes the budget, and every reservation is
//! released.

use proptest::prelude::*;
use rowbatch_core::budget::Budget;
use rowbatch_core::cell::Cell;
use rowbatch_core::estimate::{CapacityInput, capacity};
use rowbatch_core::ingest::{IngestInput, Response, Sent, ingest};
use rowbatch_core::provider::{BuildInput, Item, build_requests};
use serde_json::{Value, json};

fn spec(anthropic: bool, max_usd: f64) -> Value {
    let (kind, model) = if anthropic { ("anthropic", "claude-sonnet-4-5") } else { ("openai", "gpt-4o") };
    json!({
        "name": "budget",
        "input": { "schema": { "type": "object", "properties": { "Text": { "type": "string" } } } },
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" } } } },
        "prompt": { "system": "Answer.", "template": "{{Text}}" },
        "provider": { "kind": kind, "model": model, "maxOutputTokens": 400 },
        "budget": { "maxUsd": max_usd }
    })
}

/// A success body carrying the given usage, in the provider's shape.
fn body(anthropic: bool, prompt: u64, cached: u64, write: u64, output: u64) -> String {
    let answer = json!({ "answer": "ok" }).to_string();
    if anthropic {
        json!({ "type": "message", "role": "assistant", "content": [{ "type": "text", "text": answer }],
            "stop_reason": "end_turn",
            "usage": { "input_tokens": prompt, "cache_read_input_tokens": cached, "cache_creation_input_tokens": write, "output_tokens": output } })
        .to_string()
    } else {
        json!({ "choices": [{ "message": { "role": "assistant", "content": answer }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": prompt + cached, "completion_tokens": output, "prompt_tokens_details": { "cached_tokens": cached } } })
        .to_string()
    }
}

/// A share in [0, 1], often exactly 0 or 1: the worst cases sit at the ends.
fn share() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn spend_stays_within_the_budget_and_reservations_are_released(
        anthropic in any::<bool>(),
        max_usd in 0.001f64..0.2,
        waves in proptest::collection::vec(
            proptest::collection::vec((1usize..3000, share(), share(), share(), share()), 1..12),
            1..12),
    ) {
        let spec = spec(anthropic, max_usd);
        let mut budget = Budget::new(max_usd);
        let header = vec!["Text".to_owned()];
        let mut settled_all = 0.0;
        for (w, wave) in waves.iter().enumerate() {
            let now = 1e12 + w as f64 * 60_000.0;
            let cap = capacity(CapacityInput { spec: spec.clone(), now, limiter: None, budget: Some(budget), row_bytes: None, batch: false, day: None }).unwrap();
            prop_assert!(cap.capacity.usd.unwrap() <= budget.max_usd - budget.spent_usd + 1e-12);
            let items: Vec<Item> = wave.iter().enumerate().map(|(i, (len, ..))| Item {
                key: format!("k{w}-{i}"), signature: format!("s{i}"), row: vec![Cell::Text("x".repeat(*len))], reask: None,
            }).collect();
            let built = build_requests(BuildInput { spec: spec.clone(), header: header.clone(), items }).unwrap();
            // Reserve each request's worst case; what does not fit is not sent.
            let mut sent = Vec::new();
            let mut responses = Vec::new();
            for (req, (_, p, c, wr, o)) in built.requests.iter().zip(wave) {
                if !budget.reserve(req.reserve_usd) {
                    continue;
                }
                // A real usage within the reservation: prompt tokens ≤ the reserved prompt, split
                // between plain, cached and cache-written; output ≤ the allowance.
                let prompt_max = req.reserve_tokens - 400;
                let prompt = (prompt_max as f64 * p) as u64;
                let cached = (prompt as f64 * c) as u64;
                let write = if anthropic { ((prompt - cached) as f64 * wr) as u64 } else { 0 };
                let output = (400.0 * o) as u64;
                sent.push(Sent { key: req.key.clone(), signature: req.signature.clone(), attempt: 1, reasks: 0, reserve_usd: req.reserve_usd });
                responses.push(Response { status: 200, headers: Default::default(), body: body(anthropic, prompt - cached - write, cached, write, output) });
            }
            prop_assert!(budget.spent_usd + budget.reserved_usd <= max_usd + 1e-9);
            let out = ingest(IngestInput { spec: spec.clone(), sent, responses, now, seed: "s".into(), limiter: None, budget: Some(budget), batch: false, day: None, wave_ms: None }).unwrap();
            // Matched by key: a request the budget could not reserve was never sent, so results
            // and requests do not line up by position.
            for r in &out.results {
                let s = built.requests.iter().find(|s| s.key == r.key).unwrap();
                prop_assert!(r.cost_usd <= s.reserve_usd + 1e-12, "cost {} over its reservation {}", r.cost_usd, s.reserve_usd);
            }
            budget = out.budget.unwrap();
            settled_all += out.cost_usd;
            prop_assert!(budget.spent_usd <= max_usd + 1e-9, "spent {} of {}", budget.spent_usd, max_usd);
            prop_assert!(budget.reserved_usd.abs() < 1e-9, "reservations left: {}", budget.reserved_usd);
        }
        prop_assert!((budget.spent_usd - settled_all).abs() < 1e-9);
    }
}

#[test]
fn a_wave_that_could_overrun_is_cut_at_the_request_that_does_not_fit() {
    let mut b = Budget::new(0.01);
    assert!(b.reserve(0.006));
    assert!(!b.reserve(0.006), "the second worst case would pass the budget");
    b.settle(0.006, 0.001);
    assert!(b.reserve(0.006));
    assert_eq!((b.spent_usd, b.reserved_usd), (0.001, 0.006));
}
