//! The schema each provider is sent: only the keywords its strict structured outputs accept
//! (OpenAI's documented subset, Anthropic's narrower one), the rest named in the prompt and
//! left to local validation; prompt-only JSON where the model has no structured outputs.

use rowbatch_core::Cell;
use rowbatch_core::provider::{self, BuildInput, Item};
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = format!("{}/../examples/{name}/job.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn header(spec: &Value) -> Vec<String> {
    spec["input"]["schema"]["properties"].as_object().unwrap().keys().cloned().collect()
}

/// The body of one request for `spec`, parsed.
fn body(spec: &Value) -> Value {
    let h = header(spec);
    let row = h.iter().map(|_| Cell::Text("x".into())).collect();
    let built = provider::build_requests(BuildInput {
        spec: spec.clone(),
        header: h,
        items: vec![Item { key: "K".into(), signature: "SIG_K".into(), row, reask: None }],
    })
    .unwrap();
    serde_json::from_str(&built.requests[0].body).unwrap()
}

fn with_provider(mut spec: Value, provider: Value) -> Value {
    spec["provider"] = provider;
    // A model the price table does not know cannot have a budget without a price.
    spec.as_object_mut().unwrap().remove("budget");
    spec
}

/// Every keyword used anywhere in a schema.
fn keywords(s: &Value, out: &mut Vec<String>) {
    let Value::Object(m) = s else { return };
    for (k, v) in m {
        out.push(k.clone());
        match k.as_str() {
            "properties" | "$defs" => v.as_object().unwrap().values().for_each(|c| keywords(c, out)),
            "items" | "additionalProperties" => keywords(v, out),
            "anyOf" => v.as_array().unwrap().iter().for_each(|c| keywords(c, out)),
            _ => {}
        }
    }
}

const OPENAI_ALLOWED: [&str; 21] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

#[test]
fn openai_gets_only_the_keywords_its_strict_mode_permits_for_both_examples() {
    let openai = json!({ "kind": "openai", "model": "gpt-4o-mini", "maxOutputTokens": 900 });
    for name in ["clinical", "brands"] {
        let b = body(&with_provider(example(name), openai.clone()));
        let schema = &b["response_format"]["json_schema"]["schema"];
        assert_eq!(b["response_format"]["json_schema"]["strict"], json!(true));
        let mut used = Vec::new();
        keywords(schema, &mut used);
        let refused: Vec<&String> = used.iter().filter(|k| !OPENAI_ALLOWED.contains(&k.as_str())).collect();
        assert!(refused.is_empty(), "{name}: OpenAI would refuse {refused:?}");
    }
}

#[test]
fn what_openai_cannot_express_is_kept_and_said_in_the_prompt() {
    let b = body(&example("clinical"));
    let schema = &b["response_format"]["json_schema"]["schema"];
    // Array bounds are in OpenAI's subset and stay; the name's minLength does not.
    assert_eq!(schema["properties"]["states"]["minItems"], json!(2));
    assert_eq!(schema["properties"]["states"]["maxItems"], json!(5));
    assert!(schema["properties"]["states"]["items"]["properties"]["name"].get("minLength").is_none());
    let system = b["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("- states[].name: at least 1 character"), "{system}");
    // The full schema (with minLength) is still in the prompt: the model sees every rule.
    assert!(system.contains("\"minLength\":1"));
}

#[test]
fn anthropic_gets_its_narrower_subset_and_the_rest_in_words() {
    let b = body(&example("brands"));
    let schema = &b["output_config"]["format"]["schema"];
    let mut used = Vec::new();
    keywords(schema, &mut used);
    for k in ["maxItems", "maxLength", "minLength", "minimum", "maximum"] {
        assert!(!used.contains(&k.to_owned()), "Anthropic refuses {k}: {schema}");
    }
    let system = b["system"][0]["text"].as_str().unwrap();
    assert!(system.contains("- products: at most 20 items"), "{system}");
    assert!(system.contains("- insights[]: at most 280 characters"), "{system}");
    assert!(b.get("temperature").is_none());

    // Numbers and a minItems over 1 on the clinical schema: minItems becomes 1, the rest words.
    let clinical = with_provider(
        example("clinical"),
        json!({ "kind": "anthropic", "model": "claude-haiku-4-5", "maxOutputTokens": 900, "temperature": 0.2 }),
    );
    let b = body(&clinical);
    let states = &b["output_config"]["format"]["schema"]["properties"]["states"];
    assert_eq!(states["minItems"], json!(1));
    assert!(states.get("maxItems").is_none());
    let system = b["system"][0]["text"].as_str().unwrap();
    assert!(system.contains("- states: at least 2 items"), "{system}");
    assert!(system.contains("- states: at most 5 items"), "{system}");
    assert!(b.get("temperature").is_none(), "the Messages API no longer defines temperature");
}

#[test]
fn a_model_without_structured_outputs_is_asked_by_the_prompt_alone() {
    // Claude Sonnet 4 (not 4.5) is not on Anthropic's structured-outputs list.
    let old = with_provider(
        example("brands"),
        json!({ "kind": "anthropic", "model": "claude-sonnet-4-20250514", "maxOutputTokens": 900 }),
    );
    let b = body(&old);
    assert!(b.get("output_config").is_none());
    let system = b["system"][0]["text"].as_str().unwrap();
    assert!(system.contains("Answer with one JSON object that matches this JSON Schema"));
    assert!(
        !system.contains("cannot enforce"),
        "nothing is enforced by the format, so nothing is singled out"
    );

    // An unknown Anthropic model: the stricter side (prompt-only) unless the spec says otherwise.
    let unknown = json!({ "kind": "anthropic", "model": "claude-next", "maxOutputTokens": 900 });
    assert!(body(&with_provider(example("brands"), unknown.clone())).get("output_config").is_none());
    let mut on = unknown;
    on["structuredOutputs"] = json!(true);
    assert!(body(&with_provider(example("brands"), on)).get("output_config").is_some());

    // And an OpenAI-compatible server can be told to take prompt-only JSON.
    let off = json!({ "kind": "openai", "model": "llama3.1", "baseUrl": "http://localhost:11434/v1", "structuredOutputs": false });
    assert!(body(&with_provider(example("clinical"), off)).get("response_format").is_none());
}

#[test]
fn a_format_the_provider_does_not_document_is_left_out_and_said() {
    let mut spec = example("brands");
    spec["provider"] = json!({ "kind": "openai", "model": "gpt-4o-mini" });
    spec["output"]["schema"]["properties"]["category"] = json!({ "type": "string", "format": "uri" });
    let b = body(&spec);
    let category = &b["response_format"]["json_schema"]["schema"]["properties"]["category"];
    assert!(category.get("format").is_none(), "{category}");
    assert!(b["messages"][0]["content"].as_str().unwrap().contains("- category: in the \"uri\" format"));
}
