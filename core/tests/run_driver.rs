//! The run driver against a host in Rust: whole runs, and many executions interleaved command
//! by command with kills anywhere. The provider's bill never passes the budget, every spend is
//! on record before it happens, and no key gets two output rows.

mod support;

use proptest::prelude::*;
use rowbatch_core::cell::Cell;
use serde_json::{Value, json};
use support::world::{Exec, Step, World};

fn spec(max_usd: f64, wave: u32) -> Value {
    json!({
        "name": "driver",
        "input": { "sheet": "Input", "key": "Key", "schema": { "type": "object",
            "properties": { "Key": { "type": "string" }, "Text": { "type": "string" } } } },
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" } }, "required": ["answer"] } },
        "prompt": { "system": "Answer briefly.", "template": "{{Text}}" },
        "provider": { "kind": "openai", "model": "gpt-4o-mini", "maxOutputTokens": 50 },
        "limits": { "waveSize": wave },
        "budget": { "maxUsd": max_usd }
    })
}

fn rows(n: usize) -> Vec<Vec<Cell>> {
    (0..n)
        .map(|i| {
            vec![Cell::Text(format!("K{i:03}")), Cell::Text(format!("row {i} {}", "x".repeat(i % 7 * 40)))]
        })
        .collect()
}

/// Runs executions one after another until the job has ended.
fn run_alone(w: &mut World) -> Vec<Value> {
    run_from(w, "run")
}

/// [`run_alone`], started by `flow` (`run` or `resume`).
fn run_from(w: &mut World, flow: &str) -> Vec<Value> {
    run_with(w, flow, Value::Null)
}

/// [`run_from`] with the Start's `rows`, `keys` or `limit` (null: none).
fn run_with(w: &mut World, flow: &str, chosen: Value) -> Vec<Value> {
    // A host that can start workers says so to every slice of the chain.
    let host =
        if chosen.get("fanOut") == Some(&json!(true)) { json!({ "fanOut": true }) } else { Value::Null };
    let mut results = Vec::new();
    let mut e = w.start_with(0, flow, false, chosen);
    for n in 1..200 {
        while !matches!(w.advance(&mut e), Step::Done) {}
        results.push(e.log.last().cloned().unwrap());
        let last = results.last().unwrap();
        if w.triggers.is_empty() || last["finished"] == true || !last["stop"].is_null() {
            break;
        }
        // The continuation starts when something is due again (a dead execution's lease lapsed).
        w.now = w.now.max(last["nextAt"].as_f64().unwrap_or(0.0));
        w.triggers.clear();
        e = w.start_with(n, "continue", true, host.clone());
    }
    results
}

#[test]
fn a_run_answers_every_row_once_and_records_what_it_spent() {
    let mut w = World::new(&spec(1.0, 7), &["Key", "Text"], &rows(30), "gpt-4o-mini");
    let results = run_alone(&mut w);
    let last = results.last().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    let keys = w.output_keys();
    assert_eq!(keys.len(), 30);
    assert!(keys.values().all(|&n| n == 1));
    let shared = w.shared();
    assert!((shared.spent_usd - w.bill).abs() < 1e-12, "recorded {} billed {}", shared.spent_usd, w.bill);
    assert!(shared.reservations.is_empty());
    // The log, the report and the Batches row were written.
    assert_eq!(w.sheets["Progress"].len(), 31);
    assert!(w.sheets["Report"].len() > 5);
    assert_eq!(w.sheets["Batches"].len(), 2);
}

#[test]
fn the_budget_stops_the_run_before_the_bill_passes_it() {
    let mut w = World::new(&spec(0.0004, 5), &["Key", "Text"], &rows(60), "gpt-4o-mini");
    let results = run_alone(&mut w);
    let last = results.last().unwrap();
    assert!(last["stop"].as_str().unwrap().starts_with("budget reached: "), "{last}");
    assert!(w.bill <= 0.0004, "billed {}", w.bill);
    assert!(w.output_keys().len() < 60);
    // With workers: they reserve from the same journal, so the bill stays under the budget, and
    // a round whose workers the budget leaves nothing to send is the last.
    let mut w = World::new(&spec(0.0004, 5), &["Key", "Text"], &rows(200), "gpt-4o-mini");
    let last = run_fanned(&mut w).pop().unwrap();
    assert!(last["stop"].as_str().unwrap().starts_with("budget reached: "), "{last}");
    assert!(w.bill <= 0.0004, "billed {}", w.bill);
    assert!(!w.worker_rounds.is_empty() && w.worker_rounds.len() < 10, "{:?}", w.worker_rounds);
}

/// Executions started together and by triggers, advanced in the order `schedule` says; some
/// are killed. Returns the world once no execution is left.
fn interleave(w: &mut World, schedule: &[(u8, u8)], start_together: usize) {
    let mut execs: Vec<Exec> =
        (0..start_together).map(|i| w.start(i, if i == 0 { "run" } else { "continue" }, false)).collect();
    let mut next_id = start_together;
    let check = |w: &World| {
        let s = w.shared();
        let recorded = s.total_spent() + s.reserved_usd();
        assert!(w.bill <= recorded + 1e-12, "billed {} but only {recorded} on record", w.bill);
    };
    for &(pick, fate) in schedule.iter().cycle().take(20_000) {
        if execs.is_empty() {
            if w.triggers.is_empty() {
                break;
            }
            w.triggers.clear();
            execs.push(w.start(next_id, "continue", true));
            next_id += 1;
            continue;
        }
        let i = pick as usize % execs.len();
        if fate < 6 {
            // Killed: Apps Script's 6-minute limit, or a crash, at any command.
            let e = execs.remove(i);
            w.kill(&e);
            w.triggers.push("rowbatchContinue".into());
            continue;
        }
        match w.advance(&mut execs[i]) {
            Step::Done => {
                execs.remove(i);
            }
            Step::Ran | Step::Blocked => {}
        }
        check(w);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, ..ProptestConfig::default() })]

    #[test]
    fn interleaved_executions_and_kills_never_pass_the_budget_nor_write_a_key_twice(
        n in 5usize..40,
        max_usd in 0.0001f64..0.002,
        wave in 1u32..9,
        together in 1usize..4,
        schedule in proptest::collection::vec((any::<u8>(), any::<u8>()), 50..400),
    ) {
        let mut w = World::new(&spec(max_usd, wave), &["Key", "Text"], &rows(n), "gpt-4o-mini");
        interleave(&mut w, &schedule, together);
        prop_assert!(w.bill <= max_usd + 1e-12, "billed {} of {}", w.bill, max_usd);
        for (key, count) in w.output_keys() {
            prop_assert_eq!(count, 1, "{} has {} output rows", key, count);
        }
    }
}

/// Runs one execution of `flow` to its end; its result.
fn finish(w: &mut World, id: usize, flow: &str, trigger: bool) -> Value {
    let mut e = w.start(id, flow, trigger);
    while !matches!(w.advance(&mut e), Step::Done) {}
    e.log.last().cloned().unwrap()
}

/// The message of an execution that fails (the world's host panics with it), started with the
/// Start's `rows`, `keys` or `limit` (null: none).
fn failure(w: &mut World, id: usize, flow: &str, chosen: Value) -> String {
    let mut e = w.start_with(id, flow, false, chosen);
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        while !matches!(w.advance(&mut e), Step::Done) {}
    }));
    *failed.expect_err("the execution failed").downcast::<String>().unwrap()
}

#[test]
fn the_heartbeat_leaves_a_live_or_paused_run_alone_and_continues_a_silent_one() {
    let mut w = World::new(&spec(1.0, 5), &["Key", "Text"], &rows(8), "gpt-4o-mini");
    let now = w.now;
    w.props.insert("ROWBATCH_PROGRESS".into(), json!({ "at": now - 60_000.0 }).to_string());
    assert_eq!(finish(&mut w, 1, "heartbeat", true), json!({ "alive": true }));
    w.props.insert(
        "ROWBATCH_PROGRESS".into(),
        json!({ "at": now - 3_600_000.0, "paused": { "until": now + 60_000.0 } }).to_string(),
    );
    assert_eq!(finish(&mut w, 2, "heartbeat", true), json!({ "paused": true }));
    // Silent for more than 8 minutes: the heartbeat runs the slice itself.
    w.props.insert("ROWBATCH_PROGRESS".into(), json!({ "at": now - 9.0 * 60_000.0 }).to_string());
    let r = finish(&mut w, 3, "heartbeat", true);
    assert_eq!(r["finished"], true, "{r}");
    assert_eq!(w.output_keys().len(), 8);
    // A finished run: the heartbeat ends itself.
    assert_eq!(finish(&mut w, 4, "heartbeat", true), json!({ "ended": true }));
}

#[test]
fn stop_names_who_stopped_and_the_next_slice_sends_nothing() {
    let mut w = World::new(&spec(1.0, 5), &["Key", "Text"], &rows(8), "gpt-4o-mini");
    assert_eq!(finish(&mut w, 1, "stop", false), json!("stopping"));
    assert_eq!(w.props["ROWBATCH_STOP"], "stopped by someone@example.com");
    let r = finish(&mut w, 2, "continue", true);
    assert_eq!(r, json!({ "stopped": "stopped by someone@example.com" }));
    assert_eq!(w.requests, 0);
    // Resume clears the flag and finishes the job.
    let r = finish(&mut w, 3, "resume", false);
    assert_eq!(r["finished"], true, "{r}");
}

fn alerts_after(failing: usize, rows_n: usize) -> (Value, Vec<Value>) {
    let mut rs = rows(rows_n);
    for (i, r) in rs.iter_mut().take(failing).enumerate() {
        r[1] = Cell::Text(format!("FAIL {i}"));
    }
    let mut w = World::new(&spec(1.0, 50), &["Key", "Text"], &rs, "gpt-4o-mini");
    w.props.insert("ROWBATCH_ALERT_EMAIL".into(), "ops@example.com".into());
    let mut results = Vec::new();
    for n in 0..10 {
        let r = finish(&mut w, n, if n == 0 { "run" } else { "continue" }, n > 0);
        results.push(r.clone());
        if r["finished"] == true {
            break;
        }
    }
    (serde_json::from_str(&w.props["ROWBATCH_ALERTS"]).unwrap(), results)
}

#[test]
fn a_finished_run_mails_once_and_one_failing_past_a_fifth_of_twenty_rows_warns() {
    let (alerts, results) = alerts_after(0, 25);
    assert_eq!(results.last().unwrap()["finished"], true);
    assert_eq!(alerts["done"], true);
    assert!(alerts.get("failureRate").is_none(), "no row failed");
    // 5 of 25 is a fifth, not more: no warning.
    let (alerts, _) = alerts_after(5, 25);
    assert!(alerts.get("failureRate").is_none(), "{alerts}");
    let (alerts, _) = alerts_after(6, 25);
    assert_eq!(alerts["failureRate"], true, "{alerts}");
}

#[test]
fn retry_failed_reopens_failed_rows_in_place_and_answers_them_there() {
    let mut w = World::new(&spec(1.0, 50), &["Key", "Text"], &rows(6), "gpt-4o-mini");
    finish(&mut w, 1, "run", false);
    // Two rows failed earlier (as a bad answer would leave them).
    let out = w.sheets.get_mut("Output").unwrap();
    for r in [2, 5] {
        out[r][3] = Cell::Text("failed".into());
    }
    let before = w.requests;
    let r = finish(&mut w, 2, "retryFailed", false);
    assert_eq!(r["reopened"], 2, "{r}");
    assert_eq!(w.requests - before, 2);
    let out = &w.sheets["Output"];
    assert_eq!(out.len(), 7, "answered in their own rows");
    assert!(out[1..].iter().all(|r| r[3] == Cell::Text("done".into())));
    // Every request billed is on some row's `_costUsd`: the re-opened rows carry their first
    // (failed) attempt's cost into their answer.
    let col = out[0].iter().position(|c| *c == Cell::Text("_costUsd".into())).expect("_costUsd");
    let cost = |r: &Vec<Cell>| match r[col] {
        Cell::Number(n) => n,
        _ => panic!("no cost on {r:?}"),
    };
    let on_rows: f64 = out[1..].iter().map(cost).sum();
    assert!((on_rows - w.bill).abs() < 1e-5, "{on_rows} on the rows, {} billed", w.bill);
    assert!(cost(&out[2]) > cost(&out[1]) * 1.5, "{} vs {}", cost(&out[2]), cost(&out[1]));
}

#[test]
fn status_and_report_read_the_sheets_and_send_nothing() {
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let s = finish(&mut w, 1, "status", false);
    assert_eq!(s["counts"]["due"], 10);
    finish(&mut w, 2, "run", false);
    let s = finish(&mut w, 3, "status", false);
    assert_eq!((s["finished"].clone(), s["counts"]["done"].clone()), (json!(true), json!(10)));
    let before = w.requests;
    let r = finish(&mut w, 4, "report", false);
    assert_eq!(r["summary"]["counts"]["done"], 10);
    assert_eq!(w.requests, before);
}

#[test]
fn the_first_row_goes_alone_and_a_refusal_of_every_row_costs_one_request() {
    // A healthy provider: the canary, then full waves.
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let last = run_alone(&mut w).pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.fetches, [1, 4, 4, 1]);

    // A schema the provider refuses: one request, the provider's words, no row marked failed.
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let refusal = r#"{"error":{"message":"Invalid schema for response_format 'row_output': 'minLength' is not permitted.","type":"invalid_request_error","param":"response_format","code":null}}"#;
    w.refuse = Some((400, refusal.to_owned()));
    let last = run_alone(&mut w).pop().unwrap();
    let stop = last["stop"].as_str().unwrap_or_default().to_owned();
    assert!(stop.contains("'minLength' is not permitted"), "{last}");
    assert_eq!(w.fetches, [1], "one request, not a wave");
    assert!(w.output_keys().is_empty(), "no row failed for it");

    // Resumed once the spec is fixed: the first row goes alone again, then the waves.
    w.refuse = None;
    let last = run_from(&mut w, "resume").pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.fetches, [1, 1, 4, 4, 1]);

    // A wrong key: the same, with the provider's reason.
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let wrong = r#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
    w.refuse = Some((401, wrong.to_owned()));
    let last = run_alone(&mut w).pop().unwrap();
    assert!(last["stop"].as_str().unwrap_or_default().contains("401"), "{last}");
    assert_eq!(w.fetches, [1]);

    // A 503 decides nothing: the next wave is the canary again.
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(3), "gpt-4o-mini");
    w.refuse = Some((503, "{}".to_owned()));
    let mut e = w.start(0, "run", false);
    while !matches!(w.advance(&mut e), Step::Done) {}
    w.refuse = None;
    w.triggers.clear();
    w.now += 120_000.0;
    let last = run_from(&mut w, "continue").pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.fetches[..2], [1, 1], "{:?}", w.fetches);
}

#[test]
fn check_key_asks_for_the_model_and_spends_nothing() {
    let check = |w: &mut World| finish(w, 0, "checkKey", false)["keyCheck"].clone();
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(3), "gpt-4o-mini");
    let ok = check(&mut w);
    assert_eq!((ok["ok"].clone(), ok["status"].clone()), (json!(true), json!(200)), "{ok}");
    assert!(ok["message"].as_str().unwrap().contains("gpt-4o-mini"));

    w.models = vec!["gpt-4.1-mini".into()];
    let unknown = check(&mut w);
    assert_eq!(unknown["ok"], false);
    assert!(unknown["message"].as_str().unwrap().contains("does not know this model"), "{unknown}");

    w.refuse = Some((
        401,
        r#"{"error":{"message":"Incorrect API key provided: sk-a***z.","code":"invalid_api_key"}}"#.into(),
    ));
    let wrong = check(&mut w);
    assert!(wrong["message"].as_str().unwrap().contains("refused the API key (401)"), "{wrong}");

    w.refuse = Some((0, "Address unavailable: https://api.example.invalid/v1/models/gpt-4o-mini".into()));
    let unreachable = check(&mut w);
    assert_eq!(unreachable["ok"], false);
    assert!(
        unreachable["message"]
            .as_str()
            .unwrap()
            .starts_with("no answer from https://api.openai.com/v1 (Address unavailable"),
        "{unreachable}"
    );
    assert_ne!(unreachable["message"], wrong["message"]);
    assert_ne!(unreachable["message"], unknown["message"]);

    w.key_set = false;
    let none = check(&mut w);
    assert!(none["message"].as_str().unwrap().contains("OPENAI_API_KEY"), "{none}");
    assert_eq!((w.requests, w.bill), (0, 0.0), "no row asked, nothing billed");
    assert!(!w.sheets.contains_key("Output"), "nothing written");
}

#[test]
fn a_dry_run_says_what_would_go_and_what_it_costs_and_touches_nothing() {
    let dry = |w: &mut World| finish(w, 9, "dryRun", false)["dryRun"].clone();
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let (sheets, props) = (w.sheets.clone(), w.props.clone());
    let d = dry(&mut w);
    assert_eq!(d["send"], 10, "{d}");
    assert_eq!(d["sheetRows"], json!([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    assert_eq!(d["request"]["sheetRow"], 2);
    assert_eq!(d["request"]["body"]["model"], "gpt-4o-mini");
    assert!(d["estimate"]["cost"]["realtime"].as_f64().unwrap() > 0.0);
    let lines: Vec<&str> = d["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(lines[0].starts_with("10 rows would be sent now (0 done"), "{lines:?}");
    assert_eq!(lines[1], "rows 2–11");
    assert_eq!(*lines.last().unwrap(), "nothing was sent, leased or written");
    assert_eq!((w.requests, &w.sheets, &w.props), (0, &sheets, &props), "nothing sent or written");

    // After a run answered every row, nothing would go.
    run_alone(&mut w);
    let requests = w.requests;
    let d = dry(&mut w);
    assert_eq!((d["send"].clone(), d["request"].clone()), (json!(0), Value::Null), "{d}");
    assert!(d["lines"][0].as_str().unwrap().starts_with("0 rows would be sent now (10 done"));
    assert_eq!(w.requests, requests);
}

#[test]
fn a_run_of_selected_rows_sends_those_alone_and_keeps_to_them_across_slices() {
    let mut w = World::new(&spec(1.0, 2), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    // Sheet rows 4 to 8 (keys K002 to K006), in waves of two over several slices.
    let mut e = w.start_with(0, "run", false, json!([4, 8]));
    let mut results = Vec::new();
    for n in 1..50 {
        while !matches!(w.advance(&mut e), Step::Done) {}
        let last = e.log.last().cloned().unwrap();
        results.push(last.clone());
        if last["finished"] == true || w.triggers.is_empty() {
            break;
        }
        w.triggers.clear();
        e = w.start(n, "continue", true);
    }
    let last = results.last().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    let keys: Vec<String> = w.output_keys().into_keys().collect();
    assert_eq!(keys, ["K002", "K003", "K004", "K005", "K006"]);
    assert_eq!(w.fetches.iter().sum::<usize>(), 5);
    // A dry run of the rest, then a plain run, takes the other five.
    let mut d = w.start(60, "dryRun", false);
    while !matches!(w.advance(&mut d), Step::Done) {}
    assert_eq!(d.log.last().unwrap()["dryRun"]["sheetRows"], json!([2, 3, 9, 10, 11]));
    run_alone(&mut w);
    assert_eq!(w.output_keys().len(), 10);
    assert!(w.output_keys().values().all(|&n| n == 1));
}

#[test]
fn a_spread_field_gets_a_column_per_leaf_with_numbers_kept_numbers() {
    let mut s = spec(1.0, 10);
    s["output"]["schema"] = json!({ "type": "object", "properties": {
        "answer": { "type": "string" },
        "vitals": { "$ref": "#/$defs/vitals" },
        "tags": { "type": "array", "items": { "type": "string" } } },
        "required": ["answer", "vitals", "tags"],
        "$defs": { "vitals": { "type": "object", "properties": {
            "HR": { "type": "number" }, "BP": { "type": "string" },
            "note": { "type": ["object", "null"], "properties": { "text": { "type": "string" } }, "required": ["text"] } },
            "required": ["HR", "BP", "note"] } } });
    s["output"]["spread"] = json!(["vitals"]);
    let mut w = World::new(&s, &["Key", "Text"], &rows(3), "gpt-4o-mini");
    w.content = json!({ "answer": "=HYPERLINK(\"x\")", "vitals": { "HR": 80, "BP": "120/80", "note": null }, "tags": ["a", "b"] }).to_string();
    assert_eq!(run_alone(&mut w).last().unwrap()["finished"], true);
    let out = &w.sheets["Output"];
    let header: Vec<String> = out[0]
        .iter()
        .map(|c| match c {
            Cell::Text(t) => t.clone(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(header[5..10], ["answer", "vitals.HR", "vitals.BP", "vitals.note.text", "tags"]);
    let row = &out[1];
    assert_eq!(
        row[5],
        Cell::Text("=HYPERLINK(\"x\")".into()),
        "a formula stays text (written behind an apostrophe)"
    );
    assert_eq!(row[6], Cell::Number(80.0));
    assert_eq!(row[7], Cell::Text("120/80".into()));
    assert_eq!(row[8], Cell::Empty);
    assert_eq!(row[9], Cell::Text("[\"a\",\"b\"]".into()));
    // The answer columns after the leaves are where the ledger looks for them: each row's cost.
    let cost = header.iter().position(|h| h == "_costUsd").unwrap();
    let billed: f64 = out[1..].iter().map(|r| if let Cell::Number(n) = r[cost] { n } else { 0.0 }).sum();
    assert!((billed - w.bill).abs() < 1e-6, "rows show {billed}, billed {}", w.bill);

    // Spreading changes where answers go, not what they are: the same version.
    let v = |s: Value| {
        rowbatch_core::validate::check_spec(rowbatch_core::validate::SpecInput { spec: s }).unwrap().version
    };
    let mut plain = s.clone();
    plain["output"].as_object_mut().unwrap().remove("spread");
    assert_eq!(v(plain), v(s.clone()));
    // A name that is not an object field is refused at its place, with the fields that could be.
    s["output"]["spread"] = json!(["tags"]);
    let err =
        rowbatch_core::validate::check_spec(rowbatch_core::validate::SpecInput { spec: s }).unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("output.spread[0]") && text.contains("an answer field that is an object (vitals)"),
        "{text}"
    );
}

#[test]
fn a_batch_submission_sends_its_first_row_alone_before_any_file_goes_up() {
    // A schema the provider refuses: one realtime request, its words, no file, no row failed.
    let mut w = World::new(&spec(1.0, 4), &["Key", "Text"], &rows(6), "gpt-4o-mini");
    let refusal = r#"{"error":{"message":"Invalid schema for response_format 'row_output': 'minLength' is not permitted.","type":"invalid_request_error","param":"response_format","code":null}}"#;
    w.refuse = Some((400, refusal.to_owned()));
    let done = finish(&mut w, 0, "submitBatch", false);
    assert_eq!(done["submitted"], 0, "{done}");
    let note = done["note"].as_str().unwrap();
    assert!(
        note.starts_with("nothing submitted: the first row, sent alone before any batch, was refused"),
        "{note}"
    );
    assert!(note.contains("'minLength' is not permitted"), "{note}");
    assert_eq!(w.fetches, [1]);
    assert!(w.batch_calls.is_empty(), "no file went up: {:?}", w.batch_calls);
    assert!(w.output_keys().is_empty(), "no row failed for it");
    assert!(w.shared().reservations.is_empty(), "the canary's reservation is settled");

    // Fixed: the canary is answered and written, then the rest go as a batch (which this
    // provider refuses: those rows are released, the canary's answer stays).
    w.refuse = None;
    let done = finish(&mut w, 1, "submitBatch", false);
    assert_eq!(w.fetches, [1, 1]);
    assert_eq!(w.output_keys().len(), 1, "{done}");
    assert_eq!(w.batch_calls.len(), 1, "{:?}", w.batch_calls);
    assert!(w.batch_calls[0].contains("/files"), "{:?}", w.batch_calls);
    assert!((w.shared().spent_usd - w.bill).abs() < 1e-12, "the canary's cost is on record");

    // A job with an answer under this spec needs no canary: the file goes up at once.
    let _ = finish(&mut w, 2, "submitBatch", false);
    assert_eq!(w.fetches, [1, 1], "no realtime request this time");
    assert_eq!(w.batch_calls.len(), 2);
}

#[test]
fn an_output_sheet_written_for_another_layout_is_refused_before_anything_is_sent() {
    let mut w = World::new(&spec(1.0, 10), &["Key", "Text"], &rows(3), "gpt-4o-mini");
    // An output sheet with a blank first row (made by hand, or by an execution killed between
    // making it and writing its header) gets the header, and the run goes on.
    w.sheets.insert("Output".into(), vec![vec![Cell::Empty; 3]]);
    assert_eq!(run_alone(&mut w).last().unwrap()["finished"], true);
    assert_eq!(w.sheets["Output"][0][0], Cell::Text("_key".into()));
    assert_eq!(w.output_keys().len(), 3);
    // The answer gets a field: its columns would no longer sit under their headings.
    let mut s = spec(1.0, 10);
    s["output"]["schema"]["properties"]["score"] = json!({ "type": "integer" });
    w.sheets.insert("_rowbatch_spec".into(), vec![vec![Cell::Text(s.to_string())]]);
    w.sheets.get_mut("Input").unwrap().push(vec![Cell::Text("K999".into()), Cell::Text("new".into())]);
    let before = w.requests;
    let message = failure(&mut w, 7, "run", Value::Null);
    assert!(
        message.contains("the output sheet \"Output\" was written for another layout: its column G is \"_quality\", where this job writes \"score\""),
        "{message}"
    );
    assert_eq!(w.requests, before, "nothing sent");
    assert!(w.triggers.is_empty(), "no trigger left to fail again");
    // The same for a batch submission.
    assert!(failure(&mut w, 8, "submitBatch", Value::Null).contains("written for another layout"));
    assert!(w.batch_calls.is_empty() && w.requests == before);
}

#[test]
fn a_run_of_chosen_keys_or_of_a_number_of_rows_sends_those_alone_and_finishes() {
    // --ids: only those rows, in every slice; the run is finished when they are.
    let mut w = World::new(&spec(1.0, 3), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let last = run_with(&mut w, "run", json!({ "keys": ["K002", "K007", "K009"] })).pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.output_keys().keys().cloned().collect::<Vec<_>>(), ["K002", "K007", "K009"]);
    // A key the sheet does not have is refused by name, before anything is sent.
    let sent = w.requests;
    assert!(
        failure(&mut w, 5, "run", json!({ "keys": ["K001", "NOPE"] }))
            .contains("no row of the input sheet has the key NOPE")
    );
    assert_eq!(w.requests, sent);

    // --limit: the first four due rows (the canary among them), then finished.
    let mut w = World::new(&spec(1.0, 3), &["Key", "Text"], &rows(10), "gpt-4o-mini");
    let last = run_with(&mut w, "run", json!({ "limit": 4 })).pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.output_keys().keys().cloned().collect::<Vec<_>>(), ["K000", "K001", "K002", "K003"]);
    assert_eq!(w.fetches, [1, 3], "the canary, then the three rows left of the four");
    // Again with a limit: the next four due rows.
    let last = run_with(&mut w, "run", json!({ "limit": 4 })).pop().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    assert_eq!(w.output_keys().len(), 8);
}

/// A run whose host can start workers (`fanOut`), slice after slice, to its end.
fn run_fanned(w: &mut World) -> Vec<Value> {
    run_with(w, "run", json!({ "fanOut": true }))
}

#[test]
fn a_run_that_can_start_workers_sends_its_rows_through_rounds_of_them_each_row_once() {
    let mut w = World::new(&spec(5.0, 7), &["Key", "Text"], &rows(200), "gpt-4o-mini");
    let results = run_fanned(&mut w);
    let last = results.last().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    // 500 requests a minute at 10 s each are worth 17 workers (estimate::workers), more than the
    // 10 lanes: a round makes a call for each 20 due rows (199 after the canary: 10), fewer once
    // fewer rows are left, none once one wave's worth is.
    assert_eq!(w.worker_rounds.first(), Some(&10), "{:?}", w.worker_rounds);
    assert!(w.worker_rounds.iter().all(|&n| (2..=10).contains(&n)), "{:?}", w.worker_rounds);
    let keys = w.output_keys();
    assert_eq!(keys.len(), 200);
    assert!(keys.values().all(|&n| n == 1), "a row written twice");
    // The canary went alone, from the run's own slice, before any round.
    assert_eq!(w.fetches[0], 1);
    // Money: what the journal holds and what the run record says are both the provider's bill,
    // though nine executions wrote the record at once.
    let shared = w.shared();
    assert!((shared.spent_usd - w.bill).abs() < 1e-9, "journal {} bill {}", shared.spent_usd, w.bill);
    let run: Value = serde_json::from_str(&w.props["ROWBATCH_RUN"]).unwrap();
    assert!(
        (run["costUsd"].as_f64().unwrap() - w.bill).abs() < 1e-9,
        "record {} bill {}",
        run["costUsd"],
        w.bill
    );
    // The workers' rows are in the slices' summaries; the sidebar's record of the last round.
    let sent: u64 = results.iter().map(|r| r["summary"]["sent"].as_u64().unwrap()).sum();
    assert_eq!(sent as usize, w.requests);
    let round: Value = serde_json::from_str(&w.props["ROWBATCH_WORKERS"]).unwrap();
    assert_eq!(round["count"], *w.worker_rounds.last().unwrap(), "{round}");
    assert_eq!(round["fan"]["rounds"], w.worker_rounds.len(), "{round}");
}

#[test]
fn a_round_pools_its_calls_over_the_lanes_when_as_many_workers_may_run_at_once() {
    // 10,000 requests a minute: 25 workers could run at once, more than fetchAll's 10 lanes, so
    // a round makes as many calls as the lanes can end in the slice (5 a lane of up to 60 s
    // each), ten at a time: one round spans what would have been two of 25.
    let mut s = spec(50.0, 7);
    s["limits"]["requestsPerMinute"] = json!(10_000);
    s["limits"]["tokensPerMinute"] = json!(4_000_000);
    let mut w = World::new(&s, &["Key", "Text"], &rows(1200), "gpt-4o-mini");
    let results = run_fanned(&mut w);
    assert_eq!(results.last().unwrap()["finished"], true, "{}", results.last().unwrap());
    assert_eq!(w.worker_rounds.first(), Some(&50), "{:?}", w.worker_rounds);
    let first = &results[0]["workers"];
    assert_eq!((&first["atOnce"], &first["limitedBy"]), (&json!(10), &json!("time")), "{first}");
    let keys = w.output_keys();
    assert_eq!(keys.len(), 1200);
    assert!(keys.values().all(|&n| n == 1), "a row written twice");
    // A spec that asks for 4 workers gets rounds of 4 calls, all at once.
    let mut four = s.clone();
    four["limits"]["workers"] = json!(4);
    let mut w = World::new(&four, &["Key", "Text"], &rows(200), "gpt-4o-mini");
    assert_eq!(run_fanned(&mut w).last().unwrap()["finished"], true);
    assert_eq!(w.worker_rounds.first(), Some(&4), "{:?}", w.worker_rounds);
    assert!(w.worker_rounds.iter().all(|&n| n <= 4), "{:?}", w.worker_rounds);
}

#[test]
fn workers_leave_the_triggers_alone_and_work_only_a_run_that_is_on() {
    let mut w = World::new(&spec(5.0, 7), &["Key", "Text"], &rows(40), "gpt-4o-mini");
    // No run: a worker sends nothing.
    let idle = finish(&mut w, 1, "work", false);
    assert_eq!(idle["run"], Value::Null, "{idle}");
    assert_eq!(w.requests, 0);
    // A run on (its canary and one wave sent), its triggers set, its slice gone; a worker alone
    // works waves for its slice and changes no trigger.
    let mut e = w.start(2, "run", false);
    while w.fetches.len() < 2 {
        w.advance(&mut e);
    }
    w.kill(&e);
    let triggers = w.triggers.clone();
    assert!(!triggers.is_empty());
    let before = w.requests;
    let done = finish(&mut w, 3, "work", false);
    assert!(w.requests > before, "{done}");
    assert_eq!(w.triggers, triggers);
    assert!(done.get("workers").is_none_or(Value::is_null), "a worker starts no workers: {done}");
}

#[test]
fn workers_killed_mid_slice_lose_no_row_and_write_none_twice() {
    // 5: every worker dies before it sends (the slice then works alone, and says why); later:
    // after leasing, after sending, after writing some waves.
    for die_after in [5, 17, 40, 90] {
        let mut w = World::new(&spec(5.0, 7), &["Key", "Text"], &rows(120), "gpt-4o-mini");
        w.workers_die_after = Some(die_after);
        let results = run_fanned(&mut w);
        let last = results.last().unwrap();
        assert_eq!(last["finished"], true, "killed after {die_after}: {last}");
        let keys = w.output_keys();
        assert_eq!(keys.len(), 120, "killed after {die_after}");
        assert!(keys.values().all(|&n| n == 1), "killed after {die_after}: a row written twice");
        assert!(w.shared().spent_usd <= w.bill + 1e-9);
        // Rows a dead worker leased wait for their lease; the rows due beside them do not.
        for r in &results {
            if r["counts"]["due"].as_u64().is_some_and(|d| d > 0) && r["stop"].is_null() {
                assert!(r["nextAt"].is_null(), "killed after {die_after}: {r}");
            }
        }
        if die_after == 5 {
            let workers = &results[0]["workers"];
            assert!(workers["alone"].as_str().unwrap().contains("Timeout"), "{workers}");
            assert_eq!(w.worker_rounds.len(), 1, "one fruitless round, then alone");
            // The sidebar's record says so too.
            let round: Value = serde_json::from_str(&w.props["ROWBATCH_WORKERS"]).unwrap();
            assert!(round["fan"]["alone"].as_str().is_some_and(|a| a.contains("Timeout")), "{round}");
        }
    }
}

#[test]
fn a_round_whose_answers_a_timeout_threw_away_is_followed_by_more_rounds() {
    // One slow worker throws the whole fetchAll: no answer reaches the slice, yet the workers
    // wrote their rows. The slice keeps starting rounds instead of working alone.
    let mut w = World::new(&spec(5.0, 7), &["Key", "Text"], &rows(200), "gpt-4o-mini");
    w.rounds_throw = true;
    let results = run_fanned(&mut w);
    let last = results.last().unwrap();
    assert_eq!(last["finished"], true, "{last}");
    let first = &results[0]["workers"];
    assert!(first["alone"].is_null(), "{first}");
    assert!(first["rounds"].as_u64().unwrap() >= 3, "{first}");
    assert_eq!(first["unanswered"], first["calls"], "{first}");
    let keys = w.output_keys();
    assert_eq!(keys.len(), 200);
    assert!(keys.values().all(|&n| n == 1), "a row written twice");
}

#[test]
fn a_slice_out_of_time_with_rows_due_continues_at_once_though_another_holds_a_lease() {
    let mut w = World::new(&spec(5.0, 5), &["Key", "Text"], &rows(40), "gpt-4o-mini");
    // One execution sends its canary and leases a wave, then is silent (alive, leases held).
    let mut a = w.start(0, "run", false);
    while w.fetches.len() < 2 {
        w.advance(&mut a);
    }
    // Another sends a wave, and its time is up before the next.
    let mut b = w.start(1, "continue", true);
    let sent = w.fetches.len();
    while w.fetches.len() == sent {
        w.advance(&mut b);
    }
    w.now += 290_000.0;
    while !matches!(w.advance(&mut b), Step::Done) {}
    let r = b.log.last().unwrap();
    assert!(r["counts"]["due"].as_u64().unwrap() > 0 && r["counts"]["inFlight"].as_u64().unwrap() > 0, "{r}");
    assert!(r["nextAt"].is_null(), "the continuation waits for the lease: {r}");
    assert!(w.triggers.iter().any(|t| t == "rowbatchContinue"));
}

#[test]
fn a_batch_file_download_names_the_batch_and_passes_on_the_providers_refusal() {
    let mut w = World::new(&spec(1.0, 5), &["Key", "Text"], &rows(3), "gpt-4o-mini");
    let message = failure(&mut w, 1, "batchFile", json!({ "batch": "batch_abc" }));
    assert!(message.contains("the batch batch_abc answered 404: no batch API here"), "{message}");
    assert_eq!(w.batch_calls, ["GET https://api.openai.com/v1/batches/batch_abc"]);
    let message = failure(&mut w, 2, "batchFile", json!({}));
    assert!(message.contains("name the batch to download"), "{message}");
    // An id that would reach another path is refused before any call.
    let message = failure(&mut w, 3, "batchFile", json!({ "batch": "../files" }));
    assert_eq!(w.batch_calls.len(), 1, "{message}");
}

#[test]
fn a_retry_due_in_seconds_is_slept_through_not_left_to_a_trigger() {
    let mut w = World::new(&spec(1.0, 10), &["Key", "Text"], &rows(11), "gpt-4o-mini");
    // The canary goes through; the one wave after it is throttled, three of its rows, and
    // nothing else is due while they wait.
    let mut e = w.start(0, "run", false);
    while w.fetches.is_empty() {
        w.advance(&mut e);
    }
    w.throttle_next = 3;
    while !matches!(w.advance(&mut e), Step::Done) {}
    let last = e.log.last().unwrap();
    assert_eq!(last["finished"], true, "one slice finishes the run: {last}");
    assert!(!w.naps.is_empty() && w.naps.iter().all(|&ms| ms <= 20_000), "{:?}", w.naps);
    assert!(w.output_keys().values().all(|&n| n == 1));
    assert_eq!(w.output_keys().len(), 11);
    assert_eq!(w.fetches, [1, 10, 3], "the three sent again after the nap");
}
