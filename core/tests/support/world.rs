//! A host for the run driver in Rust: a workbook, Properties, the script lock and a provider
//! that bills what it answers, performing the driver's commands one at a time, so tests can
//! interleave executions and kill one at any command. (Each test crate uses part of it.)
#![allow(dead_code)]

use rowbatch_core::cell::Cell;
use rowbatch_core::price::{Price, Usage};
use rowbatch_core::run::{Command, Event, Run, Shared, Start};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

pub struct World {
    pub sheets: BTreeMap<String, Vec<Vec<Cell>>>,
    pub props: BTreeMap<String, String>,
    pub lock: Option<usize>,
    pub triggers: Vec<String>,
    pub now: f64,
    /// What the provider charged, and how often each row's content was asked.
    pub bill: f64,
    pub requests: usize,
    /// How many requests each `fetchAll` carried.
    pub fetches: Vec<usize>,
    /// While set, the provider refuses every request with this status and body (unbilled).
    pub refuse: Option<(u16, String)>,
    /// Whether the API key is set; the models the provider has.
    pub key_set: bool,
    pub models: Vec<String>,
    /// The Batch API calls made (method and URL).
    pub batch_calls: Vec<String>,
    /// What the model answers a row (one whose text holds FAIL gets text that is not JSON).
    pub content: String,
    /// The rounds of workers asked for (each round's size).
    pub worker_rounds: Vec<u32>,
    /// Each worker dies after this many of its commands (a worker killed mid-slice).
    pub workers_die_after: Option<usize>,
    /// Each round's `fetchAll` throws once its workers are done, as when one of them outlived
    /// UrlFetch's timeout: every answer lost, their work kept.
    pub rounds_throw: bool,
    /// The next this many requests get a 429 asking to retry after 2 s (unbilled).
    pub throttle_next: usize,
    /// The sleeps the executions asked for (ms).
    pub naps: Vec<u64>,
    price: Price,
}

pub struct Exec {
    pub id: usize,
    run: Run,
    queue: VecDeque<Command>,
    results: Vec<Value>,
    pub done: bool,
    pub log: Vec<Value>,
    /// The start and every event, as a replay takes them.
    pub start: Value,
    pub events: Vec<Value>,
}

pub enum Step {
    Ran,
    Blocked,
    Done,
}

/// Sheets keeps text behind a leading apostrophe as the text without it.
fn stored(c: &Cell) -> Cell {
    match c {
        Cell::Text(t) if t.starts_with('\'') => Cell::Text(t[1..].to_owned()),
        Cell::Text(t) if t.is_empty() => Cell::Empty,
        other => other.clone(),
    }
}

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Bool(b) => json!(b),
        Cell::Number(n) => json!(n),
        Cell::Text(t) => json!(t),
    }
}

impl World {
    pub fn new(spec: &Value, header: &[&str], rows: &[Vec<Cell>], model: &str) -> Self {
        let mut sheets = BTreeMap::new();
        sheets.insert("_rowbatch_spec".to_owned(), vec![vec![Cell::Text(spec.to_string())]]);
        let mut input = vec![header.iter().map(|h| Cell::Text((*h).to_owned())).collect::<Vec<_>>()];
        input.extend(rows.iter().cloned());
        sheets.insert("Input".to_owned(), input);
        Self {
            sheets,
            props: BTreeMap::new(),
            lock: None,
            triggers: Vec::new(),
            now: 1.8e12,
            bill: 0.0,
            requests: 0,
            fetches: Vec::new(),
            refuse: None,
            key_set: true,
            models: vec![model.to_owned()],
            content: "{\"answer\":\"ok\"}".to_owned(),
            batch_calls: Vec::new(),
            worker_rounds: Vec::new(),
            workers_die_after: None,
            rounds_throw: false,
            throttle_next: 0,
            naps: Vec::new(),
            price: rowbatch_core::price::builtin(model).expect("a priced model"),
        }
    }

    pub fn start(&mut self, id: usize, flow: &str, trigger: bool) -> Exec {
        self.start_with(id, flow, trigger, Value::Null)
    }

    /// [`World::start`] with the Start's `rows` (null: none), or its `rows`, `keys` and `limit`
    /// as an object.
    pub fn start_with(&mut self, id: usize, flow: &str, trigger: bool, rows: Value) -> Exec {
        let mut start_json = json!({
            "flow": flow, "now": self.now, "seed": format!("{:032x}", (id as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)), "trigger": trigger,
        });
        match rows {
            Value::Null => {}
            Value::Object(chosen) => start_json.as_object_mut().unwrap().extend(chosen),
            rows => start_json["rows"] = rows,
        }
        let start: Start = serde_json::from_value(start_json.clone()).unwrap();
        let mut run = Run::new(start).unwrap();
        let queue = run.begin().into();
        Exec {
            id,
            run,
            queue,
            results: Vec::new(),
            done: false,
            log: Vec::new(),
            start: start_json,
            events: Vec::new(),
        }
    }

    /// The money as every execution has recorded it.
    pub fn shared(&self) -> Shared {
        Shared::parse(self.props.get("ROWBATCH_STATE").map(String::as_str)).unwrap()
    }

    /// Apps Script releases a dead execution's lock.
    pub fn kill(&mut self, e: &Exec) {
        if self.lock == Some(e.id) {
            self.lock = None;
        }
    }

    /// Performs one command of `e` (or asks the driver for the next ones).
    pub fn advance(&mut self, e: &mut Exec) -> Step {
        if e.done {
            return Step::Done;
        }
        let Some(cmd) = e.queue.pop_front() else {
            let event = Event { now: self.now, results: std::mem::take(&mut e.results) };
            e.events.push(json!({ "now": event.now, "results": event.results }));
            e.queue = e.run.step(event).expect("the driver takes the host's results").into();
            return Step::Ran;
        };
        self.now += 10.0;
        let result = match &cmd {
            Command::Lock { .. } => {
                if self.lock.is_some_and(|h| h != e.id) {
                    e.queue.push_front(cmd);
                    return Step::Blocked;
                }
                self.lock = Some(e.id);
                Value::Null
            }
            Command::Unlock => {
                self.lock = None;
                Value::Null
            }
            Command::GetProps { keys } => {
                let m: serde_json::Map<String, Value> = keys
                    .iter()
                    .map(|k| ((*k).to_owned(), self.props.get(*k).map_or(Value::Null, |v| json!(v))))
                    .collect();
                Value::Object(m)
            }
            Command::SetProps { set } => {
                for (k, v) in set {
                    match v {
                        Some(v) => self.props.insert((*k).to_owned(), v.clone()),
                        None => self.props.remove(*k),
                    };
                }
                Value::Null
            }
            Command::ReadCell { sheet } => self
                .sheets
                .get(*sheet)
                .and_then(|s| s.first()?.first().cloned())
                .map_or(Value::Null, |c| cell_json(&c)),
            Command::ReadInput { .. } => {
                let s = &self.sheets["Input"];
                json!({
                    "header": s[0].iter().map(cell_json).collect::<Vec<_>>(),
                    "rows": s[1..].iter().map(|r| r.iter().map(cell_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
                    "firstRow": 2,
                })
            }
            Command::Sheet { name, header, .. } => {
                self.sheets.entry(name.clone()).or_insert_with(|| vec![header.iter().map(stored).collect()]);
                Value::Null
            }
            Command::Read { sheet, width, first_row, .. } => match self.sheets.get(sheet) {
                None => Value::Null,
                Some(rows) => {
                    let from = (*first_row as usize - 1).min(rows.len());
                    let mut block: Vec<Vec<Value>> = rows[from..]
                        .iter()
                        .map(|r| (0..*width).map(|i| r.get(i).map_or(Value::Null, cell_json)).collect())
                        .collect();
                    while block.last().is_some_and(|r| r.iter().all(Value::is_null)) {
                        block.pop();
                    }
                    json!({ "firstRow": first_row, "rows": block })
                }
            },
            Command::Write { sheet, row, col, values, .. } => {
                let s = self.sheets.get_mut(sheet).expect("written sheets exist");
                for (i, r) in values.iter().enumerate() {
                    let at = (*row as usize) - 1 + i;
                    while s.len() <= at {
                        s.push(Vec::new());
                    }
                    for (j, c) in r.iter().enumerate() {
                        let cj = (*col as usize) - 1 + j;
                        while s[at].len() <= cj {
                            s[at].push(Cell::Empty);
                        }
                        s[at][cj] = stored(c);
                    }
                }
                Value::Null
            }
            Command::Append { sheet, header, values } => {
                let s = self
                    .sheets
                    .entry(sheet.clone())
                    .or_insert_with(|| vec![header.iter().map(stored).collect()]);
                s.extend(values.iter().map(|r| r.iter().map(stored).collect()));
                Value::Null
            }
            Command::Replace { sheet, values } => {
                self.sheets
                    .insert(sheet.clone(), values.iter().map(|r| r.iter().map(stored).collect()).collect());
                Value::Null
            }
            Command::HasKey { .. } => json!(self.key_set),
            Command::MayUse { .. } => json!(true),
            Command::Fetch { bodies, .. } => {
                self.now += 2000.0;
                self.fetches.push(bodies.len());
                Value::Array(bodies.iter().map(|b| self.answer(b)).collect())
            }
            Command::Call { method: "GET", url, .. } if url.contains("/models/") => match &self.refuse {
                Some((status, body)) => json!({ "status": status, "body": body }),
                None if self.models.iter().any(|m| url.ends_with(&format!("/models/{m}"))) => {
                    json!({ "status": 200, "body": "{\"object\":\"model\"}" })
                }
                None => {
                    json!({ "status": 404, "body": "{\"error\":{\"message\":\"The model does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}" })
                }
            },
            Command::Call { method, url, .. } => {
                self.batch_calls.push(format!("{method} {url}"));
                json!({ "status": 404, "body": "no batch API here" })
            }
            Command::Triggers { delete, after, .. } => {
                self.triggers.retain(|t| !delete.iter().any(|d| d == t));
                self.triggers.extend(after.iter().map(|(h, _)| (*h).to_owned()));
                Value::Null
            }
            Command::Workers { count, .. } => {
                self.worker_rounds.push(*count);
                Value::Array(self.work(e.id, *count))
            }
            Command::Sleep { ms } => {
                self.naps.push(*ms);
                self.now += *ms as f64;
                Value::Null
            }
            Command::Mail { .. } | Command::Flush => Value::Null,
            Command::User => json!("someone@example.com"),
            Command::Log { text } => {
                e.log.push(json!(text));
                Value::Null
            }
            Command::Fail { message } => panic!("the run failed: {message}"),
            Command::Done { result } => {
                e.log.push(result.clone());
                e.done = true;
                return Step::Done;
            }
        };
        e.results.push(result);
        Step::Ran
    }

    /// A round of workers, as the web app runs them through `fetchAll`: `count` executions of
    /// the `work` flow, [`LANES`] at once (the next starting as one ends), their commands
    /// interleaved, each answer as the web app gives it.
    fn work(&mut self, parent: usize, count: u32) -> Vec<Value> {
        const LANES: usize = 10;
        let round = self.worker_rounds.len();
        let count = count as usize;
        let mut workers: Vec<Exec> = Vec::with_capacity(count);
        let mut steps = vec![0usize; count];
        let mut dead = vec![false; count];
        loop {
            let running = workers.iter().zip(&dead).filter(|(w, d)| !w.done && !**d).count();
            for _ in running..LANES.min(count - workers.len() + running) {
                let k = workers.len();
                workers.push(self.start(parent * 100_000 + round * 100 + k + 1, "work", false));
            }
            if workers.iter().zip(&dead).all(|(w, d)| w.done || *d) {
                break;
            }
            for (i, w) in workers.iter_mut().enumerate() {
                if w.done || dead[i] {
                    continue;
                }
                if self.workers_die_after.is_some_and(|n| steps[i] >= n) {
                    self.kill(w);
                    dead[i] = true;
                    continue;
                }
                steps[i] += 1;
                self.advance(w);
            }
        }
        workers
            .iter()
            .zip(dead)
            .map(|(w, d)| match w.log.last() {
                Some(result) if !d && !self.rounds_throw => json!({ "ok": true, "result": result }),
                _ => json!({ "ok": false, "error": "Timeout: https://script.google.com/macros/s/x/exec" }),
            })
            .collect()
    }

    /// The provider: every request answered and billed (a token per four bytes, 6 output
    /// tokens), whatever becomes of the answer.
    fn answer(&mut self, body: &str) -> Value {
        if let Some((status, refusal)) = &self.refuse {
            return json!({ "status": status, "headers": {}, "body": refusal });
        }
        if self.throttle_next > 0 {
            self.throttle_next -= 1;
            let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
            return json!({ "status": 429, "headers": { "retry-after": "2" }, "body": body });
        }
        let usage = Usage { input: body.len() as u64 / 4, cached_input: 0, cache_write: 0, output: 6 };
        self.bill += self.price.cost(&usage, false);
        self.requests += 1;
        // A row whose text asks for it gets an answer that is not JSON, every time.
        let content = if body.contains("FAIL") { "no JSON here" } else { self.content.as_str() };
        let reply = json!({
            "choices": [{ "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": usage.input, "completion_tokens": usage.output },
        });
        json!({ "status": 200, "headers": {}, "body": reply.to_string() })
    }

    /// Keys of the output sheet, each with its number of rows.
    pub fn output_keys(&self) -> BTreeMap<String, usize> {
        let mut keys = BTreeMap::new();
        for r in self.sheets.get("Output").map_or(&[][..], |s| &s[1..]) {
            if let Some(Cell::Text(k)) = r.first() {
                *keys.entry(k.clone()).or_insert(0) += 1;
            }
        }
        keys
    }
}
