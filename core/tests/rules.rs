//! The shipped rule packs against the violations the seed notes describe, and each rule kind.

use rowbatch_core::finding::{Finding, Severity};
use rowbatch_core::path::parse_pattern;
use rowbatch_core::rules::{self, Pack};
use serde_json::{Value, json};

fn apply(pack: &str, doc: Value, at: &[&str]) -> Vec<Finding> {
    let pack = rules::builtin(pack).expect("built-in pack");
    let at: Vec<_> = at.iter().map(|p| parse_pattern(p).unwrap()).collect();
    pack.apply(&doc, &at)
}

fn codes(f: &[Finding]) -> Vec<(String, String)> {
    f.iter().map(|f| (f.path.clone(), f.code.clone())).collect()
}

fn healthy() -> Value {
    json!({"HR": 88, "BP": "124/78", "SpO2": 97, "RR": 16, "Temp": 37.1, "EtCO2": 38, "waveform": "sinus_ecg"})
}

#[test]
fn healthy_vitals_pass_at_every_place() {
    let doc = json!({"initialVitals": healthy(), "states": [{"vitals": healthy()}, {"vitals": healthy()}]});
    assert_eq!(apply("clinical-vitals", doc, &["initialVitals", "states[*].vitals"]), vec![]);
}

#[test]
fn the_seed_note_violations_are_all_caught() {
    let mut v = healthy();
    v["HR"] = json!(500);
    v["BP"] = json!("80/120");
    v["SpO2"] = json!(140);
    let f = apply("clinical-vitals", json!({"initialVitals": v}), &["initialVitals"]);
    assert_eq!(
        codes(&f),
        [
            ("initialVitals.HR".into(), "range".into()),
            ("initialVitals.BP".into(), "order".into()),
            ("initialVitals.SpO2".into(), "range".into())
        ]
    );
    assert_eq!(f[0].message, "HR 500 bpm is outside 0–300 bpm");
    assert!(f.iter().all(|f| f.severity == Severity::Error));
    // The swapped pressure is offered the obvious fix; impossible numbers the pack's defaults,
    // with the reason.
    assert_eq!(f[1].fix.as_ref().unwrap().to, json!("120/80"));
    let hr = f[0].fix.as_ref().unwrap();
    assert_eq!((&hr.to, hr.reason.as_str()), (&json!(80), "HR 500 bpm is impossible: the pack's default"));
    assert_eq!(f[2].fix.as_ref().unwrap().to, json!(98));
}

#[test]
fn an_alias_waveform_is_fixed_to_its_canonical_name() {
    let mut v = healthy();
    v["waveform"] = json!("sinus");
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    assert_eq!(codes(&f), [("v.waveform".into(), "alias".into())]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].fix.as_ref().unwrap().to, json!("sinus_ecg"));
    for (written, canonical) in [
        ("V-Fib", "vfib_ecg"),
        ("Sinus_ECG", "sinus_ecg"),
        ("vtach", "vtach_ecg"),
        ("sinus tachycardia", "sinus_tachycardia_ecg"),
    ] {
        let mut v = healthy();
        v["waveform"] = json!(written);
        v["HR"] = json!(0);
        let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
        assert_eq!(f[0].fix.as_ref().unwrap().to, json!(canonical), "{written}");
    }
}

#[test]
fn an_unknown_waveform_is_an_error_naming_the_vocabulary() {
    let mut v = healthy();
    v["waveform"] = json!("wobbly");
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    assert_eq!(codes(&f), [("v.waveform".into(), "vocabulary".into())]);
    assert!(
        f[0].message.contains("sinus_ecg") && f[0].message.contains("(names end in _ecg)"),
        "{}",
        f[0].message
    );
}

#[test]
fn vf_with_a_heart_rate_breaks_the_arrest_rule_even_through_an_alias() {
    let mut v = healthy();
    v["waveform"] = json!("VF");
    v["HR"] = json!(90);
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    assert_eq!(codes(&f), [("v.waveform".into(), "alias".into()), ("v.HR".into(), "implies".into())]);
    let fix = f[1].fix.as_ref().unwrap();
    assert_eq!((&fix.from, &fix.to), (&json!(90), &json!(0)));
    assert!(f[1].message.starts_with("an arrest rhythm has no effective heart rate"), "{}", f[1].message);
}

#[test]
fn n_a_becomes_null_and_null_skips_the_range_checks() {
    let mut v = healthy();
    v["EtCO2"] = json!("N/A");
    v["Temp"] = json!("unknown");
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    // Temp, now missing, gets the pack's default; EtCO2 has none and stays empty.
    assert_eq!(
        codes(&f),
        [
            ("v.Temp".into(), "null_token".into()),
            ("v.EtCO2".into(), "null_token".into()),
            ("v.Temp".into(), "default".into())
        ]
    );
    assert!(f[..2].iter().all(|f| f.fix.as_ref().unwrap().to == Value::Null));
    assert_eq!(f[2].fix.as_ref().unwrap().to, json!(37));
}

#[test]
fn warning_bands_and_the_other_ranges() {
    let mut v = healthy();
    v["RR"] = json!(45);
    v["Temp"] = json!(50);
    v["EtCO2"] = json!(-1);
    v["BP"] = json!("310/90");
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    let got: Vec<(String, Severity)> = f.iter().map(|f| (f.code.clone(), f.severity)).collect();
    assert_eq!(
        got,
        [
            ("range".into(), Severity::Error),
            ("range_warning".into(), Severity::Warning),
            ("range".into(), Severity::Error),
            ("range".into(), Severity::Error)
        ]
    );
    assert_eq!(f[0].message, "systolic 310 mmHg is outside 0–300 mmHg");
    v["RR"] = json!(61);
    let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
    assert!(f.iter().any(|f| f.path == "v.RR" && f.code == "range"));
}

#[test]
fn a_pressure_that_is_not_two_numbers_is_a_format_error() {
    for bad in ["120", "120-80", "high", "120/80/60"] {
        let mut v = healthy();
        v["BP"] = json!(bad);
        let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
        assert_eq!(codes(&f), [("v.BP".into(), "format".into())], "{bad}");
    }
    let mut v = healthy();
    v["BP"] = json!(" 120 / 80 ");
    assert_eq!(apply("clinical-vitals", json!({"v": v}), &["v"]), vec![]);
}

#[test]
fn brand_pack_checks_addresses_vocabulary_and_list_sizes() {
    let good = json!({"website": "https://www.nike.com/", "domain": "nike.com", "category": "Apparel & Footwear",
                      "products": ["Air Max"], "relationships": [], "insights": ["Strong brand"]});
    assert_eq!(apply("brand-profile", good.clone(), &[""]), vec![]);
    let mut bad = good.clone();
    bad["website"] = json!("nike.com");
    bad["domain"] = json!("https://nike.com/about");
    bad["category"] = json!("fashion");
    bad["products"] = json!([]);
    let f = apply("brand-profile", bad, &[""]);
    assert_eq!(
        codes(&f),
        [
            ("category".into(), "alias".into()),
            ("website".into(), "format".into()),
            ("domain".into(), "format".into()),
            ("products".into(), "length".into())
        ]
    );
    assert_eq!(f[1].fix.as_ref().unwrap().to, json!("https://nike.com"));
    assert_eq!(f[2].fix.as_ref().unwrap().to, json!("nike.com"));
    let mut missing = good;
    missing["category"] = Value::Null;
    let f = apply("brand-profile", missing, &[""]);
    assert_eq!(codes(&f), [("category".into(), "required".into())]);
}

#[test]
fn packs_are_data_with_mistakes_located() {
    for (name, text) in rules::BUILTIN {
        let pack = rowbatch_core::read::at::<Pack>("", serde_json::from_str(text).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pack.name, name);
        assert!(!pack.rules.is_empty());
    }
    let err =
        |pack: Value| rowbatch_core::read::at::<Pack>("output.rules[0].pack", pack).unwrap_err().to_string();
    assert_eq!(
        err(json!({"name": "x", "rules": [{"kind": "range", "field": "HR", "mni": 0}]})),
        "output.rules[0].pack.rules[0].mni: expected one of the fields id, field, min, max, warnBelow, warnAbove, \
         unit, default, found unknown field `mni`"
    );
    assert_eq!(
        err(json!({"name": "x", "rules": [{"field": "HR"}, {"kind": "between"}]})),
        "output.rules[0].pack.rules[0].kind: expected a value (the field is required)"
    );
    assert!(
        err(json!({"name": "x", "rules": [{"kind": "between", "field": "HR"}]}))
            .starts_with("output.rules[0].pack.rules[0].kind: expected one of \"range\", \"pair\"")
    );
    assert_eq!(
        err(
            json!({"name": "x", "rules": [{"kind": "pair", "field": "BP", "separator": "/", "first": {"name": "s"}, "second": {"min": 1}}]})
        ),
        "output.rules[0].pack.rules[0].second.name: expected a value (the field is required)"
    );
    assert_eq!(
        err(
            json!({"name": "x", "rules": [{"kind": "implies", "when": {"field": "a", "in": [1]}, "then": {"field": "b"}}]})
        ),
        "output.rules[0].pack.rules[0].then.equals: expected a value (the field is required)"
    );
    assert_eq!(
        err(json!({"name": "x", "rules": [7]})),
        "output.rules[0].pack.rules[0]: expected a rule (an object with a kind), found 7"
    );
    assert_eq!(
        err(json!({"rules": []})),
        "output.rules[0].pack.name: expected a value (the field is required)"
    );
    // `equals: null` is a requirement (the field must be empty), not a missing one.
    let p = rowbatch_core::read::at::<Pack>("", json!({"name": "x", "rules": [{"kind": "implies", "when": {"field": "a", "in": [1]}, "then": {"field": "b", "equals": null}}]})).unwrap();
    assert!(matches!(&p.rules[0], rules::Rule::Implies(r) if r.then.equals.is_null()));
}

#[test]
fn non_empty_rules_refuse_blank_text_and_empty_lists() {
    let pack = rowbatch_core::read::at::<Pack>(
        "",
        json!({"name": "t", "rules": [{"kind": "nonEmpty", "field": "summary"}]}),
    )
    .unwrap();
    let at = vec![parse_pattern("").unwrap()];
    for empty in [json!({}), json!({"summary": "  "}), json!({"summary": []}), json!({"summary": null})] {
        let f = pack.apply(&empty, &at);
        assert_eq!(codes(&f), [("summary".into(), "required".into())], "{empty}");
    }
    assert!(pack.apply(&json!({"summary": "ok"}), &at).is_empty());
}

#[test]
fn missing_vitals_get_the_pack_defaults_and_an_arrest_rhythm_its_hr_of_zero() {
    let f = apply("clinical-vitals", json!({"v": {"waveform": "sinus_ecg", "EtCO2": null}}), &["v"]);
    let fixes: Vec<(String, Value)> =
        f.iter().map(|f| (f.path.clone(), f.fix.as_ref().unwrap().to.clone())).collect();
    assert_eq!(
        fixes,
        [
            ("v.HR".into(), json!(80)),
            ("v.BP".into(), json!("120/80")),
            ("v.SpO2".into(), json!(98)),
            ("v.RR".into(), json!(16)),
            ("v.Temp".into(), json!(37))
        ],
        "EtCO2 has no default: null is a reading not taken"
    );
    assert!(f.iter().all(|f| f.code == "default" && f.severity == Severity::Warning));
    assert_eq!(f[0].message, "HR is missing: 80 is used, the pack's default");
    // In an arrest rhythm a missing HR is 0, not the default.
    let f = apply("clinical-vitals", json!({"v": {"waveform": "asystole_ecg"}}), &["v"]);
    let hr = f.iter().find(|f| f.path == "v.HR").unwrap();
    assert_eq!(hr.fix.as_ref().unwrap().to, json!(0));
    assert!(hr.message.ends_with("the value the pack's rules require here"), "{}", hr.message);
}

#[test]
fn an_unreadable_or_impossible_pressure_becomes_the_default() {
    for bp in ["high", "400/80", "120/-5"] {
        let mut v = healthy();
        v["BP"] = json!(bp);
        let f = apply("clinical-vitals", json!({"v": v}), &["v"]);
        assert_eq!(f.len(), 1, "{bp}: {f:?}");
        let fix = f[0].fix.as_ref().unwrap();
        assert_eq!((&fix.from, &fix.to), (&json!(bp), &json!("120/80")), "{bp}");
        assert!(fix.reason.starts_with(&format!("BP \"{bp}\" is ")), "{}", fix.reason);
    }
}

fn states(list: Vec<Value>) -> Value {
    json!({ "states": list })
}

#[test]
fn spo2_does_not_jump_thirty_points_between_states_without_a_trigger() {
    let with = |spo2: u32, trigger: Option<&str>| {
        let mut v = healthy();
        v["SpO2"] = json!(spo2);
        let mut s = json!({ "name": "s", "vitals": v });
        if let Some(t) = trigger {
            s["trigger"] = json!(t);
        }
        s
    };
    let f = apply("clinical-vitals", states(vec![with(97, None), with(62, None)]), &["states[*].vitals"]);
    assert_eq!(codes(&f), [("states[1].vitals.SpO2".into(), "step".into())]);
    assert_eq!(
        f[0].message,
        "SpO2 drops by 35 points from states[0].vitals (97) to here (62): at most 30 points without a trigger"
    );
    assert_eq!(f[0].severity, Severity::Error);
    // A trigger on the later state, or steps of 30, are allowed.
    let ok = states(vec![with(97, None), with(62, Some("airway obstruction"))]);
    assert_eq!(apply("clinical-vitals", ok, &["states[*].vitals"]), vec![]);
    let ok = states(vec![with(97, None), with(67, None), with(97, None)]);
    assert_eq!(apply("clinical-vitals", ok, &["states[*].vitals"]), vec![]);
    // The first state is not compared with the initial vitals (another place).
    let doc = json!({ "initialVitals": healthy(), "states": [with(40, None)] });
    assert_eq!(codes(&apply("clinical-vitals", doc, &["initialVitals", "states[*].vitals"])), vec![]);
}

#[test]
fn an_arrest_rhythm_holds_hr_zero_until_the_rhythm_changes() {
    let state = |waveform: Option<&str>, hr: u32| {
        let mut v = healthy();
        v["HR"] = json!(hr);
        match waveform {
            Some(w) => v["waveform"] = json!(w),
            None => {
                v.as_object_mut().unwrap().remove("waveform");
            }
        }
        json!({ "name": "s", "vitals": v })
    };
    // The second and third states do not say their rhythm: VF goes on, and HR must stay 0.
    let doc = states(vec![state(Some("vfib_ecg"), 0), state(None, 0), state(None, 60)]);
    let f = apply("clinical-vitals", doc, &["states[*].vitals"]);
    assert_eq!(codes(&f), [("states[2].vitals.HR".into(), "hold".into())]);
    let expected = "after an arrest rhythm, HR stays 0 until the rhythm changes; waveform is still \"vfib_ecg\", found 60";
    assert_eq!(f[0].message, expected);
    assert_eq!(f[0].fix.as_ref().unwrap().to, json!(0));
    // The rhythm changes (defibrillated to sinus): HR may come back.
    let doc = states(vec![state(Some("vfib_ecg"), 0), state(Some("sinus_ecg"), 72)]);
    assert_eq!(apply("clinical-vitals", doc, &["states[*].vitals"]), vec![]);
    // Not an arrest rhythm: nothing is held.
    let doc = states(vec![state(Some("sinus_ecg"), 80), state(None, 90)]);
    assert_eq!(apply("clinical-vitals", doc, &["states[*].vitals"]), vec![]);
}
