//! The job spec: what to read, what to ask, what to accept, within which limits and budget.
//!
//! Checked in three passes, and every problem of every pass is reported at once, each at its
//! JSON path: the shape (against `spec.schema.json`, by rowbatch's own validator), then the
//! embedded schemas and rule packs, then the meaning (columns exist, placeholders resolve,
//! examples validate, rules land on fields that exist).

use crate::error::{Error, Problem, Result};
use crate::finding::Finding;
use crate::finding::quote;
use crate::path::{self, Step};
use crate::rules::{self, Pack};
use crate::schema::{Id, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const SPEC_SCHEMA: &str = include_str!("spec.schema.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub input: Input,
    pub output: Output,
    pub prompt: Prompt,
    pub provider: Provider,
    #[serde(default)]
    pub limits: Limits,
    pub budget: Option<Budget>,
    #[serde(default)]
    pub batch: BatchOptions,
    /// `"builtin"` (the table in core/prices) or a price written inline.
    pub prices: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub sheet: Option<String>,
    #[serde(default = "one")]
    pub header_row: u32,
    pub key: Option<String>,
    pub identity: Option<Vec<String>>,
    pub null_tokens: Option<Vec<String>>,
    /// What to do with a row whose content changed after its output was written.
    #[serde(default)]
    pub on_edit: OnEdit,
    pub schema: Value,
    #[serde(default)]
    pub rules: Vec<RuleUse>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnEdit {
    /// Keep the output, marked stale: what was paid for is not thrown away silently.
    #[default]
    Keep,
    /// Send the row again and overwrite its output in place.
    Reprocess,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    pub sheet: Option<String>,
    pub schema: Value,
    #[serde(default)]
    pub rules: Vec<RuleUse>,
    /// Top-level object fields written as one column per leaf (`initialVitals.HR`, …), numbers
    /// as numbers, instead of one JSON column.
    #[serde(default)]
    pub spread: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleUse {
    /// A built-in pack's name, or a pack written inline.
    pub pack: Value,
    /// Where the pack applies: `""` is the row or answer itself, `states[*].vitals` each vitals.
    #[serde(default = "root_only")]
    pub at: Vec<String>,
}

fn root_only() -> Vec<String> {
    vec![String::new()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prompt {
    pub system: String,
    pub template: String,
    #[serde(default)]
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Example {
    pub input: Map<String, Value>,
    pub output: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProviderKind {
    Openai,
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provider {
    pub kind: ProviderKind,
    pub model: String,
    pub base_url: Option<String>,
    #[serde(default = "default_max_output")]
    pub max_output_tokens: u32,
    pub temperature: Option<f64>,
    /// Whether the provider constrains the answer to the schema (OpenAI's strict
    /// `response_format`, Anthropic's `output_config.format`) or the prompt alone asks for JSON.
    /// Unset: what the model table says, else yes for OpenAI-compatible servers and no for
    /// Anthropic (a model without structured outputs answers `output_config` with a 400 for
    /// every row; prompt-only JSON works on every model).
    pub structured_outputs: Option<bool>,
}

fn default_max_output() -> u32 {
    1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    pub wave_size: u32,
    pub concurrency: u32,
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    /// Seconds of work per execution; with Apps Script's 360 s this leaves room for the ~60 s
    /// UrlFetch timeout of a request still in flight.
    pub time_slice_seconds: u32,
    pub attempts_per_row: u32,
    pub reasks_per_row: u32,
    /// The Google account the script runs under: its daily quotas (see [`crate::quota`]).
    pub account: Account,
    /// Requests one `fetchAll` runs at once. Google does not document it; reports put it at
    /// 10–20, so 10 (the stricter side) unless the spec says otherwise. Waves are sized so
    /// that the lanes finish within the slice.
    pub fetch_all_concurrency: u32,
    /// Executions that work the run at once through the web app (see `run::fan`); unset: as
    /// many as the provider's limits and the platform make worth it; 1: one execution.
    pub workers: Option<u32>,
}

/// Apps Script account types: consumer (gmail.com) or Google Workspace. Unset means consumer,
/// the smaller quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Account {
    #[default]
    Consumer,
    Workspace,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wave_size: 100,
            concurrency: 10,
            requests_per_minute: 500,
            tokens_per_minute: 200_000,
            time_slice_seconds: 300,
            attempts_per_row: 3,
            reasks_per_row: 1,
            account: Account::Consumer,
            fetch_all_concurrency: 10,
            workers: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    pub max_usd: f64,
}

/// Provider Batch API submissions.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BatchOptions {
    /// Where a batch's failed and expired lines go next: `realtime` (the runner sends them) or
    /// `batch` (a new batch).
    pub retry: BatchRetry,
    /// How often a pending batch is polled.
    pub poll_minutes: u32,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { retry: BatchRetry::Realtime, poll_minutes: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchRetry {
    Realtime,
    Batch,
}

/// A rule pack ready to apply, with its places parsed.
#[derive(Debug, Clone)]
pub struct AppliedPack {
    pub pack: Pack,
    pub at: Vec<Vec<Step>>,
}

impl AppliedPack {
    pub fn apply(&self, doc: &Value) -> Vec<Finding> {
        self.pack.apply(doc, &self.at)
    }
}

/// A checked spec with everything validation needs compiled once.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: Spec,
    /// Input columns, in spec order (the order of `input.schema.properties`).
    pub columns: Vec<String>,
    /// The columns that make a row's identity (signature): `input.identity`, else every column
    /// but the key.
    pub identity: Vec<String>,
    pub input_schema: Schema,
    pub output_schema: Schema,
    pub input_rules: Vec<AppliedPack>,
    pub output_rules: Vec<AppliedPack>,
    /// The answer's columns on the output sheet, in order (see [`crate::layout::AnswerColumn`]).
    pub answer_columns: Vec<crate::layout::AnswerColumn>,
    /// `SPEC_<16 hex>`: changes when anything that shapes an answer changes (prompt, output
    /// schema and rules, provider, model, token limit, temperature). Written beside each output.
    pub version: String,
    /// The model's price, when the table knows it or the spec gives it.
    pub price: Option<crate::price::Price>,
}

impl Job {
    /// Whether the provider constrains the answer to the schema, or only the prompt asks for
    /// JSON (see [`Provider::structured_outputs`]).
    pub fn native_schema(&self) -> bool {
        let p = &self.spec.provider;
        p.structured_outputs
            .or_else(|| self.price.as_ref().and_then(|x| x.structured_outputs))
            .unwrap_or(p.kind == ProviderKind::Openai)
    }

    /// The strict subset this job's provider accepts.
    pub fn dialect(&self) -> crate::schema::Dialect {
        match self.spec.provider.kind {
            ProviderKind::Openai => crate::schema::Dialect::OpenAi,
            ProviderKind::Anthropic => crate::schema::Dialect::Anthropic,
        }
    }

    /// The schema the provider is sent (none when only the prompt asks for JSON) and the
    /// constraints it leaves to local validation.
    pub fn provider_schema(&self) -> (Option<Value>, Vec<String>) {
        if !self.native_schema() {
            return (None, Vec::new());
        }
        let (schema, left_out) = self.output_schema.provider_json(self.dialect());
        (Some(schema), left_out)
    }

    pub fn compile(value: &Value) -> Result<Job> {
        let findings = spec_shape().validate(value, "");
        if !findings.is_empty() {
            return Err(Error::InvalidInput(findings.iter().map(Problem::from_finding).collect()));
        }
        let spec: Spec = crate::read::at("", value.clone()).map_err(Error::invalid)?;
        let mut problems = Vec::new();
        let input = parse_schema(&spec.input.schema, "input.schema", &mut problems);
        let output = parse_schema(&spec.output.schema, "output.schema", &mut problems);
        let (Some(input), Some(output)) = (input, output) else {
            return Err(Error::InvalidInput(problems));
        };
        let columns = object_properties(&input, "input.schema", &mut problems);
        object_properties(&output, "output.schema", &mut problems);
        if matches!(spec.output.schema.get("additionalProperties"), Some(v) if v != &Value::Bool(false)) {
            problems.push(
                Problem::new(
                    "output.schema.additionalProperties",
                    "false or absent (structured outputs close every object)",
                )
                .found(crate::finding::show(&spec.output.schema["additionalProperties"])),
            );
        }
        let (input, output) = (input.strict(), output.strict());
        let identity = check_columns(&spec, &columns, &mut problems);
        check_template(&spec.prompt.template, &columns, &mut problems);
        for (i, ex) in spec.prompt.examples.iter().enumerate() {
            let at = format!("prompt.examples[{i}]");
            for key in ex.input.keys().filter(|k| !columns.contains(k)) {
                problems.push(column_problem(&path::key(&format!("{at}.input"), key), key, &columns));
            }
            problems.extend(
                output
                    .validate(&ex.output, &format!("{at}.output"))
                    .iter()
                    .filter(|f| f.is_error())
                    .map(Problem::from_finding),
            );
        }
        let price = resolve_price(&spec, &mut problems);
        let input_rules = rule_uses(&spec.input.rules, "input.rules", &input, &mut problems);
        let output_rules = rule_uses(&spec.output.rules, "output.rules", &output, &mut problems);
        let answer_columns = crate::layout::answer_columns(&output, &spec.output.spread, &mut problems);
        if !problems.is_empty() {
            return Err(Error::InvalidInput(problems));
        }
        let version = spec_version(value);
        Ok(Job {
            price,
            version,
            spec,
            columns,
            identity,
            input_schema: input,
            output_schema: output,
            input_rules,
            output_rules,
            answer_columns,
        })
    }
}

/// An inline price, or the table's price for the model; a budget needs one.
fn resolve_price(spec: &Spec, problems: &mut Vec<Problem>) -> Option<crate::price::Price> {
    use crate::price;
    let found = match &spec.prices {
        Some(inline @ Value::Object(_)) => crate::read::at::<crate::price::Price>("prices", inline.clone())
            .map_err(|p| problems.push(p))
            .ok(),
        _ => price::builtin(&spec.provider.model),
    };
    if found.is_none() && spec.budget.is_some() {
        problems.push(
            Problem::new(
                "prices",
                format!(
                    "a price for the budget: a model of the table ({}) or a price written here",
                    price::known().join(", ")
                ),
            )
            .found(format!("model {}", quote(&spec.provider.model))),
        );
    }
    found
}

fn spec_version(spec: &Value) -> String {
    let provider = &spec["provider"];
    // Spreading a field into columns changes where an answer goes, not what it is.
    let mut output = spec["output"].clone();
    if let Some(o) = output.as_object_mut() {
        o.remove("spread");
    }
    let parts = serde_json::json!([
        "rowbatch.spec.v1",
        output,
        spec["prompt"],
        provider["kind"],
        provider["model"],
        provider["maxOutputTokens"],
        provider["temperature"],
    ]);
    let digest = crate::signature::hash(&sorted(&parts).to_string());
    let hex = digest.rsplit('_').next().unwrap_or_default();
    format!("SPEC_{}", &hex[..16])
}

/// The same JSON with every object's keys in order, so reformatting a spec keeps its version.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The spec's own schema, parsed on first use (every validation call checks a spec).
fn spec_shape() -> &'static Schema {
    static SHAPE: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SHAPE.get_or_init(|| {
        let json = crate::decode::value(SPEC_SCHEMA.as_bytes()).expect("spec.schema.json is JSON");
        Schema::parse(&json, "").expect("spec.schema.json is a valid schema")
    })
}

fn parse_schema(v: &Value, at: &str, problems: &mut Vec<Problem>) -> Option<Schema> {
    Schema::parse(v, at).map_err(|p| problems.extend(p)).ok()
}

fn object_properties(s: &Schema, at: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    let props: Vec<String> = s
        .keywords(s.root())
        .map(|k| k.properties.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    if props.is_empty() {
        problems
            .push(Problem::new(format!("{at}.properties"), "an object schema with at least one property"));
    }
    props
}

fn column_problem(at: &str, name: &str, columns: &[String]) -> Problem {
    Problem::new(at, format!("a column of input.schema ({})", columns.join(", "))).found(quote(name))
}

fn check_columns(spec: &Spec, columns: &[String], problems: &mut Vec<Problem>) -> Vec<String> {
    if let Some(key) = &spec.input.key
        && !columns.contains(key)
    {
        problems.push(column_problem("input.key", key, columns));
    }
    match &spec.input.identity {
        Some(ids) => {
            for (i, c) in ids.iter().enumerate().filter(|(_, c)| !columns.contains(c)) {
                problems.push(column_problem(&format!("input.identity[{i}]"), c, columns));
            }
            ids.clone()
        }
        None => columns.iter().filter(|c| Some(*c) != spec.input.key.as_ref()).cloned().collect(),
    }
}

/// `{{Column}}` placeholders must name input columns; `{{` must close.
fn check_template(template: &str, columns: &[String], problems: &mut Vec<Problem>) {
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            problems.push(Problem::new("prompt.template", "every {{ closed by }}").found("an unclosed {{"));
            return;
        };
        let name = after[..close].trim();
        if !columns.iter().any(|c| c == name) {
            problems.push(column_problem("prompt.template", &format!("{{{{{name}}}}}"), columns));
        }
        rest = &after[close + 2..];
    }
}

fn rule_uses(uses: &[RuleUse], at: &str, schema: &Schema, problems: &mut Vec<Problem>) -> Vec<AppliedPack> {
    let mut out = Vec::new();
    for (i, u) in uses.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let pack = match &u.pack {
            Value::String(name) => rules::builtin(name).ok_or_else(|| {
                let known: Vec<&str> = rules::BUILTIN.iter().map(|(n, _)| *n).collect();
                Problem::new(format!("{here}.pack"), format!("a built-in pack ({})", known.join(", ")))
                    .found(quote(name))
            }),
            inline => crate::read::at::<Pack>(&format!("{here}.pack"), inline.clone()),
        };
        let pack = match pack {
            Ok(p) => p,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let mut places = Vec::new();
        for (j, pattern) in u.at.iter().enumerate() {
            let Some(steps) = path::parse_pattern(pattern) else {
                problems.push(
                    Problem::new(
                        format!("{here}.at[{j}]"),
                        "a place like \"\", \"vitals\" or \"states[*].vitals\"",
                    )
                    .found(quote(pattern)),
                );
                continue;
            };
            let fields = schema_at(schema, &steps).map(|id| fields_of(schema, id));
            let used = pack
                .rules
                .iter()
                .flat_map(|r| r.fields())
                .any(|f| fields.as_ref().is_some_and(|fs| fs.iter().any(|x| x == f)));
            if !used {
                let found = match fields {
                    Some(fs) => format!("{}, whose fields are {}", quote(pattern), fs.join(", ")),
                    None => format!("{}, which the schema does not have", quote(pattern)),
                };
                problems.push(
                    Problem::new(
                        format!("{here}.at[{j}]"),
                        format!("a place holding fields that pack {} checks", pack.name),
                    )
                    .found(found),
                );
            }
            places.push(steps);
        }
        out.push(AppliedPack { pack, at: places });
    }
    out
}

/// The schema node a place pattern reaches, following properties, items and `$ref`s.
fn schema_at(s: &Schema, steps: &[Step]) -> Option<Id> {
    let mut id = s.resolve(s.root());
    for step in steps {
        id = s.resolve(match step {
            Step::Key(k) => s.property(id, k)?,
            Step::Index(_) | Step::Each => s.keywords(id)?.items?,
        });
        // A nullable property is `anyOf: [schema, null]` in the strict form.
        if let Some(k) = s.keywords(id).filter(|k| k.types.is_none() && !k.any_of.is_empty()) {
            id = s.resolve(k.any_of[0]);
        }
    }
    Some(id)
}

fn fields_of(s: &Schema, id: Id) -> Vec<String> {
    s.keywords(id).map(|k| k.properties.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default()
}
