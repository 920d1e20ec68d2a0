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
    let mut results = Vec::new();
    let mut e = w.start(0, "run", false);
    for n in 1..200 {
        while !matches!(w.advance(&mut e), Step::Done) {}
        results.push(e.log.last().cloned().unwrap());
        if w.triggers.is_empty()
            || results.last().unwrap()["finished"] == true
            || !results.last().unwrap()["stop"].is_null()
        {
            break;
        }
        w.triggers.clear();
        e = w.start(n, "continue", true);
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
}

/// Executions started together and by triggers, advanced in the order `schedule` says; some
/// are killed. Returns the world once no execution is left.
fn interleave(w: &mut World, schedule: &[(u8, u8)], start_together: usize) {
    let mut execs: Vec<Exec> =
        (0..start_together).map(|i| w.start(i, if i == 0 { "run" } else { "continue" }, false)).collect();
    let mut next_id = start_together;
    let mut check = |w: &World| {
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
