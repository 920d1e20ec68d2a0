//! Provider Batch APIs: custom ids, files split under every limit, both providers' states, and
//! result lines (in any order, failed, expired, cancelled, edited since) turned into results.

use proptest::prelude::*;
use rowbatch_core::Cell;
use rowbatch_core::batchapi::{
    self, CallInput, FileItem, FilesInput, Last, Lease, ResultsInput, State, StateInput, URLFETCH_BYTES,
    custom_id,
};
use rowbatch_core::ingest::{self, IngestInput, Response, Sent, Status};
use rowbatch_core::keys::{KeyedRows, key_block};
use rowbatch_core::ledger::Block;
use rowbatch_core::spec::Job;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn spec(kind: &str, max_output: u32) -> Value {
    json!({
        "name": "batch test",
        "input": { "key": "Id", "schema": { "type": "object", "properties": {
            "Id": { "type": "string" }, "Text": { "type": "string" } }, "required": ["Id", "Text"] } },
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" }, "score": { "type": "integer", "minimum": 0, "maximum": 10 } },
            "required": ["answer", "score"] } },
        "prompt": { "system": "Answer about the text.", "template": "{{Text}}" },
        "provider": { "kind": kind, "model": if kind == "openai" { "gpt-4o-mini" } else { "claude-haiku-4-5" }, "maxOutputTokens": max_output }
    })
}

fn header() -> Vec<String> {
    vec!["Id".into(), "Text".into()]
}

fn rows(n: usize, text_bytes: usize) -> Vec<Vec<Cell>> {
    (0..n)
        .map(|i| vec![Cell::Text(format!("K-{i:05}")), Cell::Text(format!("{i} {}", "x".repeat(text_bytes)))])
        .collect()
}

fn keyed(spec: &Value, rows: &[Vec<Cell>]) -> KeyedRows {
    key_block(&Job::compile(spec).unwrap(), &header(), rows, 2).unwrap()
}

fn items(k: &KeyedRows, rows: &[Vec<Cell>]) -> Vec<FileItem> {
    k.keys
        .iter()
        .zip(&k.signatures)
        .zip(rows)
        .map(|((key, sig), row)| FileItem {
            key: key.clone(),
            signature: sig.clone(),
            attempt: 1,
            row: row.clone(),
        })
        .collect()
}

proptest! {
    #[test]
    fn custom_ids_fit_anthropic_and_tell_keys_apart(a in "\\PC{0,200}", b in "\\PC{0,200}", attempt in 0u32..100_000) {
        let sig = "SIG_v1_0123456789abcdef0123456789abcdef";
        let id = custom_id(&a, sig, attempt);
        prop_assert!(id.len() <= 64 && !id.is_empty(), "{id}");
        prop_assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{id}");
        if a != b {
            prop_assert_ne!(id, custom_id(&b, sig, attempt));
        }
    }
}

#[test]
fn a_20000_row_job_is_split_under_every_limit() {
    for kind in ["openai", "anthropic"] {
        let spec = spec(kind, 1024);
        // 20,000 rows of 3 KB: about 110 MB of requests.
        let rows = rows(20_000, 3_000);
        let k = keyed(&spec, &rows);
        let files = batchapi::files(FilesInput {
            spec: spec.clone(),
            header: header(),
            items: items(&k, &rows),
            max_lines: None,
            max_bytes: None,
        })
        .unwrap();
        assert!(files.parts.len() >= 3, "{kind}: {} parts", files.parts.len());
        let mut keys = Vec::new();
        for p in &files.parts {
            assert_eq!(p.bytes, p.body.len() as u64);
            assert!(p.bytes <= URLFETCH_BYTES, "{kind}: a part of {} bytes", p.bytes);
            assert!(p.result_bytes <= URLFETCH_BYTES, "{kind}: results of up to {} bytes", p.result_bytes);
            assert!(p.lines <= if kind == "openai" { 50_000 } else { 100_000 });
            let ids: Vec<String> = if kind == "openai" {
                p.body
                    .lines()
                    .map(|l| {
                        let v: Value = serde_json::from_str(l).unwrap();
                        assert_eq!(
                            (v["method"].as_str(), v["url"].as_str()),
                            (Some("POST"), Some("/v1/chat/completions"))
                        );
                        assert_eq!(v["body"]["model"], "gpt-4o-mini", "one model per file");
                        v["custom_id"].as_str().unwrap().to_owned()
                    })
                    .collect()
            } else {
                let v: Value = serde_json::from_str(&p.body).unwrap();
                v["requests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        assert_eq!(r["params"]["model"], "claude-haiku-4-5");
                        r["custom_id"].as_str().unwrap().to_owned()
                    })
                    .collect()
            };
            assert_eq!(ids.len(), p.lines);
            assert!(ids.iter().all(|id| id.len() <= 64));
            keys.extend(p.keys.iter().cloned());
        }
        assert_eq!(keys, k.keys, "{kind}: every row once, in order");
    }
}

#[test]
fn parts_also_respect_a_tighter_line_limit_and_refuse_a_row_too_big_for_any_part() {
    let spec = spec("openai", 256);
    let rows = rows(25, 10);
    let k = keyed(&spec, &rows);
    let files = batchapi::files(FilesInput {
        spec: spec.clone(),
        header: header(),
        items: items(&k, &rows),
        max_lines: Some(10),
        max_bytes: None,
    })
    .unwrap();
    assert_eq!(files.parts.iter().map(|p| p.lines).collect::<Vec<_>>(), vec![10, 10, 5]);
    let err = batchapi::files(FilesInput {
        spec,
        header: header(),
        items: items(&k, &rows),
        max_lines: None,
        max_bytes: Some(1_000),
    })
    .unwrap_err();
    assert!(err.to_string().contains("parts of at most 1000 bytes"), "{err}");
}

#[test]
fn both_vocabularies_map_to_one_state_machine() {
    let openai = spec("openai", 100);
    for (status, want) in [
        ("validating", State::Validating),
        ("in_progress", State::InProgress),
        ("finalizing", State::Finalizing),
        ("completed", State::Completed),
        ("failed", State::Failed),
        ("expired", State::Expired),
        ("cancelling", State::Cancelling),
        ("cancelled", State::Cancelled),
    ] {
        let body = json!({ "id": "batch_1", "status": status, "output_file_id": "file-o", "error_file_id": null,
            "request_counts": { "total": 3, "completed": 2, "failed": 1 },
            "errors": { "data": [{ "message": "line 1: bad model" }] } });
        let s = batchapi::state(StateInput { spec: openai.clone(), body: body.to_string() }).unwrap();
        assert_eq!(s.state, want, "{status}");
        assert_eq!(
            s.is_final,
            matches!(want, State::Completed | State::Failed | State::Expired | State::Cancelled)
        );
        assert_eq!((s.results.clone(), s.total, s.succeeded, s.failed), (vec!["file-o".to_owned()], 3, 2, 1));
        assert_eq!(s.message, "line 1: bad model");
    }
    let anthropic = spec("anthropic", 100);
    let counts = |succeeded: u64, expired: u64| json!({ "processing": 0, "succeeded": succeeded, "errored": 0, "canceled": 0, "expired": expired });
    for (status, cancel, c, want) in [
        ("in_progress", Value::Null, counts(0, 0), State::InProgress),
        ("canceling", json!("2026-11-22T10:00:00Z"), counts(0, 0), State::Cancelling),
        ("ended", Value::Null, counts(3, 0), State::Completed),
        ("ended", Value::Null, counts(0, 3), State::Expired),
        ("ended", json!("2026-11-22T10:00:00Z"), counts(1, 0), State::Cancelled),
    ] {
        let body = json!({ "id": "msgbatch_1", "type": "message_batch", "processing_status": status, "cancel_initiated_at": cancel,
            "request_counts": c, "results_url": if status == "ended" { json!("https://api.anthropic.com/v1/messages/batches/msgbatch_1/results") } else { Value::Null } });
        let s = batchapi::state(StateInput { spec: anthropic.clone(), body: body.to_string() }).unwrap();
        assert_eq!(s.state, want, "{status} {c}");
        assert_eq!(s.results.len(), usize::from(status == "ended"));
    }
    let err = batchapi::state(StateInput { spec: openai, body: "<html>502</html>".into() }).unwrap_err();
    assert!(err.to_string().contains("the provider's batch object (JSON)"), "{err}");
}

#[test]
fn calls_go_only_where_the_key_may_go() {
    let a = spec("anthropic", 100);
    let call = |op: &str, id: Option<&str>, file: Option<&str>| {
        batchapi::call(CallInput {
            spec: a.clone(),
            op: op.into(),
            id: id.map(Into::into),
            file: file.map(Into::into),
            body: Some("{}".into()),
            label: None,
        })
    };
    assert_eq!(
        call("status", Some("msgbatch_1"), None).unwrap().url,
        "https://api.anthropic.com/v1/messages/batches/msgbatch_1"
    );
    assert_eq!(call("cancel", Some("msgbatch_1"), None).unwrap().method, "POST");
    let ok = call("download", None, Some("https://api.anthropic.com/v1/messages/batches/msgbatch_1/results"))
        .unwrap();
    assert_eq!(ok.auth, "x-api-key");
    let err = call("download", None, Some("https://evil.example/steal")).unwrap_err();
    assert!(err.to_string().contains("a results URL on https://api.anthropic.com"), "{err}");
    assert!(call("status", Some("../files"), None).is_err());
    assert!(call("upload", None, None).is_err(), "Anthropic has no file upload");
    let o = spec("openai", 100);
    let up = batchapi::call(CallInput {
        spec: o.clone(),
        op: "upload".into(),
        id: None,
        file: None,
        body: None,
        label: None,
    })
    .unwrap();
    assert_eq!((up.method, up.url.as_str(), up.auth), ("POST", "https://api.openai.com/v1/files", "bearer"));
    assert_eq!(up.form, Some(vec![("purpose".to_owned(), "batch".to_owned())]));
    let create = batchapi::call(CallInput {
        spec: o,
        op: "create".into(),
        id: None,
        file: Some("file-abc".into()),
        body: None,
        label: None,
    })
    .unwrap();
    let body: Value = serde_json::from_str(create.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        (body["input_file_id"].as_str(), body["completion_window"].as_str()),
        (Some("file-abc"), Some("24h"))
    );
}

fn completion(answer: &str, prompt: u64, output: u64) -> Value {
    json!({ "id": "c", "object": "chat.completion", "choices": [{ "index": 0, "message": { "role": "assistant", "content": answer, "refusal": null }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": prompt, "completion_tokens": output } })
}

#[test]
fn openai_lines_in_any_order_become_results_at_the_batch_price() {
    let spec = spec("openai", 100);
    let rows = rows(6, 5);
    let k = keyed(&spec, &rows);
    let id = |i: usize| custom_id(&k.keys[i], &k.signatures[i], 1);
    let good = |i: usize| json!({ "id": "r", "custom_id": id(i), "response": { "status_code": 200, "body": completion(&format!("{{\"answer\":\"a{i}\",\"score\":{i}}}"), 1000, 100) }, "error": null });
    let lines = [
        good(4),
        json!({ "id": "r", "custom_id": id(0), "response": null, "error": { "code": "batch_expired", "message": "expired" } }),
        good(2),
        json!({ "id": "r", "custom_id": id(1), "response": { "status_code": 400, "body": { "error": { "message": "bad", "type": "invalid_request_error" } } }, "error": null }),
        good(2),
        json!({ "custom_id": "someone-elses-line" }),
        json!({ "id": "r", "custom_id": id(3), "response": { "status_code": 200, "body": completion("{\"answer\":\"x\",\"score\":99}", 1000, 100) }, "error": null }),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect::<String>() + "not json\n";
    let r = batchapi::results(ResultsInput {
        spec: spec.clone(),
        text,
        inputs: k.clone(),
        now: 1.0,
        seed: "s".into(),
        last: None,
        lease: None,
        budget: None,
    })
    .unwrap();
    assert_eq!(r.lines, 8);
    let by: BTreeMap<&str, &ingest::RowResult> = r.results.iter().map(|x| (x.key.as_str(), x)).collect();
    assert_eq!(by["K-00004"].status, Status::Done);
    assert_eq!(by["K-00002"].status, Status::Done);
    assert_eq!(by["K-00000"].status, Status::Retry);
    assert_eq!(by["K-00001"].status, Status::Failed);
    assert_eq!(by["K-00003"].status, Status::Reask, "out of range: re-asked like a realtime answer");
    assert_eq!(
        r.unmatched.iter().map(|u| u.reason.as_str()).collect::<Vec<_>>(),
        ["a second line for this row", "not a rowbatch custom_id", "not JSON"]
    );
    // The same answer through the realtime path costs twice as much.
    let realtime = ingest::ingest(IngestInput {
        spec,
        now: 1.0,
        seed: "s".into(),
        limiter: None,
        budget: None,
        batch: false,
        day: None,
        wave_ms: None,
        sent: vec![Sent {
            key: "K-00004".into(),
            signature: k.signatures[4].clone(),
            attempt: 1,
            reasks: 0,
            reserve_usd: 0.0,
        }],
        responses: vec![Response {
            status: 200,
            headers: BTreeMap::new(),
            body: completion("{\"answer\":\"a4\",\"score\":4}", 1000, 100).to_string(),
        }],
    })
    .unwrap();
    assert!((by["K-00004"].cost_usd * 2.0 - realtime.results[0].cost_usd).abs() < 1e-12);
    assert_eq!(by["K-00004"].cells[..2], realtime.results[0].cells[..2], "the same cells as realtime");
}

#[test]
fn anthropic_results_edits_and_rows_without_a_line() {
    let spec = spec("anthropic", 100);
    let mut rows = rows(5, 5);
    let k = keyed(&spec, &rows);
    let id = |i: usize| custom_id(&k.keys[i], &k.signatures[i], 2);
    let message = json!({ "id": "m", "type": "message", "role": "assistant", "content": [{ "type": "text", "text": "{\"answer\":\"a\",\"score\":3}" }],
        "stop_reason": "end_turn", "usage": { "input_tokens": 10, "output_tokens": 5 } });
    let lines = [
        json!({ "custom_id": id(0), "result": { "type": "succeeded", "message": message } }),
        json!({ "custom_id": id(1), "result": { "type": "errored", "error": { "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } } } }),
        json!({ "custom_id": id(2), "result": { "type": "canceled" } }),
        json!({ "custom_id": id(3), "result": { "type": "succeeded", "message": message } }),
    ];
    // Row 3 is edited after submission: its old answer is not written.
    rows[3][1] = Cell::Text("edited".into());
    let now = keyed(&spec, &rows);
    let holder = "batch:msgbatch_1";
    let progress = Block {
        first_row: 2,
        rows: k
            .keys
            .iter()
            .map(|key| {
                vec![
                    Cell::Text(key.clone()),
                    Cell::Number(1.0),
                    Cell::Empty,
                    Cell::Text(holder.into()),
                    Cell::Number(9e12),
                    Cell::Empty,
                ]
            })
            .collect(),
    };
    let text: String = lines.iter().rev().map(|l| format!("{l}\n")).collect();
    let r = batchapi::results(ResultsInput {
        spec,
        text,
        inputs: now,
        now: 1.0,
        seed: "s".into(),
        budget: None,
        lease: None,
        last: Some(Last { holder: holder.into(), progress, reason: "the batch was cancelled".into() }),
    })
    .unwrap();
    let by: BTreeMap<&str, (&Status, &str)> =
        r.results.iter().map(|x| (x.key.as_str(), (&x.status, x.code.as_str()))).collect();
    assert_eq!(by["K-00000"], (&Status::Done, ""));
    assert_eq!(*by["K-00001"].0, Status::Retry, "overloaded: transient");
    assert_eq!(by["K-00002"], (&Status::Released, "cancelled"));
    assert_eq!(by["K-00003"], (&Status::Released, "edited"));
    assert_eq!(by["K-00004"], (&Status::Released, "no_line"), "held by the batch, no line: released");
    let done = r.results.iter().position(|x| x.key == "K-00000").unwrap();
    assert_eq!(r.attempts[done], 2, "the attempt the line was");
}

#[test]
fn a_line_for_a_row_the_batch_no_longer_holds_is_not_ingested_again() {
    let spec = spec("openai", 100);
    let rows = rows(2, 5);
    let k = keyed(&spec, &rows);
    let holder = "batch:batch_1.1";
    // Row 0 is still leased by the batch; row 1 was ingested by an earlier slice (its progress
    // row cleared) and then failed for good after a re-ask.
    let progress = Block {
        first_row: 2,
        rows: vec![vec![
            Cell::Text(k.keys[0].clone()),
            Cell::Number(1.0),
            Cell::Empty,
            Cell::Text(holder.into()),
            Cell::Number(9e12),
            Cell::Empty,
        ]],
    };
    let line = |i: usize| json!({ "id": "r", "custom_id": custom_id(&k.keys[i], &k.signatures[i], 1), "response": { "status_code": 200, "body": completion("{\"answer\":\"x\",\"score\":99}", 10, 5) }, "error": null });
    let r = batchapi::results(ResultsInput {
        spec,
        text: format!("{}\n{}\n", line(0), line(1)),
        inputs: k.clone(),
        now: 1.0,
        seed: "s".into(),
        last: None,
        lease: Some(Lease { holder: holder.into(), progress }),
        budget: None,
    })
    .unwrap();
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].key, k.keys[0]);
    assert_eq!(r.results[0].status, Status::Reask, "the held row is ingested (and re-asked)");
    assert_eq!(r.unmatched.len(), 1);
    assert_eq!(r.unmatched[0].reason, "this batch no longer holds the row (ingested already, or released)");
    assert!(r.cost_usd > 0.0);
}
