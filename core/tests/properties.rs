//! Properties of validation over arbitrary answers: it never panics, every finding points at a
//! real place, and applying the proposed fixes leaves nothing more to fix.

use proptest::prelude::*;
use rowbatch_core::path;
use rowbatch_core::validate::{self, AnswerInput};
use serde_json::{Value, json};

fn spec() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/clinical/job.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        prop_oneof![
            Just("N/A"),
            Just("VF"),
            Just("sinus"),
            Just("120/80"),
            Just("80/120"),
            Just("asystole_ecg"),
            Just("v-fib"),
            Just(""),
            Just("=IMPORTXML(\"x\")"),
            Just("<script>"),
            Just("😀")
        ]
        .prop_map(Value::from),
    ]
}

fn vitals() -> impl Strategy<Value = Value> {
    let keys = ["HR", "BP", "SpO2", "RR", "Temp", "EtCO2", "waveform", "extra"];
    proptest::collection::vec((0..keys.len(), leaf()), 0..10)
        .prop_map(move |kv| Value::Object(kv.into_iter().map(|(k, v)| (keys[k].to_owned(), v)).collect()))
}

fn answer() -> impl Strategy<Value = Value> {
    (vitals(), proptest::collection::vec(vitals(), 0..4), leaf()).prop_map(|(initial, states, tp)| {
        let states: Vec<Value> = states.into_iter().map(|v| json!({"name": "s", "vitals": v})).collect();
        json!({"initialVitals": initial, "states": states, "teachingPoint": tp})
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn findings_point_at_real_places_and_scores_stay_in_range(a in answer()) {
        let r = validate::validate_answer(AnswerInput { spec: spec(), answer: a.clone() }).unwrap();
        prop_assert!(r.quality.score <= 100);
        prop_assert_eq!(r.valid, !r.findings.iter().any(|f| f.is_error()));
        for f in &r.findings {
            let mut doc = a.clone();
            let exists = path::get_mut(&mut doc, &f.path).is_some();
            // Only a missing field is reported at a place that does not exist.
            prop_assert!(exists || ["required", "implies", "default", "hold"].contains(&f.code.as_str()), "{:?}", f);
        }
    }

    #[test]
    fn fixing_twice_changes_nothing_more(a in answer()) {
        let once = validate::fix_answer(AnswerInput { spec: spec(), answer: a }).unwrap();
        let twice = validate::fix_answer(AnswerInput { spec: spec(), answer: once.answer.clone() }).unwrap();
        prop_assert_eq!(&twice.answer, &once.answer);
        prop_assert!(twice.applied.is_empty(), "{:?}", twice.applied);
    }
}
