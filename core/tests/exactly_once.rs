//! Exactly-once under crashes, overlapping executions and edits.
//!
//! A model of the sheets (input, output, progress) and of a host that does what the Apps Script
//! host does: under the lock, key the input, plan and write the leases; send; under the lock,
//! reconcile and write the outputs, then the progress. Random scripts interleave two executions
//! with crashes at every step boundary, lost leases, input edits, inserts, deletes and sorts, and
//! a provider that answers, fails for a while or fails for good. Whatever happens, the run ends
//! with one output row or one recorded failure per key, nothing is sent again once it is done,
//! and no key is called more often than its attempts and the accidents allow.

use proptest::prelude::*;
use rowbatch_core::Cell;
use rowbatch_core::keys::key_block;
use rowbatch_core::layout::{OUTPUT_COLUMNS, PROGRESS_COLUMNS};
use rowbatch_core::ledger::{Block, RowWrite};
use rowbatch_core::plan::{self, PlanInput, Send, Timing};
use rowbatch_core::reconcile::{self, Outcome, OutcomeStatus, ReconcileInput};
use rowbatch_core::spec::Job;
use serde_json::{Value, json};
use std::collections::HashMap;

fn spec(keyed: bool, reprocess: bool, attempts: u32, wave: u32) -> Value {
    let mut props = json!({ "Text": { "type": "string" } });
    if keyed {
        props["Id"] = json!({ "type": "string" });
    }
    let mut input = json!({ "schema": { "type": "object", "properties": props } });
    if keyed {
        input["key"] = json!("Id");
    }
    input["onEdit"] = json!(if reprocess { "reprocess" } else { "keep" });
    json!({
        "name": "sim",
        "input": input,
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" } } } },
        "prompt": { "system": "s", "template": "{{Text}}" },
        "provider": { "kind": "openai", "model": "m" },
        "limits": { "attemptsPerRow": attempts, "waveSize": wave }
    })
}

#[derive(Debug, Clone)]
enum Op {
    Step(usize),
    Crash(usize),
    Edit(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Sort(u64),
    LoseLeases,
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..2usize).prop_map(Op::Step),
        2 => (0..2usize).prop_map(Op::Crash),
        2 => (0..16usize, 0..6u8).prop_map(|(i, t)| Op::Edit(i, t)),
        1 => (0..16usize, 0..6u8).prop_map(|(i, t)| Op::Insert(i, t)),
        1 => (0..16usize).prop_map(Op::Delete),
        1 => any::<u64>().prop_map(Op::Sort),
        1 => Just(Op::LoseLeases),
        2 => (1..600u32).prop_map(Op::Advance),
    ]
}

enum Phase {
    Leased(Vec<Send>),
    Answered(Vec<Outcome>),
    OutputsWritten(Vec<RowWrite>),
}

struct Execution {
    id: String,
    /// The end of its time slice; Apps Script kills it 90 s later (6 min after the start).
    deadline: f64,
    phase: Option<Phase>,
}

struct World {
    job: Job,
    keyed: bool,
    reprocess: bool,
    /// (Id, Text) per input row, in sheet order.
    input: Vec<(String, String)>,
    outputs: Vec<Vec<Cell>>,
    progress: Vec<Vec<Cell>>,
    now: f64,
    execs: [Option<Execution>; 2],
    started: usize,
    next_id: usize,
    outcomes: Vec<u8>,
    drawn: usize,
    calls: HashMap<String, u32>,
    /// New rounds a key may earn: one per edit.
    rounds: HashMap<String, u32>,
    accidents: u32,
    /// The script lock: which execution holds it. Apps Script releases it when that execution ends.
    lock: Option<usize>,
}

fn text(t: u8) -> String {
    format!("text {t}")
}

fn write(sheet: &mut Vec<Vec<Cell>>, row: u64, values: Vec<Cell>) {
    let i = (row - 2) as usize;
    if sheet.len() <= i {
        sheet.resize(i + 1, Vec::new());
    }
    sheet[i] = values;
}

fn block(sheet: &[Vec<Cell>]) -> Block {
    Block { first_row: 2, rows: sheet.to_vec() }
}

impl World {
    fn new(keyed: bool, reprocess: bool, attempts: u32, wave: u32, texts: &[u8], outcomes: Vec<u8>) -> Self {
        let spec = spec(keyed, reprocess, attempts, wave);
        let job = Job::compile(&spec).expect("sim spec compiles");
        let mut w = World {
            job,
            keyed,
            reprocess,
            input: Vec::new(),
            outputs: Vec::new(),
            progress: Vec::new(),
            now: 1_000_000.0,
            execs: [None, None],
            started: 0,
            next_id: 0,
            outcomes,
            drawn: 0,
            calls: HashMap::new(),
            rounds: HashMap::new(),
            accidents: 0,
            lock: None,
        };
        for &t in texts {
            w.insert(w.input.len(), t);
        }
        w
    }

    fn insert(&mut self, at: usize, t: u8) {
        self.next_id += 1;
        let row = (format!("K{}", self.next_id), text(t));
        self.input.insert(at.min(self.input.len()), row);
    }

    fn header(&self) -> Vec<String> {
        if self.keyed { vec!["Id".into(), "Text".into()] } else { vec!["Text".into()] }
    }

    fn cells(&self) -> Vec<Vec<Cell>> {
        let row = |(id, t): &(String, String)| {
            let mut r = vec![Cell::Text(t.clone())];
            if self.keyed {
                r.insert(0, Cell::Text(id.clone()));
            }
            r
        };
        self.input.iter().map(row).collect()
    }

    /// The key a row of the input has now (as the core computes it).
    fn keyed_rows(&self) -> rowbatch_core::keys::KeyedRows {
        key_block(&self.job, &self.header(), &self.cells(), 2).expect("keying")
    }

    fn output_of(&self, key: &str) -> Vec<&Vec<Cell>> {
        self.outputs.iter().filter(|r| r.first() == Some(&Cell::Text(key.to_owned()))).collect()
    }

    fn edit(&mut self, i: usize, t: u8) {
        if self.input.is_empty() {
            return;
        }
        let i = i % self.input.len();
        let keys = self.keyed_rows();
        let key = keys.keys[i].clone();
        self.input[i].1 = text(t);
        // An edit may earn a key another round: reprocessing an answer, or retrying a failure
        // (recorded now or later, if the row is in flight). Kept answers are checked at planning.
        if !key.is_empty() {
            *self.rounds.entry(key).or_default() += 1;
        }
    }

    fn start(&mut self, e: usize) {
        self.started += 1;
        self.execs[e] = Some(Execution {
            id: format!("exec-{}", self.started),
            deadline: self.now + 270_000.0,
            phase: None,
        });
    }

    fn draw(&mut self) -> OutcomeStatus {
        let o = self.outcomes.get(self.drawn % self.outcomes.len().max(1)).copied().unwrap_or(0);
        self.drawn += 1;
        match o % 6 {
            0..=3 => OutcomeStatus::Done,
            4 => OutcomeStatus::Retry,
            _ => OutcomeStatus::Failed,
        }
    }

    /// One step of execution `e`; returns false when it has ended (nothing to send or no time).
    fn step(&mut self, e: usize) -> bool {
        if self.execs[e].is_none() {
            self.start(e);
        }
        self.now += 1_000.0;
        let needs_lock =
            matches!(self.execs[e].as_ref().and_then(|x| x.phase.as_ref()), None | Some(Phase::Answered(_)));
        if needs_lock && self.lock.is_some_and(|holder| holder != e) {
            return true; // waits for the lock
        }
        let ex = self.execs[e].take().expect("started");
        if self.now > ex.deadline + 90_000.0 {
            // Killed by the platform: a crash like any other, and the lock goes with it.
            self.accidents += u32::from(ex.phase.is_some());
            self.release(e);
            return false;
        }
        let (id, deadline) = (ex.id.clone(), ex.deadline);
        let next = match ex.phase {
            None => {
                let inputs = self.keyed_rows();
                let input = PlanInput {
                    spec: Value::Null,
                    inputs,
                    outputs: block(&self.outputs),
                    progress: block(&self.progress),
                    execution: id.clone(),
                    now: self.now,
                    deadline,
                    timing: Timing::default(),
                    capacity: Default::default(),
                    reserve: Default::default(),
                    batch: false,
                    max_rows: None,
                    rows: None,
                    keys: None,
                };
                let p = plan::plan(&self.job, &input);
                for s in &p.send {
                    // Never send what is already answered from this very content.
                    let done = self
                        .output_of(&s.key)
                        .iter()
                        .any(|r| r[1] == txt(&s.signature) && r[3] != txt("failed"));
                    assert!(!done, "{} was sent again after it was done", s.key);
                    if !self.reprocess {
                        let answered = self.output_of(&s.key).iter().any(|r| r[3] != txt("failed"));
                        assert!(!answered, "{} was reprocessed though edits are kept", s.key);
                    }
                }
                // Duplicates are never sent: not two rows of one content in a wave, nor content
                // already answered under another key.
                let mut sigs: Vec<&str> = p.send.iter().map(|s| s.signature.as_str()).collect();
                sigs.sort();
                assert!(sigs.windows(2).all(|w| w[0] != w[1]), "a wave holds one content twice");
                for s in &p.send {
                    let other = self.outputs.iter().any(|r| {
                        r.len() > 3
                            && r[0] != txt(&s.key)
                            && r[1] == txt(&s.signature)
                            && r[3] != txt("failed")
                    });
                    assert!(!other, "{} duplicates content already answered", s.key);
                }
                for w in p.progress_writes {
                    write(&mut self.progress, w.row, w.values);
                }
                for m in p.marks {
                    write_status(&mut self.outputs, m.row, m.status.as_str());
                }
                if p.send.is_empty() {
                    return false;
                }
                Phase::Leased(p.send)
            }
            Some(Phase::Leased(sent)) => {
                let mut results = Vec::new();
                for s in sent {
                    *self.calls.entry(s.key.clone()).or_default() += 1;
                    let status = self.draw();
                    let not_before = self.now + 30_000.0;
                    results.push(Outcome {
                        key: s.key,
                        signature: s.signature,
                        status,
                        note: format!("{status:?}"),
                        not_before,
                        cost_usd: CALL_USD,
                    });
                }
                Phase::Answered(results)
            }
            Some(Phase::Answered(results)) => {
                let input = ReconcileInput {
                    spec: Value::Null,
                    results,
                    outputs: block(&self.outputs),
                    progress: block(&self.progress),
                    execution: id.clone(),
                    now: self.now,
                };
                let r = reconcile::reconcile_with(&self.job, &input);
                for w in &r.output_writes {
                    let mut row: Vec<Cell> = w.ledger.iter().map(|s| txt(s)).collect();
                    row.push(txt(&format!("answer to {}", input.results[w.result].signature)));
                    row.push(Cell::Number(w.cost_usd));
                    write(&mut self.outputs, w.row, row);
                }
                self.lock = Some(e); // held until the progress is written too
                Phase::OutputsWritten(r.progress_writes)
            }
            Some(Phase::OutputsWritten(writes)) => {
                for w in writes {
                    write(&mut self.progress, w.row, w.values);
                }
                self.release(e);
                if self.now + 70_000.0 > deadline {
                    return false;
                }
                self.execs[e] = Some(Execution { id, deadline, phase: None });
                return true;
            }
        };
        self.execs[e] = Some(Execution { id, deadline, phase: Some(next) });
        true
    }

    fn release(&mut self, e: usize) {
        if self.lock == Some(e) {
            self.lock = None;
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Step(e) => {
                if !self.step(e) {
                    self.execs[e] = None;
                }
            }
            Op::Crash(e) => {
                if self.execs[e].take().is_some_and(|x| x.phase.is_some()) {
                    self.accidents += 1;
                }
                self.release(e);
            }
            Op::Edit(i, t) => self.edit(i, t),
            Op::Insert(i, t) => self.insert(i, t),
            Op::Delete(i) if !self.input.is_empty() => {
                let i = i % self.input.len();
                self.input.remove(i);
            }
            Op::Delete(_) => {}
            Op::Sort(seed) => {
                let n = self.input.len().max(1);
                self.input.rotate_left((seed as usize) % n);
                if seed % 2 == 0 {
                    self.input.reverse();
                }
            }
            Op::LoseLeases => {
                let live = self.progress.iter().any(|r| r.get(3).is_some_and(|c| *c != Cell::Empty));
                if live {
                    self.accidents += 1;
                }
                for r in &mut self.progress {
                    if r.len() == PROGRESS_COLUMNS.len() {
                        r[3] = Cell::Empty;
                        r[4] = Cell::Empty;
                    }
                }
            }
            Op::Advance(s) => self.now += f64::from(s) * 1_000.0,
        }
    }

    /// Runs one execution at a time, without accidents, until the job is finished.
    fn drain(&mut self) {
        // The lock holder first, so the other never waits for it.
        let first = self.lock.unwrap_or(0);
        for e in [first, 1 - first] {
            while self.execs[e].as_ref().is_some_and(|x| x.phase.is_some()) {
                self.step(e);
            }
            self.execs[e] = None;
        }
        for _ in 0..10_000 {
            let p = self.plan_now();
            if p.finished {
                return;
            }
            if p.send.is_empty() {
                self.now = p.next_at.unwrap_or(self.now).max(self.now) + 1.0;
                continue;
            }
            while self.step(0) {}
            self.execs[0] = None;
        }
        panic!("the job did not finish");
    }

    fn plan_now(&self) -> plan::Plan {
        let input = PlanInput {
            spec: Value::Null,
            inputs: self.keyed_rows(),
            outputs: block(&self.outputs),
            progress: block(&self.progress),
            execution: "observer".into(),
            now: self.now,
            deadline: self.now + 1e12,
            timing: Timing::default(),
            capacity: Default::default(),
            reserve: Default::default(),
            batch: false,
            max_rows: None,
            rows: None,
            keys: None,
        };
        plan::plan(&self.job, &input)
    }

    fn check(&self) {
        let keyed = self.keyed_rows();
        let p = self.plan_now();
        assert!(p.finished, "finished: {:?}", p.counts);
        // One row per key in the output sheet.
        let mut rows_per_key: HashMap<String, usize> = HashMap::new();
        for r in self.outputs.iter().filter(|r| !r.is_empty()) {
            assert_eq!(r.len(), OUTPUT_COLUMNS.len() + 2);
            if let Cell::Text(k) = &r[0] {
                // `_costUsd` counts the key's attempts: never more than were paid for, and all of
                // them when nothing was lost to an accident and no edit started a new round.
                let Cell::Number(cost) = r[6] else { panic!("cost cell") };
                let paid = f64::from(self.calls.get(k).copied().unwrap_or(0)) * CALL_USD;
                assert!(cost <= paid + 1e-9, "{k}: a cost of {cost} on the row, {paid} paid");
                if self.accidents == 0 && self.rounds.is_empty() {
                    assert!((cost - paid).abs() < 1e-9, "{k}: a cost of {cost} on the row, {paid} paid");
                }
                *rows_per_key.entry(k.clone()).or_default() += 1;
                if r[3] == txt("done") || r[3] == txt("stale") {
                    let Cell::Text(sig) = &r[1] else { panic!("signature cell") };
                    assert_eq!(r[5], txt(&format!("answer to {sig}")), "answer beside its signature");
                }
            }
        }
        for (k, n) in &rows_per_key {
            assert_eq!(*n, 1, "{k} has {n} output rows");
        }
        // Every key in the input is answered, failed, a duplicate or excluded.
        let accounted =
            p.counts.done + p.counts.stale + p.counts.failed + p.counts.duplicates + p.counts.excluded;
        assert_eq!(accounted, keyed.keys.len(), "{:?}", p.counts);
        for key in keyed.keys.iter().filter(|k| !k.is_empty()) {
            let n = rows_per_key.get(key).copied().unwrap_or(0);
            let duplicate = p.duplicates.iter().any(|d| &d.key == key);
            assert!(n == 1 || duplicate, "{key}: {n} output rows");
        }
        // Calls per key within attempts, the extra rounds edits earned, and the accidents.
        let attempts = self.job.spec.limits.attempts_per_row;
        for (k, calls) in &self.calls {
            let rounds = 1 + self.rounds.get(k).copied().unwrap_or(0);
            let bound = attempts * rounds + self.accidents;
            assert!(
                *calls <= bound,
                "{k}: {calls} calls > {attempts}×{rounds} + {} accidents",
                self.accidents
            );
        }
    }
}

/// What the provider charges for every call it answers (a retry or a failure too).
const CALL_USD: f64 = 0.001;

fn txt(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn write_status(sheet: &mut [Vec<Cell>], row: u64, status: &str) {
    if let Some(r) = sheet.get_mut((row - 2) as usize) {
        r[3] = txt(status);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_key_ends_with_exactly_one_row(
        keyed in any::<bool>(),
        reprocess in any::<bool>(),
        attempts in 1..4u32,
        wave in 1..5u32,
        texts in proptest::collection::vec(0..6u8, 0..10),
        ops in proptest::collection::vec(op(), 0..80),
        outcomes in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let mut w = World::new(keyed, reprocess, attempts, wave, &texts, outcomes);
        for op in &ops {
            w.apply(op);
        }
        w.drain();
        w.check();
    }
}

#[test]
fn a_crash_after_the_write_neither_loses_nor_repeats_the_answer() {
    let mut w = World::new(true, false, 3, 5, &[0, 1, 2], vec![0]);
    w.step(0); // plan + leases
    w.step(0); // send
    w.step(0); // reconcile + write outputs
    w.apply(&Op::Crash(0)); // progress never written
    assert_eq!(w.outputs.len(), 3);
    w.drain();
    w.check();
    assert_eq!(w.calls.values().sum::<u32>(), 3, "nothing sent twice");
}

#[test]
fn lost_leases_let_two_executions_answer_one_key_and_only_one_row_is_written() {
    let mut w = World::new(true, false, 3, 5, &[0], vec![0]);
    w.step(0);
    w.apply(&Op::LoseLeases);
    w.step(1); // the second execution sees no lease and takes the key too
    for _ in 0..3 {
        w.step(0);
        w.step(1);
    }
    assert_eq!(w.calls["K1"], 2);
    assert_eq!(w.outputs.iter().filter(|r| !r.is_empty()).count(), 1);
    w.drain();
    w.check();
}
