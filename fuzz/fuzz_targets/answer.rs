//! Any model reply, as the response body or as the message text, through the whole ingest path
//! (JSON extraction, auto-fix, validation, scoring, cells) of the clinical example: a result for
//! the row, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rowbatch_core::ingest::{IngestInput, Response, Sent, ingest};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let spec: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/clinical/job.json")).unwrap();
    let (mode, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest).into_owned();
    let body = if mode % 2 == 0 {
        text
    } else {
        json!({ "choices": [{ "message": { "content": text }, "finish_reason": "stop" }], "usage": { "prompt_tokens": 10, "completion_tokens": 5 } }).to_string()
    };
    let sent = vec![Sent {
        key: "k".into(),
        signature: "s".into(),
        attempt: 1,
        reasks: u32::from(mode / 2 % 2),
        reserve_usd: 0.0,
    }];
    let out = ingest(IngestInput {
        spec,
        sent,
        responses: vec![Response { status: 200, headers: Default::default(), body }],
        now: 1.0,
        seed: "f".into(),
        limiter: None,
        budget: None,
        batch: false,
        day: None,
        wave_ms: None,
    })
    .unwrap();
    assert_eq!(out.results.len(), 1);
});
