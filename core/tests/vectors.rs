//! Golden vectors shared by every host (tests/vectors/*.json). Each case names a function, its
//! input, and either the exact output or the error code and problem paths. The JS suite runs the
//! same files against the Node, Apps Script and browser builds.
//!
//! `UPDATE_VECTORS=1 cargo test -p rowbatch-core --test vectors` rewrites the outputs from this
//! core; review the diff of the canonical forms before committing it.

use rowbatch_core::to_json::to_value;
use rowbatch_core::{
    Error, estimate, ingest, keys, plan, provider, quality, reconcile, run, run_record, signature, validate,
};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The input as hosts deliver it: JSON text.
fn from_json<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, Error> {
    rowbatch_core::decode::from_str(&input.to_string())
}

fn dispatch(function: &str, input: Value) -> Result<Value, Error> {
    let out = match function {
        "signRow" => to_value(&signature::sign_row(from_json(input)?)?),
        "signRows" => to_value(&signature::sign_rows(from_json(input)?)?),
        "checkSpec" => to_value(&validate::check_spec(from_json(input)?)?),
        "validateRows" => to_value(&validate::validate_rows(from_json(input)?)?),
        "validateAnswer" => to_value(&validate::validate_answer(from_json(input)?)?),
        "fixRows" => to_value(&validate::fix_rows(from_json(input)?)?),
        "fixAnswer" => to_value(&validate::fix_answer(from_json(input)?)?),
        "score" => to_value(&quality::score(from_json(input)?)),
        "keyRows" => to_value(&keys::key_rows(from_json(input)?)?),
        "planWave" => to_value(&plan::plan_wave(from_json(input)?)?),
        "reconcile" => to_value(&reconcile::reconcile(from_json(input)?)?),
        "batchRecord" => to_value(&run_record::batch_record(from_json(input)?)?),
        "buildRequests" => to_value(&provider::build_requests(from_json(input)?)?),
        "ingest" => to_value(&ingest::ingest(from_json(input)?)?),
        "capacity" => to_value(&estimate::capacity(from_json(input)?)?),
        "estimateJob" => to_value(&estimate::estimate_job(from_json(input)?)?),
        "replayRun" => {
            serde_json::to_value(run::replay(serde_json::from_value(input).expect("a recorded run"))?)
                .unwrap()
        }
        other => panic!("no such function in the vectors: {other}"),
    };
    Ok(out)
}

fn check_file(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(name);
    let text = std::fs::read_to_string(&path).expect("vector file");
    let mut doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
    let update = std::env::var_os("UPDATE_VECTORS").is_some();
    let mut changed = false;
    let mut failures = Vec::new();
    let cases = doc["cases"].as_array_mut().expect("cases");
    assert!(!cases.is_empty());
    for case in cases.iter_mut() {
        let label = case["name"].as_str().unwrap_or("?").to_owned();
        let got = dispatch(case["fn"].as_str().expect("fn"), case["input"].clone());
        match (&case.get("error"), got) {
            (Some(want), Err(e)) => {
                let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
                let got = json!({ "code": e.code(), "paths": paths });
                if &&got != want {
                    failures.push(format!("{label}: error {got} (message: {e}), want {want}"));
                }
            }
            (Some(want), Ok(out)) => failures.push(format!("{label}: want error {want}, got {out}")),
            (None, Err(e)) => failures.push(format!("{label}: unexpected error: {e}")),
            (None, Ok(out)) if update => {
                changed |= case["output"] != out;
                case["output"] = out;
            }
            (None, Ok(out)) => {
                if case["output"] != out {
                    failures.push(format!("{label}:\n  got  {out}\n  want {}", case["output"]));
                }
            }
        }
    }
    // Only a changed file is rewritten: serde_json spells some numbers unlike the Python writers.
    if changed {
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").expect("write vectors");
    }
    assert!(
        failures.is_empty(),
        "{} of the vectors in {name} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn signature_vectors() {
    check_file("signature.json");
}

#[test]
fn validation_vectors() {
    check_file("validation.json");
}

#[test]
fn ledger_vectors() {
    check_file("ledger.json");
}

#[test]
fn provider_vectors() {
    check_file("provider.json");
}

#[test]
fn run_vectors() {
    check_file("run.json");
}
