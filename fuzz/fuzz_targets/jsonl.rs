//! Any text as a provider's batch results file (both providers): every line matched, reported
//! as unmatched, or turned into a result; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rowbatch_core::batchapi::{ResultsInput, results};
use rowbatch_core::keys::KeyedRows;

fuzz_target!(|data: &[u8]| {
    let mut spec: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/clinical/job.json")).unwrap();
    let (mode, rest) = data.split_first().unwrap_or((&0, &[]));
    if mode % 2 == 1 {
        spec["provider"] = serde_json::json!({ "kind": "anthropic", "model": "claude-haiku-4-5" });
    }
    let keys: Vec<String> = (1..=5).map(|i| format!("SIM-00{i}")).collect();
    let signatures = keys.iter().map(|_| "SIG_v1_00112233445566778899aabbccddeeff".to_owned()).collect();
    let inputs =
        KeyedRows { first_row: 2, keys, signatures, excluded: Vec::new(), duplicate_groups: Vec::new() };
    let text = String::from_utf8_lossy(rest).into_owned();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let r =
        results(ResultsInput { spec, text, inputs, now: 1.0, seed: "f".into(), last: None, lease: None, budget: None })
            .unwrap();
    assert_eq!(r.lines, lines);
    assert_eq!(r.results.len() + r.unmatched.len(), lines);
});
