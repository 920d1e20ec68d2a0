//! The new-job form's model: both shipped examples survive spec → form → spec unchanged, and
//! what the form makes is checked like any spec.
use rowbatch_core::form::{self, Field, Kind};
use rowbatch_core::validate::{SpecInput, check_spec};
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = format!("{}/../examples/{name}/job.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn both_examples_go_through_the_form_unchanged() {
    for name in ["clinical", "brands"] {
        let spec = example(name);
        let f = form::from_spec(&spec).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(form::to_spec(&f), spec, "{name}");
        // The form as JSON (what the sidebar holds) reads back the same.
        let again: form::Form = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
        assert_eq!(again, f);
        // Same version: the same answers are reused.
        let v = |s: Value| check_spec(SpecInput { spec: s }).unwrap().version;
        assert_eq!(v(form::to_spec(&f)), v(spec));
    }
}

#[test]
fn the_clinical_form_reads_as_a_person_wrote_it() {
    let f = form::from_spec(&example("clinical")).unwrap();
    let age = &f.columns[2];
    assert_eq!(
        (age.name.as_str(), age.kind, age.min, age.max, age.required),
        ("Age", Kind::WholeNumber, Some(0.0), Some(120.0), true)
    );
    assert_eq!(f.types[0].name, "vitals");
    let et = f.types[0].fields.iter().find(|x| x.name == "EtCO2").unwrap();
    assert!(et.nullable && !et.required && et.kind == Kind::Number);
    let states = &f.fields[1];
    assert_eq!((states.kind, states.min, states.max), (Kind::ListOf, Some(2.0), Some(5.0)));
    assert_eq!(states.item.as_ref().unwrap().fields[2].shared.as_deref(), Some("vitals"));
}

#[test]
fn a_field_added_in_the_form_is_checked_by_the_core() {
    let mut f = form::from_spec(&example("brands")).unwrap();
    let mut score: Field = serde_json::from_value(
        json!({ "name": "score", "type": "wholeNumber", "required": true, "min": 1, "max": 10 }),
    )
    .unwrap();
    f.fields.push(score.clone());
    let spec = form::to_spec(&f);
    assert_eq!(
        spec["output"]["schema"]["properties"]["score"],
        json!({ "type": "integer", "minimum": 1, "maximum": 10 })
    );
    assert!(spec["output"]["schema"]["required"].as_array().unwrap().contains(&json!("score")));
    // The shipped example's answer has no score: the core says where, as for a hand-written spec.
    let err = check_spec(SpecInput { spec }).unwrap_err();
    assert!(format!("{err:?}").contains("prompt.examples[0].output"), "{err:?}");
    // A template naming a column the form does not have: the core's message, at its path.
    score.required = false;
    f.fields.pop();
    f.spec["prompt"]["template"] = json!("Brand: {{Brnd}}");
    let err = check_spec(SpecInput { spec: form::to_spec(&f) }).unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("prompt.template") && text.contains("{{Brnd}}"), "{text}");
}

#[test]
fn a_spec_without_schemas_is_refused_with_both_paths() {
    let err = form::from_spec(&json!({ "name": "x", "input": {}, "output": {} })).unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("input.schema") && text.contains("output.schema"), "{text}");
}

#[test]
fn a_review_gives_the_problems_or_the_selected_rows_request_and_cost() {
    use rowbatch_core::cell::Cell;
    use rowbatch_core::form::{ReviewInput, review};
    let mut f = form::from_spec(&example("brands")).unwrap();
    let header: Vec<String> = ["Brand", "Website", "Parent_Company"].map(String::from).to_vec();
    let row = vec![
        Cell::Text("Nike".into()),
        Cell::Text("https://www.nike.com".into()),
        Cell::Text("Nike Inc.".into()),
    ];
    let r = review(ReviewInput {
        form: Some(f.clone()),
        spec: None,
        header: header.clone(),
        row: Some(row.clone()),
        rows: 12,
    })
    .unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let text = r.request.unwrap().to_string();
    assert!(text.contains("Brand: Nike\\nWebsite: https://www.nike.com"), "{text}");
    let cost = r.cost.unwrap();
    assert!(cost.row > 0.0 && (cost.rows - 12.0 * cost.row).abs() < 1e-12 && cost.batch < cost.rows);
    // A row that would not be sent has no cost, and says why.
    let blank = vec![Cell::Empty, Cell::Empty, Cell::Empty];
    let r = review(ReviewInput {
        form: Some(f.clone()),
        spec: None,
        header: header.clone(),
        row: Some(blank),
        rows: 12,
    })
    .unwrap();
    assert!(r.cost.is_none() && r.note.unwrap().contains("would not be sent"));
    // A bad form: the core's problems, nothing else.
    f.spec["provider"]["maxOutputTokens"] = json!(0);
    let r = review(ReviewInput { form: Some(f), spec: None, header, row: Some(row), rows: 12 }).unwrap();
    assert_eq!(r.problems[0].path, "provider.maxOutputTokens");
    assert!(r.request.is_none() && r.cost.is_none());
}
