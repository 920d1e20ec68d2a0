//! How a wave's 429s set the job's pace: a limit reached (many 429s) halves it; a stray 429 in a
//! big wave only delays its own row.

use rowbatch_core::estimate::{CapacityInput, capacity};
use rowbatch_core::ingest::{IngestInput, Response, Sent, ingest};
use serde_json::json;
use std::collections::BTreeMap;

fn spec() -> serde_json::Value {
    json!({
        "name": "pace",
        "input": { "schema": { "type": "object", "properties": { "T": { "type": "string" } } } },
        "output": { "schema": { "type": "object", "properties": { "a": { "type": "string" } } } },
        "prompt": { "system": "s", "template": "{{T}}" },
        "provider": { "kind": "openai", "model": "gpt-4o-mini" }
    })
}

fn answer() -> serde_json::Value {
    json!({ "choices": [{ "message": { "content": "{\"a\":\"x\"}" }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 10, "completion_tokens": 2 } })
}

/// What the next wave may use with this limiter, at the tests' clock.
fn capacity_for(
    limiter: Option<rowbatch_core::ratelimit::Limiter>,
) -> rowbatch_core::estimate::CapacityReport {
    capacity(CapacityInput {
        spec: spec(),
        now: 1e12,
        limiter,
        budget: None,
        row_bytes: None,
        batch: false,
        day: None,
    })
    .unwrap()
}

/// `n` first attempts, one per row.
fn sent(n: usize) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent {
            key: format!("k{i}"),
            signature: format!("s{i}"),
            attempt: 1,
            reasks: 0,
            reserve_usd: 0.0,
        })
        .collect()
}

fn wave(n: usize, limited: usize) -> f64 {
    let ok = answer();
    let limit = json!({ "error": { "message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded" } });
    let sent = sent(n);
    let responses = (0..n)
        .map(|i| {
            let (status, body) = if i < limited { (429, &limit) } else { (200, &ok) };
            Response {
                status,
                headers: BTreeMap::from([("retry-after".to_owned(), "1".to_owned())]),
                body: body.to_string(),
            }
        })
        .collect();
    let out = ingest(IngestInput {
        spec: spec(),
        sent,
        responses,
        now: 1e12,
        seed: "s".into(),
        limiter: None,
        budget: None,
        batch: false,
        day: None,
        wave_ms: None,
    })
    .unwrap();
    assert_eq!(out.counts.retry, limited);
    out.limiter.factor
}

#[test]
fn a_limit_reached_halves_the_pace_a_stray_429_does_not() {
    assert_eq!(wave(40, 1), 1.0, "one 429 in 40: the pace stays");
    assert_eq!(wave(40, 3), 1.0);
    assert_eq!(wave(40, 4), 0.5, "a tenth of the wave: halved");
    assert_eq!(wave(5, 1), 0.5, "one in a small wave is a fifth of it");
    assert_eq!(wave(1, 1), 0.5);
}

#[test]
fn the_token_reservation_follows_the_prompts_the_provider_counted() {
    let fresh = capacity_for(None);
    // Before any answer: the estimate from the prefix and a 2,000-byte row.
    let prefix = rowbatch_core::validate::check_spec(rowbatch_core::validate::SpecInput { spec: spec() })
        .unwrap()
        .prompt
        .tokens;
    assert_eq!(fresh.reserve.tokens, prefix + 500 + 16 + 1024);
    let mut limiter = fresh.limiter.clone();
    for _ in 0..50 {
        limiter.observe_prompt(200);
    }
    let after = capacity_for(Some(limiter));
    assert_eq!(
        after.reserve.tokens,
        220 + 1024,
        "the prompts counted, a tenth to spare, and the whole output allowance"
    );
    assert_eq!(after.reserve.usd, fresh.reserve.usd, "the budget keeps its upper bound");
}

/// A wave of `n` answered requests that took `ms` in all, through the limiter.
fn timed_wave(
    limiter: Option<rowbatch_core::ratelimit::Limiter>,
    n: usize,
    ms: f64,
) -> rowbatch_core::ratelimit::Limiter {
    let responses = (0..n)
        .map(|_| Response { status: 200, headers: BTreeMap::new(), body: answer().to_string() })
        .collect();
    ingest(IngestInput {
        spec: spec(),
        sent: sent(n),
        responses,
        now: 1e12,
        seed: "s".into(),
        limiter,
        budget: None,
        batch: false,
        day: None,
        wave_ms: Some(ms),
    })
    .unwrap()
    .limiter
}

#[test]
fn waves_fit_the_slice_through_a_capped_fetch_all() {
    use rowbatch_core::keys::key_block;
    use rowbatch_core::plan::{PlanInput, plan_wave};
    use rowbatch_core::spec::Job;
    // A wave of 100 through 10 lanes took 200 s: 20 s a place in a lane.
    let limiter = timed_wave(None, 100, 200_000.0);
    assert_eq!(limiter.lane_ms, Some(20_000.0));
    let cap = capacity_for(Some(limiter));
    assert_eq!((cap.timing.lanes, cap.timing.lane_ms), (10, 20_000.0));
    let job = Job::compile(&spec()).unwrap();
    let rows: Vec<Vec<rowbatch_core::Cell>> =
        (0..300).map(|i| vec![rowbatch_core::Cell::Text(format!("row {i}"))]).collect();
    let inputs = key_block(&job, &["T".to_owned()], &rows, 2).unwrap();
    let plan = |deadline: f64| {
        plan_wave(PlanInput {
            spec: spec(),
            inputs: inputs.clone(),
            outputs: Default::default(),
            progress: Default::default(),
            execution: "e".into(),
            now: 1e12,
            deadline: 1e12 + deadline,
            timing: cap.timing.clone(),
            capacity: Default::default(),
            reserve: Default::default(),
            batch: false,
            max_rows: None,
            rows: None,
            keys: None,
        })
        .unwrap()
    };
    // 150 s left: (lanes of 5 − 1) × 20 s + a 60 s request + 8 s of writes fits; a sixth place does not.
    let p = plan(150_000.0);
    assert_eq!(p.send.len(), 50);
    assert_eq!(rowbatch_core::to_json::to_value(&p.stop), json!("time"));
    // With the whole slice, the wave size (100) is the limit again.
    assert_eq!(plan(300_000.0).send.len(), 100);
    // A fetchAll that turns out to run everything at once: the pace per place drops, waves grow.
    let mut fast = cap.timing.clone();
    fast.lane_ms = timed_wave(None, 100, 8_000.0).lane_ms.unwrap();
    assert!(fast.wave_ms(100) < 80_000.0);
}

#[test]
fn the_workers_a_job_is_worth_come_from_the_provider_the_platform_and_the_rows() {
    use rowbatch_core::estimate::{MAX_WORKERS, workers};
    let job = |rpm: u32, tpm: u32| {
        let mut s: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/clinical/job.json")).unwrap();
        s["limits"]["requestsPerMinute"] = json!(rpm);
        s["limits"]["tokensPerMinute"] = json!(tpm);
        rowbatch_core::spec::Job::compile(&s).unwrap()
    };
    // 500 a minute at 10 s a request is 84 in flight: 17 executions of 10 lanes busy half their
    // time; the tokens (200,000 a minute at 1,000 a row, 3.3 rows a second) allow 7.
    let w = workers(&job(500, 1_000_000), 10_000, 1000);
    assert_eq!((w.count, w.limited_by.as_str()), (17, "requests"));
    let w = workers(&job(500, 200_000), 10_000, 1000);
    assert_eq!((w.count, w.limited_by.as_str()), (7, "tokens"));
    // A high-tier account would keep 1,667 requests in flight: the platform's cap binds.
    let w = workers(&job(10_000, 4_000_000), 10_000, 1000);
    assert_eq!((w.count, w.limited_by.as_str()), (MAX_WORKERS, "platform"));
    // 250 rows in waves of 100 are three waves: no more than three workers have work.
    let w = workers(&job(10_000, 4_000_000), 250, 1000);
    assert_eq!((w.count, w.limited_by.as_str()), (3, "rows"));
}
