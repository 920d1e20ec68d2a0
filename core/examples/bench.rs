//! Native throughput of the core on 10,000 example rows: `cargo run --release -p rowbatch-core
//! --example bench`. Prints figures; asserts nothing (targets are goals, not tests).

use rowbatch_core::cell::Cell;
use rowbatch_core::signature::{self, SignRowsInput};
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
}
