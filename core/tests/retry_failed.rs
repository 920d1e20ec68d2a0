//! "Retry failed rows": failed output rows are re-opened in place, sent again with their
//! attempts starting over, and their answer (or new failure) takes the same row.

use rowbatch_core::Cell;
use rowbatch_core::keys::key_block;
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
    let out = |i: usize, status: &str| {
        vec![t(&inputs.keys[i]), t(&inputs.signatures[i]), t(&job.version), t(status), t("why")]
    };
    // A done, B failed, C done, D failed: the status span runs from B to D.
    let mut outputs = Block {
        first_row: 2,
        rows: vec![out(0, "done"), out(1, "failed"), out(2, "done"), out(3, "failed")],
    };
    let reopen = retry_failed(RetryInput { outputs: outputs.clone() });
    assert_eq!(reopen.rows, 2);
    assert_eq!(reopen.first_row, 3);
    assert_eq!(reopen.statuses, vec![[t("retry")], [t("done")], [t("retry")]]);
    for (i, [s]) in reopen.statuses.iter().enumerate() {
        outputs.rows[1 + i][3] = s.clone();
    }

    let plan = plan_wave(PlanInput {
        spec: spec(),
        inputs: inputs.clone(),
        outputs: outputs.clone(),
        progress: Block::default(),
        execution: "e".into(),
        now: 1e12,
        deadline: 1e12 + 300_000.0,
        timing: Default::default(),
        capacity: Default::default(),
        reserve: Default::default(),
        batch: false,
        max_rows: None,
    })
    .unwrap();
    let sent: Vec<(&str, Option<u64>, u32)> =
        plan.send.iter().map(|s| (s.key.as_str(), s.replace_row, s.attempt)).collect();
    assert_eq!(
        sent,
        [("B", Some(3), 1), ("D", Some(5), 1)],
        "sent again, first attempt, into their own rows"
    );

    // B is answered; D fails again: both take their own rows, neither is dropped.
    let outcome = |k: usize, status| Outcome {
        key: inputs.keys[k].clone(),
        signature: inputs.signatures[k].clone(),
        status,
        note: String::new(),
        not_before: 0.0,
    };
    let rec = reconcile(ReconcileInput {
        spec: spec(),
        results: vec![outcome(1, OutcomeStatus::Done), outcome(3, OutcomeStatus::Failed)],
        outputs,
        progress: Block::default(),
        execution: "e".into(),
        now: 1e12,
    })
    .unwrap();
    assert!(rec.dropped.is_empty(), "{:?}", rec.dropped);
    let writes: Vec<(u64, &str)> = rec.output_writes.iter().map(|w| (w.row, w.ledger[3].as_str())).collect();
    assert_eq!(writes, [(3, "done"), (5, "failed")]);

    // Nothing failed: nothing to write.
    let none = retry_failed(RetryInput { outputs: Block { first_row: 2, rows: vec![out(0, "done")] } });
    assert_eq!((none.rows, none.statuses.len()), (0, 0));
}
