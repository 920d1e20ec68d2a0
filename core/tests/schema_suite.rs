//! The official JSON-Schema-Test-Suite (draft 2020-12), run on every group whose schema uses only
//! the keywords rowbatch supports. `node tools/setup.mjs` fetches it into
//! target/json-schema-test-suite (from the python-jsonschema source release, which carries it).

use rowbatch_core::schema::Schema;
use serde_json::Value;
use std::path::PathBuf;

// Files of keywords outside the subset; their groups would all be refused at parse time anyway.
// `refRemote` needs a network; `optional/` holds format assertions and bignum edge cases.
const NOT_SUPPORTED: [&str; 2] = ["refRemote.json", "vocabulary.json"];

#[test]
fn official_suite_on_supported_keywords() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/json-schema-test-suite/draft2020-12");
    assert!(dir.is_dir(), "{} is missing: run `node tools/setup.mjs` (npm test does)", dir.display());
    let (mut run, mut groups_skipped, mut failures) = (0, 0, Vec::new());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if NOT_SUPPORTED.contains(&name.as_str()) {
            continue;
        }
        let groups: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for group in groups {
            let Ok(schema) = Schema::parse(&group["schema"], "") else {
                groups_skipped += 1;
                continue;
            };
            for case in group["tests"].as_array().unwrap() {
                run += 1;
                let want = case["valid"].as_bool().unwrap();
                if schema.is_valid(&case["data"]) != want {
                    failures.push(format!(
                        "{name}: {} / {}: expected {}",
                        group["description"].as_str().unwrap_or(""),
                        case["description"].as_str().unwrap_or(""),
                        if want { "valid" } else { "invalid" }
                    ));
                }
            }
        }
    }
    println!(
        "JSON-Schema-Test-Suite: {run} cases run, {} failed; {groups_skipped} groups use unsupported keywords",
        failures.len()
    );
    assert!(run > 300, "too few cases ran: {run}");
    assert!(
        failures.is_empty(),
        "{} cases disagree with the suite:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
