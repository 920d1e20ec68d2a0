//! Records the inputs of the run driver's golden vectors (tests/vectors/run.json): executions of
//! every flow against the Rust host, each as its start and the events its host observed. Then
//! `UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` writes the commands each step
//! must give, which every host's replay is checked against.
//!
//! `cargo test -p rowbatch-core --test record_runs -- --ignored`

mod support;

use rowbatch_core::cell::Cell;
use serde_json::{Value, json};
use support::world::{Step, World};

fn spec(max_usd: f64, wave: u32) -> Value {
    json!({
        "name": "vectors",
        "input": { "sheet": "Input", "key": "Key", "schema": { "type": "object",
            "properties": { "Key": { "type": "string" }, "Text": { "type": "string" } } } },
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" } }, "required": ["answer"] } },
        "prompt": { "system": "Answer briefly.", "template": "{{Text}}" },
        "provider": { "kind": "openai", "model": "gpt-4o-mini", "maxOutputTokens": 40 },
        "limits": { "waveSize": wave },
        "budget": { "maxUsd": max_usd }
    })
}

fn rows(n: usize, failing: usize) -> Vec<Vec<Cell>> {
    (0..n)
        .map(|i| {
            let text = if i < failing { format!("FAIL {i}") } else { format!("row {i}") };
            vec![Cell::Text(format!("K{i:02}")), Cell::Text(text)]
        })
        .collect()
}

/// Runs `flow` to its end in `w`; the case for it.
fn case(w: &mut World, id: usize, name: &str, flow: &str, trigger: bool) -> Value {
    case_rows(w, id, name, flow, trigger, Value::Null)
}

fn case_rows(w: &mut World, id: usize, name: &str, flow: &str, trigger: bool, rows: Value) -> Value {
    let mut e = w.start_with(id, flow, trigger, rows);
    while !matches!(w.advance(&mut e), Step::Done) {}
    w.triggers.clear();
    json!({ "name": name, "fn": "replayRun", "input": { "start": e.start, "events": e.events } })
}

#[test]
#[ignore = "writes tests/vectors/run.json's inputs"]
fn record() {
    let mut cases = Vec::new();
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10, 0), "gpt-4o-mini");
    cases.push(case(&mut w, 1, "status before anything ran", "status", false));
    cases.push(case(&mut w, 2, "a run answers ten rows in waves of four", "run", false));
    cases.push(case(&mut w, 3, "a second slice finds nothing due and ends", "continue", true));
    cases.push(case(&mut w, 4, "status of the finished job", "status", false));
    cases.push(case(&mut w, 5, "the report of the finished job", "report", false));
    cases.push(case(&mut w, 6, "the heartbeat of a finished run ends itself", "heartbeat", true));

    let mut w = World::new(&spec(0.0003, 3), &["Key", "Text"], &rows(12, 0), "gpt-4o-mini");
    cases.push(case(&mut w, 1, "the budget stops the run", "run", false));
    cases.push(case(&mut w, 2, "a slice after the budget stop sends nothing", "continue", true));

    let mut w = World::new(&spec(1.0, 6), &["Key", "Text"], &rows(6, 2), "gpt-4o-mini");
    w.props.insert("ROWBATCH_ALERT_EMAIL".into(), "ops@example.com".into());
    cases.push(case(
        &mut w,
        1,
        "answers that are not JSON are re-asked, then fail; alerts go out",
        "run",
        false,
    ));
    cases.push(case(&mut w, 2, "retry failed rows re-opens them and sends them again", "retryFailed", false));

    let mut w = World::new(&spec(1.0, 2), &["Key", "Text"], &rows(6, 0), "gpt-4o-mini");
    cases.push(case(&mut w, 1, "stop sets the flag and ends the triggers", "stop", false));
    cases.push(case(&mut w, 2, "a stopped run's slice does nothing", "continue", true));
    cases.push(case(&mut w, 3, "resume clears the flag and runs", "resume", false));
    let now = w.now;
    w.props.insert("ROWBATCH_PROGRESS".into(), json!({ "at": now - 60_000.0 }).to_string());
    cases.push(case(&mut w, 4, "the heartbeat leaves a live run alone", "heartbeat", true));
    w.props.insert("ROWBATCH_PROGRESS".into(), json!({ "at": now - 30.0 * 60_000.0 }).to_string());
    cases.push(case(&mut w, 5, "the heartbeat continues a silent run", "heartbeat", true));

    let mut w = World::new(&spec(1.0, 5), &["Key", "Text"], &rows(5, 0), "gpt-4o-mini");
    cases.push(case(&mut w, 1, "a batch the provider refuses releases its rows", "submitBatch", false));
    cases.push(case(&mut w, 2, "a poll with no batch pending", "pollBatches", true));
    cases.push(case(&mut w, 3, "a cancel with no batch pending", "cancelBatches", false));
    cases.push(case(&mut w, 4, "check key: the model is there", "checkKey", false));
    w.refuse =
        Some((401, r#"{"error":{"message":"Incorrect API key provided.","code":"invalid_api_key"}}"#.into()));
    cases.push(case(&mut w, 5, "check key: a wrong key", "checkKey", false));
    cases.push(case(&mut w, 6, "a refused first row stops the run after one request", "run", false));
    w.refuse = None;
    cases.push(case(&mut w, 7, "a dry run lists the rows that would go and sends nothing", "dryRun", false));

    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10, 0), "gpt-4o-mini");
    cases.push(case_rows(&mut w, 1, "a run of sheet rows 3 to 5 only", "run", false, json!([3, 5])));

    let doc = json!({
        "about": "Golden vectors for the run driver: executions of every flow recorded against the Rust host (core/tests/record_runs.rs), each replayed from its start and events; outputs (the commands of every step) written by the Rust core (UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors) and checked in every host.",
        "cases": cases,
    });
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/run.json");
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}
