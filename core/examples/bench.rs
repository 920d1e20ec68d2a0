//! Native throughput of the core: validation and signatures on 10,000 example rows, keying and
//! planning 100,000 rows against a 100,000-row ledger. `cargo run --profile bench -p
//! rowbatch-core --example bench`. Prints figures; asserts nothing (targets are goals, not tests).

use rowbatch_core::cell::Cell;
use rowbatch_core::keys::{self, KeyedRows};
use rowbatch_core::ledger::Block;
use rowbatch_core::plan::{self, PlanInput};
use rowbatch_core::signature::{self, SignRowsInput};
use rowbatch_core::spec::Job;
use rowbatch_core::validate::{self, RowsInput};
use std::time::Instant;

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/clinical/");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}job.json")).unwrap()).unwrap();
    let header: Vec<String> = ["Case_ID", "Title", "Age", "Presentation"].map(String::from).into();
    let rows: Vec<Vec<Cell>> = (0..10_000)
        .map(|i| {
            vec![
                Cell::Text(format!("SIM-{:03}", i % 1000)),
                Cell::Text(format!("Scenario {} café", i % 700)),
                Cell::Number(f64::from(i % 130)),
                Cell::Text(format!("Presentation number {i} with some   spaces, é and more words")),
            ]
        })
        .collect();
    let n = rows.len() as f64;
    let time = |label: &str, f: &mut dyn FnMut()| {
        f();
        let runs = 5;
        let t = Instant::now();
        for _ in 0..runs {
            f();
        }
        let s = t.elapsed().as_secs_f64() / f64::from(runs);
        println!("native {label:<10} {:>10.0} rows/s ({:.1} ms per 10,000 rows)", n / s, s * 1000.0);
    };
    time("validate", &mut || {
        let input =
            RowsInput { spec: spec.clone(), header: header.clone(), rows: rows.clone(), first_row: None };
        validate::validate_rows(input).unwrap();
    });
    time("signature", &mut || {
        let columns = Some(vec!["Title".into(), "Age".into(), "Presentation".into()]);
        let input = SignRowsInput {
            header: header.clone(),
            rows: rows.clone(),
            columns,
            null_tokens: None,
            first_row: None,
        };
        signature::sign_rows(input).unwrap();
    });

    plan_bench(&spec);
    provider_bench(&spec, &header, &rows);
}

/// Request building and response ingestion for 10,000 rows: what each wave costs the host.
fn provider_bench(spec: &serde_json::Value, header: &[String], rows: &[Vec<Cell>]) {
    use rowbatch_core::ingest::{IngestInput, Response, Sent, ingest};
    use rowbatch_core::provider::{BuildInput, Item, build_requests};
    let items: Vec<Item> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Item { key: format!("K{i}"), signature: format!("S{i}"), row: r.clone(), reask: None })
        .collect();
    let t = Instant::now();
    let built = build_requests(BuildInput { spec: spec.clone(), header: header.to_vec(), items }).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "native build      {:>10.0} rows/s ({:.1} ms per {} requests)",
        rows.len() as f64 / s,
        s * 1e3,
        rows.len()
    );
    let fixtures: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/responses.json"))
            .unwrap(),
    )
    .unwrap();
    let ok = &fixtures["fixtures"]["openai"]["success"];
    let response = Response {
        status: 200,
        headers: serde_json::from_value(ok["headers"].clone()).unwrap(),
        body: ok["body"].as_str().unwrap().to_owned(),
    };
    let sent: Vec<Sent> = built
        .requests
        .iter()
        .map(|r| Sent {
            key: r.key.clone(),
            signature: r.signature.clone(),
            attempt: 1,
            reasks: 0,
            reserve_usd: r.reserve_usd,
        })
        .collect();
    let n = sent.len();
    let input = IngestInput {
        spec: spec.clone(),
        sent,
        responses: vec![response; n],
        now: 1e12,
        seed: "bench".into(),
        limiter: None,
        budget: None,
        batch: false,
        day: None,
        wave_ms: None,
    };
    let t = Instant::now();
    let out = ingest(input).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "native ingest     {:>10.0} rows/s ({:.1} ms per {n} responses, {} answers)",
        n as f64 / s,
        s * 1e3,
        out.counts.done
    );
}

/// 100,000 keyed rows; the ledger has an output for 90,000 of them (a tenth edited since) and
/// progress for 10,000 (retries and leases): the shape of a large job near its end.
pub fn ledger_fixture(n: usize) -> (KeyedRows, Block, Block) {
    let keys: Vec<String> = (0..n).map(|i| format!("SIM-{i:06}")).collect();
    let signatures: Vec<String> = (0..n).map(|i| format!("SIG_v1_{:032x}", i * 7919)).collect();
    let outputs = (0..n * 9 / 10)
        .map(|i| {
            let sig = if i % 10 == 0 { format!("SIG_v1_{:032x}", i + 1) } else { signatures[i].clone() };
            let status = if i % 97 == 0 { "failed" } else { "done" };
            ["SIM-{i:06}", &sig, "SPEC_0123456789abcdef", status, ""]
                .map(|s| Cell::Text(s.replace("SIM-{i:06}", &keys[i])))
                .to_vec()
        })
        .collect();
    let progress = (n * 9 / 10..n)
        .map(|i| {
            vec![
                Cell::Text(keys[i].clone()),
                Cell::Number(1.0),
                Cell::Number(if i % 2 == 0 { 0.0 } else { 2e12 }),
                Cell::Empty,
                Cell::Empty,
                Cell::Text("503".into()),
            ]
        })
        .collect();
    let inputs = KeyedRows { first_row: 2, keys, signatures, excluded: vec![], duplicate_groups: vec![] };
    (inputs, Block { first_row: 2, rows: outputs }, Block { first_row: 2, rows: progress })
}

fn plan_bench(spec: &serde_json::Value) {
    let n = 100_000;
    // Keys of six digits: the example's pattern allows three.
    let mut spec = spec.clone();
    spec["input"]["schema"]["properties"]["Case_ID"]["pattern"] = "^SIM-[0-9]+$".into();
    let spec = &spec;
    let (inputs, outputs, progress) = ledger_fixture(n);
    let input = PlanInput {
        spec: spec.clone(),
        inputs,
        outputs,
        progress,
        execution: "bench".into(),
        now: 1e12,
        deadline: 1e12 + 270_000.0,
        timing: Default::default(),
        capacity: Default::default(),
        reserve: Default::default(),
        batch: false,
        max_rows: None,
        rows: None,
        keys: None,
    };
    let runs = std::env::var("PLAN_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let t = Instant::now();
    let mut sent = 0;
    for _ in 0..runs {
        let job = Job::compile(spec).unwrap();
        sent = plan::plan(&job, &input).send.len();
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!("native plan       {ms:>8.1} ms for {n} rows against {} outputs ({sent} sent)", n * 9 / 10);

    let job = Job::compile(spec).unwrap();
    let header: Vec<String> = ["Case_ID", "Title", "Age", "Presentation"].map(String::from).into();
    let rows: Vec<Vec<Cell>> = (0..n)
        .map(|i| {
            vec![
                Cell::Text(format!("SIM-{i:06}")),
                Cell::Text(format!("Scenario {i}")),
                Cell::Number((i % 100) as f64),
                Cell::Text(format!("Presentation number {i} with words")),
            ]
        })
        .collect();
    let t = Instant::now();
    let keyed = keys::key_block(&job, &header, &rows, 2).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("native keyRows    {ms:>8.1} ms for {n} rows ({} excluded)", keyed.excluded.len());
}
