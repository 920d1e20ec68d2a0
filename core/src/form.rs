//! The job as the sidebar's new-job form shows it: the spec with each schema turned into a list
//! of fields (name, type, required, limits, a description the model sees), and back.
//!
//! The two directions are inverses for every spec the form can show: `to_spec(from_spec(s)) ==
//! s` (a test holds both shipped examples to it). A schema the form cannot show (`anyOf`,
//! `format`, a `$ref` outside `$defs`, …) is refused with its path, and the sidebar keeps the
//! spec in its JSON view. Whether the spec is any good is not decided here: the sidebar checks
//! what [`to_spec`] makes with [`crate::validate::check_spec`], the same checks and messages as
//! a spec written by hand.

use crate::error::{Error, Problem, Result};
use crate::finding::quote;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The form's model of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Form {
    /// Everything of the spec but `input.schema` and `output.schema`, as JSON.
    pub spec: Map<String, Value>,
    /// The input columns the job reads, with their checks.
    pub columns: Vec<Field>,
    /// The answer's fields.
    pub fields: Vec<Field>,
    /// Object types the answer uses in more than one place (`$defs`), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<Shared>,
    /// `additionalProperties: false` written on the answer's root.
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed: bool,
}

/// A named object type, used by fields of type `shared`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shared {
    pub name: String,
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed: bool,
}

/// What a field holds, in the words the form uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Text,
    Number,
    WholeNumber,
    YesNo,
    /// One of a list of values.
    OneOf,
    /// A list of `item`s.
    ListOf,
    /// An object with its own `fields`.
    Object,
    /// A shared type, by `shared` name.
    Shared,
}

/// One field. `min`/`max` are the limits of its kind: the value for numbers, the length for
/// text, the count for lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Field {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// May be null (`"type": ["number", "null"]`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Text only: a regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// One of a list: the values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Value>,
    /// List of: what each item is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Box<Field>>,
    /// Object: its fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Object: `additionalProperties: false` written.
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed: bool,
    /// Shared: the type's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The form of `input.spec` (every place it cannot show, when it cannot).
pub fn form_of(input: crate::validate::SpecInput) -> Result<Form> {
    from_spec(&input.spec)
}

/// What the form asks of the core as it is edited: the spec it makes, checked, and for the
/// selected row the request as it would be sent and its cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewInput {
    /// The form, or (from the JSON view) the spec itself.
    #[serde(default)]
    pub form: Option<Form>,
    #[serde(default)]
    pub spec: Option<Value>,
    pub header: Vec<String>,
    /// The selected row's cells.
    #[serde(default)]
    pub row: Option<Vec<crate::cell::Cell>>,
    /// The sheet's rows, for the whole job's cost.
    #[serde(default)]
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub spec: Value,
    /// Every problem `checkSpec` finds, at its path; empty when the spec is good.
    pub problems: Vec<Problem>,
    /// The selected row's request body, exactly as it would be sent.
    pub request: Option<Value>,
    /// USD: the selected row realtime, and the sheet's rows at that price realtime and batch.
    pub cost: Option<RowCost>,
    /// Why there is no request or cost for the selected row.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowCost {
    pub row: f64,
    pub rows: f64,
    pub batch: f64,
}

/// One call per edit of the form: the sidebar makes it in the page, or on the server when the
/// page cannot start the module, and shows the same.
pub fn review(input: ReviewInput) -> Result<Review> {
    let spec = match (&input.form, input.spec) {
        (Some(f), _) => to_spec(f),
        (None, Some(s)) => s,
        (None, None) => return Err(Error::invalid(Problem::new("form", "a form or a spec"))),
    };
    let mut out = Review { spec, problems: Vec::new(), request: None, cost: None, note: None };
    let job = match crate::spec::Job::compile(&out.spec) {
        Ok(job) => job,
        Err(Error::InvalidInput(problems)) => {
            out.problems = problems;
            return Ok(out);
        }
    };
    let Some(row) = input.row else {
        out.note = Some("select a row of the sheet to see its request".to_owned());
        return Ok(out);
    };
    let items = vec![crate::provider::Item {
        key: "preview".into(),
        signature: String::new(),
        row: row.clone(),
        reask: None,
    }];
    let built = crate::provider::build_requests_with(
        &job,
        &crate::provider::BuildInput { spec: Value::Null, header: input.header.clone(), items },
    );
    match built {
        Ok(b) => out.request = b.requests.first().and_then(|r| crate::decode::value(r.body.as_bytes()).ok()),
        Err(e) => {
            out.note = Some(e.to_string());
            return Ok(out);
        }
    }
    let est = crate::estimate::estimate_with(
        &job,
        &crate::estimate::EstimateInput {
            spec: Value::Null,
            header: input.header,
            rows: vec![row],
            observed: None,
            parallel: None,
        },
    )?;
    match est.cost {
        Some(c) if est.rows > 0 => {
            let n = input.rows as f64;
            out.cost = Some(RowCost { row: c.realtime, rows: c.realtime * n, batch: c.batch * n });
        }
        Some(_) => {
            out.note =
                Some("the selected row does not pass the input checks: it would not be sent".to_owned())
        }
        None => out.note = Some("no price for this model: add one (prices) to see the cost".to_owned()),
    }
    Ok(out)
}

/// The form for a spec, or every place the form cannot show.
pub fn from_spec(spec: &Value) -> Result<Form> {
    let Some(obj) = spec.as_object() else {
        return Err(Error::InvalidInput(vec![Problem::new("(input)", "a job spec: a JSON object")]));
    };
    let mut rest = obj.clone();
    let mut problems = Vec::new();
    let input = take_schema(&mut rest, "input", &mut problems);
    let output = take_schema(&mut rest, "output", &mut problems);
    let mut form =
        Form { spec: rest, columns: Vec::new(), fields: Vec::new(), types: Vec::new(), closed: false };
    if let Some(s) = input {
        let (columns, closed) = object_fields(&s, "input.schema", false, false, &mut problems);
        if closed {
            problems.push(Problem::new(
                "input.schema.additionalProperties",
                "absent (a sheet may have other columns)",
            ));
        }
        form.columns = columns;
    }
    if let Some(mut s) = output {
        if let Some(defs) = s.as_object_mut().and_then(|o| o.remove("$defs")) {
            for (name, def) in defs.as_object().into_iter().flatten() {
                let at = format!("output.schema.$defs.{name}");
                let (fields, closed) = object_fields(def, &at, true, false, &mut problems);
                form.types.push(Shared { name: name.clone(), fields, closed });
            }
        }
        let (fields, closed) = object_fields(&s, "output.schema", true, false, &mut problems);
        form.fields = fields;
        form.closed = closed;
    }
    if problems.is_empty() { Ok(form) } else { Err(Error::InvalidInput(problems)) }
}

/// The spec the form describes (checked afterwards, like any spec).
pub fn to_spec(form: &Form) -> Value {
    let mut spec = form.spec.clone();
    let mut output = object_schema(&form.fields, form.closed);
    if !form.types.is_empty() {
        let defs: Map<String, Value> =
            form.types.iter().map(|t| (t.name.clone(), object_schema(&t.fields, t.closed))).collect();
        output["$defs"] = Value::Object(defs);
    }
    put_schema(&mut spec, "input", object_schema(&form.columns, false));
    put_schema(&mut spec, "output", output);
    Value::Object(spec)
}

fn take_schema(spec: &mut Map<String, Value>, part: &str, problems: &mut Vec<Problem>) -> Option<Value> {
    let schema = spec.get_mut(part).and_then(Value::as_object_mut).and_then(|p| p.remove("schema"));
    if schema.is_none() {
        problems.push(Problem::new(format!("{part}.schema"), "a JSON Schema for the form's fields"));
    }
    schema
}

fn put_schema(spec: &mut Map<String, Value>, part: &str, schema: Value) {
    let entry = spec.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let obj = entry.as_object_mut().expect("an object");
    // The schema goes where a hand-written spec has it: after the sheet and key.
    let mut out = Map::new();
    let mut schema = Some(schema);
    for (k, v) in std::mem::take(obj) {
        if matches!(k.as_str(), "rules" | "onEdit" | "spread")
            && let Some(s) = schema.take()
        {
            out.insert("schema".to_owned(), s);
        }
        out.insert(k, v);
    }
    if let Some(s) = schema {
        out.insert("schema".to_owned(), s);
    }
    *obj = out;
}

fn object_schema(fields: &[Field], closed: bool) -> Value {
    let mut properties = Map::new();
    for f in fields {
        properties.insert(f.name.clone(), field_schema(f));
    }
    let required: Vec<Value> =
        fields.iter().filter(|f| f.required).map(|f| Value::String(f.name.clone())).collect();
    let mut out = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        out["required"] = Value::Array(required);
    }
    if closed {
        out["additionalProperties"] = Value::Bool(false);
    }
    out
}

fn field_schema(f: &Field) -> Value {
    let (ty, min, max) = match f.kind {
        Kind::Text => ("string", "minLength", "maxLength"),
        Kind::Number => ("number", "minimum", "maximum"),
        Kind::WholeNumber => ("integer", "minimum", "maximum"),
        Kind::YesNo => ("boolean", "", ""),
        Kind::ListOf => ("array", "minItems", "maxItems"),
        Kind::Object => return with_null(object_schema(&f.fields, f.closed), f),
        Kind::OneOf => {
            let mut options = f.options.clone();
            if f.nullable && !options.contains(&Value::Null) {
                options.push(Value::Null);
            }
            return describe(json!({ "enum": options }), f);
        }
        Kind::Shared => {
            let r = json!({ "$ref": format!("#/$defs/{}", f.shared.as_deref().unwrap_or_default()) });
            let r = if f.nullable { json!({ "anyOf": [r, { "type": "null" }] }) } else { r };
            return describe(r, f);
        }
    };
    let mut out = json!({ "type": ty });
    if !min.is_empty() {
        if let Some(v) = f.min {
            out[min] = number(v);
        }
        if let Some(v) = f.max {
            out[max] = number(v);
        }
    }
    if f.kind == Kind::Text
        && let Some(p) = &f.pattern
    {
        out["pattern"] = Value::String(p.clone());
    }
    if f.kind == Kind::ListOf {
        let item = f.item.as_deref().cloned().unwrap_or_else(|| text(""));
        out["items"] = field_schema(&item);
    }
    with_null(out, f)
}

fn with_null(mut schema: Value, f: &Field) -> Value {
    if f.nullable {
        let ty = schema["type"].clone();
        schema["type"] = json!([ty, "null"]);
    }
    describe(schema, f)
}

fn describe(mut schema: Value, f: &Field) -> Value {
    if let Some(d) = &f.description {
        schema["description"] = Value::String(d.clone());
    }
    schema
}

/// Whole numbers as JSON integers (`0`, not `0.0`), as a hand-written spec has them.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 { Value::from(v as i64) } else { Value::from(v) }
}

fn text(name: &str) -> Field {
    Field {
        name: name.to_owned(),
        kind: Kind::Text,
        required: false,
        nullable: false,
        description: None,
        min: None,
        max: None,
        pattern: None,
        options: Vec::new(),
        item: None,
        fields: Vec::new(),
        closed: false,
        shared: None,
    }
}

/// The fields of an object schema, and whether it is closed.
fn object_fields(
    schema: &Value,
    at: &str,
    answer: bool,
    nested: bool,
    problems: &mut Vec<Problem>,
) -> (Vec<Field>, bool) {
    let Some(obj) = schema.as_object() else {
        problems.push(Problem::new(at, "an object schema").found(crate::finding::show(schema)));
        return (Vec::new(), false);
    };
    // A nested object's description is its field's (read in `field`); a root has none.
    let known: &[&str] = if nested {
        &["type", "properties", "required", "additionalProperties", "description"]
    } else {
        &["type", "properties", "required", "additionalProperties"]
    };
    unknown_keywords(obj, at, known, problems);
    if obj.get("type") != Some(&json!("object")) {
        problems.push(
            Problem::new(format!("{at}.type"), "\"object\"")
                .found(obj.get("type").map_or("nothing".to_owned(), crate::finding::show)),
        );
    }
    let closed = match obj.get("additionalProperties") {
        None => false,
        Some(Value::Bool(false)) => true,
        Some(other) => {
            problems.push(
                Problem::new(format!("{at}.additionalProperties"), "false or absent")
                    .found(crate::finding::show(other)),
            );
            false
        }
    };
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut fields = Vec::new();
    for (name, s) in obj.get("properties").and_then(Value::as_object).into_iter().flatten() {
        if let Some(mut f) = field(s, &crate::path::key(&format!("{at}.properties"), name), answer, problems)
        {
            f.name = name.clone();
            f.required = required.contains(&name.as_str());
            fields.push(f);
        }
    }
    // `required` must list the properties in their order for the round trip to give it back.
    let listed: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name.as_str()).collect();
    if listed != required {
        problems.push(
            Problem::new(format!("{at}.required"), "names of its properties, in the order of properties")
                .found(crate::finding::show(&obj["required"])),
        );
    }
    (fields, closed)
}

fn unknown_keywords(obj: &Map<String, Value>, at: &str, known: &[&str], problems: &mut Vec<Problem>) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(
            Problem::new(
                crate::path::key(at, k),
                format!("a keyword the form shows here ({}); edit the JSON instead", known.join(", ")),
            )
            .found(quote(k)),
        );
    }
}

fn field(s: &Value, at: &str, answer: bool, problems: &mut Vec<Problem>) -> Option<Field> {
    let Some(obj) = s.as_object() else {
        problems.push(Problem::new(at, "a schema object").found(crate::finding::show(s)));
        return None;
    };
    let mut f = text("");
    f.description = obj.get("description").and_then(Value::as_str).map(str::to_owned);
    if let Some(r) = obj.get("$ref") {
        unknown_keywords(obj, at, &["$ref", "description"], problems);
        f.kind = Kind::Shared;
        f.shared = shared_name(r, at, answer, problems);
        return Some(f);
    }
    if let Some(Value::Array(any)) = obj.get("anyOf") {
        // Only a shared type or null: what `nullable` writes for a shared type.
        unknown_keywords(obj, at, &["anyOf", "description"], problems);
        let r = any.first().and_then(|a| a.get("$ref"));
        if any.len() != 2 || any[1] != json!({ "type": "null" }) || r.is_none() {
            problems.push(
                Problem::new(format!("{at}.anyOf"), "[{\"$ref\": …}, {\"type\": \"null\"}]")
                    .found(crate::finding::show(&obj["anyOf"])),
            );
            return None;
        }
        f.kind = Kind::Shared;
        f.nullable = true;
        f.shared = r.and_then(|r| shared_name(r, at, answer, problems));
        return Some(f);
    }
    if let Some(options) = obj.get("enum").and_then(Value::as_array) {
        unknown_keywords(obj, at, &["enum", "description"], problems);
        f.kind = Kind::OneOf;
        f.options = options.iter().filter(|v| !v.is_null()).cloned().collect();
        f.nullable = options.len() != f.options.len();
        return Some(f);
    }
    let (ty, nullable) = match obj.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(ts)) if ts.len() == 2 && ts[1] == "null" && ts[0].is_string() => {
            (ts[0].as_str().unwrap_or_default(), true)
        }
        other => {
            problems.push(
                Problem::new(format!("{at}.type"), "one type, or a type and \"null\"")
                    .found(other.map_or("nothing".to_owned(), crate::finding::show)),
            );
            return None;
        }
    };
    f.nullable = nullable;
    let limits = |kind, min: &str, max: &str, extra: &[&str], f: &mut Field, problems: &mut Vec<Problem>| {
        let mut known = vec!["type", "description", min, max];
        known.extend_from_slice(extra);
        unknown_keywords(obj, at, &known, problems);
        f.kind = kind;
        f.min = obj.get(min).and_then(Value::as_f64);
        f.max = obj.get(max).and_then(Value::as_f64);
    };
    match ty {
        "string" => {
            limits(Kind::Text, "minLength", "maxLength", &["pattern"], &mut f, problems);
            f.pattern = obj.get("pattern").and_then(Value::as_str).map(str::to_owned);
        }
        "number" => limits(Kind::Number, "minimum", "maximum", &[], &mut f, problems),
        "integer" => limits(Kind::WholeNumber, "minimum", "maximum", &[], &mut f, problems),
        "boolean" => limits(Kind::YesNo, "", "", &[], &mut f, problems),
        "array" => {
            limits(Kind::ListOf, "minItems", "maxItems", &["items"], &mut f, problems);
            let items = obj.get("items").cloned().unwrap_or(json!({ "type": "string" }));
            f.item = field(&items, &format!("{at}.items"), answer, problems).map(Box::new);
        }
        "object" => {
            let (fields, closed) = object_fields(s, at, answer, true, problems);
            f.kind = Kind::Object;
            f.fields = fields;
            f.closed = closed;
        }
        other => {
            problems.push(
                Problem::new(format!("{at}.type"), "string, number, integer, boolean, array or object")
                    .found(quote(other)),
            );
            return None;
        }
    }
    Some(f)
}

fn shared_name(r: &Value, at: &str, answer: bool, problems: &mut Vec<Problem>) -> Option<String> {
    match r.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) if answer && !name.contains('/') => Some(name.to_owned()),
        _ => {
            problems.push(
                Problem::new(format!("{at}.$ref"), "\"#/$defs/<name>\" in the answer's schema")
                    .found(crate::finding::show(r)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_the_form_cannot_show_is_named() {
        let spec = json!({
            "input": { "schema": { "type": "object", "properties": { "A": { "type": "string", "format": "email" } } } },
            "output": { "schema": { "type": "object", "properties": { "x": { "anyOf": [{ "type": "string" }, { "type": "number" }] } } } }
        });
        let Err(Error::InvalidInput(problems)) = from_spec(&spec) else { panic!("accepted") };
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["input.schema.properties.A.format", "output.schema.properties.x.anyOf"]);
    }

    #[test]
    fn whole_numbers_stay_integers_and_nullable_adds_null() {
        let mut f = text("age");
        f.kind = Kind::WholeNumber;
        f.min = Some(0.0);
        f.max = Some(1.5);
        f.nullable = true;
        assert_eq!(field_schema(&f), json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 1.5 }));
    }
}
