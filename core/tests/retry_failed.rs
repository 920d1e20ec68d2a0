//! "Retry failed rows": failed output rows are re-opened in place, sent again with their
//! attempts starting over, and their answer (or new failure) takes the same row. What the failed
//! attempts cost goes with the key: the answer's `_costUsd` counts every attempt of the row.

use rowbatch_core::Cell;
use rowbatch_core::keys::key_block;
use rowbatch_core::layout::output_columns;
use rowbatch_core::ledger::{Block, RetryInput, retry_failed};
use rowbatch_core::plan::{PlanInput, plan_wave};
use rowbatch_core::reconcile::{Outcome, OutcomeStatus, ReconcileInput, reconcile};
use rowbatch_core::spec::Job;
use serde_json::{Value, json};

fn spec() -> Value {
    json!({
        "name": "retry",
        "input": { "key": "K", "schema": { "type": "object", "properties": { "K": { "type": "string" }, "T": { "type": "string" } } } },
        "output": { "schema": { "type": "object", "properties": { "a": { "type": "string" } } } },
        "prompt": { "system": "s", "template": "{{T}}" },
        "provider": { "kind": "openai", "model": "gpt-4o-mini" }
    })
}

fn t(s: &str) -> Cell {
    Cell::Text(s.into())
}

#[test]
fn failed_rows_are_reopened_in_place_and_answered_there() {
    let job = Job::compile(&spec()).unwrap();
    let rows: Vec<Vec<Cell>> =
        ["A", "B", "C", "D"].iter().map(|k| vec![t(k), t(&format!("text {k}"))]).collect();
    let inputs = key_block(&job, &["K".to_owned(), "T".to_owned()], &rows, 2).unwrap();
    // Whole output rows: ledger, the answer `a`, _quality, _warnings, _attempt, _costUsd, _answeredAt.
    assert_eq!(output_columns(&job)[9], "_costUsd");
    let out = |i: usize, status: &str, cost: Cell| {
        let mut row =
            vec![t(&inputs.keys[i]), t(&inputs.signatures[i]), t(&job.version), t(status), t("why")];
        row.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, cost, Cell::Empty]);
        row
    };
    // A done, B failed after paid attempts, C done, D failed without a paid one: the status span
    // runs from B to D, and B's cost goes to a free progress row (row 3; row 2 is another key's).
    let mut outputs = Block {
        first_row: 2,
        rows: vec![
            out(0, "done", Cell::Number(0.001)),
            out(1, "failed", Cell::Number(0.0025)),
            out(2, "done", Cell::Number(0.001)),
            out(3, "failed", Cell::Empty),
        ],
    };
    let progress = Block { first_row: 2, rows: vec![vec![t("Z"), Cell::Number(1.0)]] };
    let reopen = retry_failed(&job, &RetryInput { outputs: outputs.clone(), progress });
    assert_eq!(reopen.rows, 2);
    assert_eq!(reopen.first_row, 3);
    assert_eq!(reopen.statuses, vec![[t("retry")], [t("done")], [t("retry")]]);
    assert_eq!(reopen.progress_writes.len(), 1, "{:?}", reopen.progress_writes);
    let carried = &reopen.progress_writes[0];
    assert_eq!(carried.row, 3);
    assert_eq!(carried.values[0], t("B"));
    assert_eq!(carried.values[1], Cell::Number(0.0), "attempts start over");
    assert_eq!(carried.values[6], Cell::Number(0.0025));
    for (i, [s]) in reopen.statuses.iter().enumerate() {
        outputs.rows[1 + i][3] = s.clone();
    }
    let progress = Block { first_row: 3, rows: vec![carried.values.clone()] };

    let plan = plan_wave(PlanInput {
        spec: spec(),
        inputs: inputs.clone(),
        outputs: outputs.clone(),
        progress: progress.clone(),
        execution: "e".into(),
        now: 1e12,
        deadline: 1e12 + 300_000.0,
        timing: Default::default(),
        capacity: Default::default(),
        reserve: Default::default(),
        batch: false,
        max_rows: None,
        rows: None,
        keys: None,
    })
    .unwrap();
    let sent: Vec<(&str, Option<u64>, u32)> =
        plan.send.iter().map(|s| (s.key.as_str(), s.replace_row, s.attempt)).collect();
    assert_eq!(
        sent,
        [("B", Some(3), 1), ("D", Some(5), 1)],
        "sent again, first attempt, into their own rows"
    );
    let lease = plan.progress_writes.iter().find(|w| w.values[0] == t("B")).expect("B is leased");
    assert_eq!(lease.values[6], Cell::Number(0.0025), "the lease keeps what B cost so far");
    let progress = Block { first_row: 3, rows: vec![lease.values.clone()] };

    // B is answered; D fails again: both take their own rows, neither is dropped.
    let outcome = |k: usize, status| Outcome {
        key: inputs.keys[k].clone(),
        signature: inputs.signatures[k].clone(),
        status,
        note: String::new(),
        not_before: 0.0,
        cost_usd: 0.001,
    };
    let rec = reconcile(ReconcileInput {
        spec: spec(),
        results: vec![outcome(1, OutcomeStatus::Done), outcome(3, OutcomeStatus::Failed)],
        outputs,
        progress,
        execution: "e".into(),
        now: 1e12,
    })
    .unwrap();
    assert!(rec.dropped.is_empty(), "{:?}", rec.dropped);
    let writes: Vec<(u64, &str)> = rec.output_writes.iter().map(|w| (w.row, w.ledger[3].as_str())).collect();
    assert_eq!(writes, [(3, "done"), (5, "failed")]);
    let costs: Vec<f64> = rec.output_writes.iter().map(|w| w.cost_usd).collect();
    assert_eq!(costs, [0.0035, 0.001], "B's answer counts its failed attempts; D's new failure its one");

    // Nothing failed: nothing to write.
    let only_done = Block { first_row: 2, rows: vec![out(0, "done", Cell::Empty)] };
    let none = retry_failed(&job, &RetryInput { outputs: only_done, progress: Block::default() });
    assert_eq!((none.rows, none.statuses.len(), none.progress_writes.len()), (0, 0, 0));
}
