//! Job specs, input rows and model answers through the validation entry points, on the two
//! example jobs.

use rowbatch_core::cell::Cell;
use rowbatch_core::validate::{self, AnswerInput, RowsInput, SpecInput};
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = format!("{}/../examples/{name}/job.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn problems(spec: Value) -> Vec<String> {
    let err = validate::check_spec(SpecInput { spec }).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    err.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn both_example_specs_are_valid() {
    let r = validate::check_spec(SpecInput { spec: example("clinical") }).unwrap();
    assert_eq!(r.columns, ["Case_ID", "Title", "Age", "Presentation"]);
    assert_eq!(r.identity, ["Title", "Age", "Presentation"]);
    let r = validate::check_spec(SpecInput { spec: example("brands") }).unwrap();
    assert_eq!(r.key.as_deref(), Some("Brand"));
}

#[test]
fn the_strict_output_schema_closes_objects_and_requires_everything() {
    let r = validate::check_spec(SpecInput { spec: example("clinical") }).unwrap();
    let s = &r.output_schema;
    assert_eq!(s["additionalProperties"], json!(false));
    assert_eq!(s["required"], json!(["initialVitals", "states", "teachingPoint"]));
    assert_eq!(s["properties"]["teachingPoint"]["type"], json!(["string", "null"]));
    let vitals = &s["$defs"]["vitals"];
    assert_eq!(vitals["additionalProperties"], json!(false));
    assert_eq!(vitals["properties"]["EtCO2"]["type"], json!(["number", "null"]));
    assert_eq!(
        s["properties"]["states"]["items"]["properties"]["trigger"]["type"],
        json!(["string", "null"])
    );
}

#[test]
fn a_malformed_spec_lists_every_shape_problem_at_once() {
    let mut spec = example("clinical");
    spec["colour"] = json!("blue");
    spec["limits"]["waveSize"] = json!("twenty");
    spec["limits"]["timeSliceSeconds"] = json!(400);
    spec["provider"].as_object_mut().unwrap().remove("model");
    spec["provider"]["kind"] = json!("gemini");
    let got = problems(spec);
    assert_eq!(got.len(), 5, "{got:#?}");
    for want in [
        "colour: expected one of the fields name, input, output, prompt, provider, limits, batch, budget, prices, found unknown field `colour`",
        "limits.waveSize: expected a whole number, found \"twenty\"",
        "limits.timeSliceSeconds: expected at most 300, found 400",
        "provider.model: expected a value (the field is required)",
        "provider.kind: expected one of \"openai\", \"anthropic\", found \"gemini\"",
    ] {
        assert!(got.iter().any(|g| g == want), "missing {want:?} in {got:#?}");
    }
}

#[test]
fn a_spec_whose_parts_do_not_fit_together_lists_every_problem() {
    let mut spec = example("clinical");
    spec["input"]["key"] = json!("CaseID");
    spec["input"]["identity"] = json!(["Title", "Agee"]);
    spec["prompt"]["template"] = json!("Case {{Case_ID}}: {{Titel}}");
    spec["output"]["rules"] = json!([{"pack": "cardiac"}, {"pack": "clinical-vitals", "at": ["states[*]"]}]);
    spec["output"]["schema"]["properties"]["states"]["maxItems"] = json!(-1);
    spec["output"]["schema"]["properties"]["teachingPoint"]["format"] = json!("text");
    spec["output"]["schema"]["properties"]["initialVitals"]["oneOf"] = json!([]);
    let got = problems(spec);
    for want in [
        "output.schema.properties.states.maxItems: expected a whole number, 0 or more, found -1",
        "output.schema.properties.initialVitals.oneOf: expected a keyword structured outputs support",
    ] {
        assert!(got.iter().any(|g| g.starts_with(want)), "missing {want:?} in {got:#?}");
    }
    // Schema problems stop the meaning checks; fix them and the rest all show up together.
    let mut spec2 = example("clinical");
    spec2["input"]["key"] = json!("CaseID");
    spec2["input"]["identity"] = json!(["Title", "Agee"]);
    spec2["prompt"]["template"] = json!("Case {{Case_ID}}: {{Titel}} {{Age");
    spec2["output"]["rules"] =
        json!([{"pack": "cardiac"}, {"pack": "clinical-vitals", "at": ["states[*]", "nope"]}]);
    spec2["prompt"]["examples"][0]["output"]["initialVitals"]["HR"] = json!("fast");
    let got = problems(spec2);
    let paths: Vec<&str> = got.iter().map(|g| g.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "input.key",
            "input.identity[1]",
            "prompt.template",
            "prompt.template",
            "prompt.examples[0].output.initialVitals.HR",
            "output.rules[0].pack",
            "output.rules[1].at[0]",
            "output.rules[1].at[1]"
        ],
        "{got:#?}"
    );
    assert!(
        got[0].contains("a column of input.schema (Case_ID, Title, Age, Presentation), found \"CaseID\"")
    );
    assert!(got[5].contains("a built-in pack (clinical-vitals, brand-profile), found \"cardiac\""));
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

#[test]
fn input_rows_get_located_findings_and_scores() {
    let header: Vec<String> = ["Case_ID", "Title", "Age", "Presentation"].map(String::from).into();
    let rows = vec![
        vec![
            text("SIM-001"),
            text("Chest pain"),
            Cell::Number(54.0),
            text("Crushing chest pain for an hour"),
        ],
        vec![text("SIM-2"), text("Sepsis"), text("seventy"), text("Fever and hypotension")],
        vec![text("SIM-003"), text("Asthma"), text("9"), text("Severe wheeze, tripod position")],
        vec![text("SIM-004"), text(""), text("N/A"), text("Short")],
        vec![Cell::Empty, text(" "), Cell::Empty, Cell::Empty],
        vec![text("SIM-005"), text("Heat stroke"), Cell::Number(150.0), text("Collapsed during a marathon")],
    ];
    let r = validate::validate_rows(RowsInput { spec: example("clinical"), header, rows, first_row: None })
        .unwrap();
    assert!(r.header.is_empty());
    assert_eq!(r.blank_rows, [4]);
    let by_row: Vec<Vec<(String, String, String)>> = r
        .rows
        .iter()
        .map(|row| {
            row.findings
                .iter()
                .map(|f| (f.cell.clone().unwrap_or_default(), f.code.clone(), f.message.clone()))
                .collect()
        })
        .collect();
    assert_eq!(by_row[0], vec![]);
    assert_eq!(r.rows[0].quality.score, 100);
    assert_eq!(
        by_row[1],
        [
            (
                "A3".into(),
                "pattern".into(),
                "expected text matching /^SIM-[0-9]{3}$/, found \"SIM-2\"".into()
            ),
            ("C3".into(), "type".into(), "expected a whole number, found \"seventy\"".into())
        ]
    );
    assert_eq!(by_row[2][0].1, "typed_as_text");
    assert_eq!(r.rows[2].findings[0].fix.as_ref().unwrap().to, json!(9));
    let codes: Vec<&str> = by_row[3].iter().map(|f| f.1.as_str()).collect();
    assert_eq!(codes, ["null_token", "required", "minLength", "minLength"]);
    assert_eq!(by_row[3][1], ("C5".into(), "required".into(), "required, but the cell is empty".into()));
    assert_eq!(by_row[4][0].1, "maximum");
    assert_eq!((r.summary.valid, r.summary.with_errors, r.summary.blank), (2, 3, 1));
    assert!(r.rows[3].quality.score < r.rows[1].quality.score);
}

#[test]
fn a_header_without_a_spec_column_is_one_clear_finding() {
    let header: Vec<String> = ["Case_ID", "Title", "Presentation", "Title"].map(String::from).into();
    let r = validate::validate_rows(RowsInput {
        spec: example("clinical"),
        header,
        rows: vec![vec![]],
        first_row: None,
    })
    .unwrap();
    let msgs: Vec<&str> = r.header.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "column \"Title\" appears twice in the header, at B1 and D1",
            "column \"Age\" is not in the header (row 1: Case_ID, Title, Presentation, Title)"
        ]
    );
    assert!(r.rows.is_empty());
}

fn good_answer() -> Value {
    let v = json!({"HR": 88, "BP": "124/78", "SpO2": 97, "RR": 16, "Temp": 37.1, "EtCO2": 38, "waveform": "sinus_ecg"});
    json!({"initialVitals": v, "states": [{"name": "a", "trigger": "x", "vitals": v}, {"name": "b", "trigger": null, "vitals": v}], "teachingPoint": "t"})
}

fn answer(a: Value) -> validate::AnswerReport {
    validate::validate_answer(AnswerInput { spec: example("clinical"), answer: a }).unwrap()
}

#[test]
fn a_good_answer_is_valid_and_complete() {
    let r = answer(good_answer());
    assert!(r.valid, "{:#?}", r.findings);
    // 3 vitals × 7 + 2 states × (name, trigger) + teachingPoint = 26 fields; one trigger is null.
    assert_eq!((r.quality.score, r.quality.expected, r.quality.filled), (96, 26, 25));
}

#[test]
fn bad_answers_are_located() {
    let mut a = good_answer();
    a["initialVitals"]["HR"] = json!(500);
    a["states"][1]["vitals"]["waveform"] = json!("VF");
    a["states"][0]["vitals"]["SpO2"] = json!("ninety");
    a["extra"] = json!(1);
    let r = answer(a);
    assert!(!r.valid);
    let got: Vec<(&str, &str)> = r.findings.iter().map(|f| (f.path.as_str(), f.code.as_str())).collect();
    assert_eq!(
        got,
        [
            ("states[0].vitals.SpO2", "type"),
            ("extra", "additionalProperties"),
            ("initialVitals.HR", "range"),
            ("states[1].vitals.waveform", "alias"),
            ("states[1].vitals.HR", "implies")
        ]
    );
}

#[test]
fn text_that_is_not_json_or_is_cut_off_is_one_error() {
    for (text, why) in [
        ("Sure! Here are the vitals.", "expected value"),
        ("{\"initialVitals\": {\"HR\": 8", "EOF while parsing"),
    ] {
        let r = answer(json!(text));
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].code, "not_json");
        assert!(r.findings[0].message.contains(why), "{}", r.findings[0].message);
        assert_eq!(r.quality.score, 0);
    }
    let r = answer(json!(good_answer().to_string()));
    assert!(r.valid);
}

#[test]
fn fixing_an_answer_applies_each_proposed_fix_and_says_so() {
    let mut a = good_answer();
    a["states"][1]["vitals"]["waveform"] = json!("VF");
    a["states"][1]["vitals"]["EtCO2"] = json!("N/A");
    a.as_object_mut().unwrap().remove("teachingPoint");
    let fixed = validate::fix_answer(AnswerInput { spec: example("clinical"), answer: a }).unwrap();
    let codes: Vec<&str> = fixed.applied.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["required", "null_token", "alias", "implies"]);
    assert_eq!(fixed.answer["states"][1]["vitals"]["waveform"], json!("vfib_ecg"));
    assert_eq!(fixed.answer["states"][1]["vitals"]["HR"], json!(0));
    assert_eq!(fixed.answer["states"][1]["vitals"]["EtCO2"], Value::Null);
    assert_eq!(fixed.answer["teachingPoint"], Value::Null);
    assert!(fixed.report.valid, "{:#?}", fixed.report.findings);
}

#[test]
fn fixing_rows_changes_only_the_cells_with_a_fix() {
    let header: Vec<String> = ["Case_ID", "Title", "Age", "Presentation"].map(String::from).into();
    let rows = vec![
        vec![text("SIM-003"), text("Asthma"), text("9"), text("Severe wheeze, tripod position")],
        vec![text("SIM-2"), text("Sepsis"), text("n/a"), text("Fever and hypotension")],
    ];
    let fixed = validate::fix_rows(RowsInput {
        spec: example("clinical"),
        header,
        rows: rows.clone(),
        first_row: Some(10),
    })
    .unwrap();
    assert_eq!(fixed.rows[0][2], Cell::Number(9.0));
    assert_eq!(fixed.rows[1][2], Cell::Empty);
    assert_eq!(fixed.rows[1][0], rows[1][0]);
    let cells: Vec<&str> = fixed.applied.iter().map(|f| f.cell.as_deref().unwrap()).collect();
    assert_eq!(cells, ["C10", "C11"]);
    assert_eq!(fixed.report.rows[0].findings, vec![]);
    let left: Vec<&str> = fixed.report.rows[1].findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(left, ["required", "pattern"]);
}
