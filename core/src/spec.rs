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
use crate::read::{self, Fields, FromJson, Read};
use crate::rules::{self, Pack};
use crate::schema::{Id, Schema};
use serde_json::{Map, Value};

const SPEC_SCHEMA: &str = include_str!("spec.schema.json");

#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub input: Input,
    pub output: Output,
    pub prompt: Prompt,
    pub provider: Provider,
    pub limits: Limits,
    pub budget: Option<Budget>,
    pub batch: BatchOptions,
    /// `"builtin"` (the table in core/prices) or a price written inline.
    pub prices: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub sheet: Option<String>,
    pub header_row: u32,
    pub key: Option<String>,
    pub identity: Option<Vec<String>>,
    pub null_tokens: Option<Vec<String>>,
    /// What to do with a row whose content changed after its output was written.
    pub on_edit: OnEdit,
    pub schema: Value,
    pub rules: Vec<RuleUse>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnEdit {
    /// Keep the output, marked stale: what was paid for is not thrown away silently.
    #[default]
    Keep,
    /// Send the row again and overwrite its output in place.
    Reprocess,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub sheet: Option<String>,
    pub schema: Value,
    pub rules: Vec<RuleUse>,
}

#[derive(Debug, Clone)]
pub struct RuleUse {
    /// A built-in pack's name, or a pack written inline.
    pub pack: Value,
    /// Where the pack applies: `""` is the row or answer itself, `states[*].vitals` each vitals.
    pub at: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub system: String,
    pub template: String,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone)]
pub struct Example {
    pub input: Map<String, Value>,
    pub output: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug, Clone)]
pub struct Provider {
    pub kind: ProviderKind,
    pub model: String,
    pub base_url: Option<String>,
    pub max_output_tokens: u32,
    pub temperature: Option<f64>,
}

#[derive(Debug, Clone)]
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
        }
    }
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub max_usd: f64,
}

/// Provider Batch API submissions.
#[derive(Debug, Clone)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRetry {
    Realtime,
    Batch,
}

// Readers for the spec's parts. `spec.schema.json` has checked the shape already (every problem
// at once, at its path); these take the values out and say where anything still doesn't fit.
impl Spec {
    fn read(v: &Value) -> Read<Spec> {
        let f = Fields::of(
            v,
            "",
            &["name", "input", "output", "prompt", "provider", "limits", "budget", "batch", "prices"],
        )?;
        Ok(Spec {
            name: f.req("name", read::string)?,
            input: f.req("input", Input::read)?,
            output: f.req("output", Output::read)?,
            prompt: f.req("prompt", Prompt::read)?,
            provider: f.req("provider", Provider::read)?,
            limits: f.or("limits", Limits::read, Limits::default())?,
            budget: f.opt("budget", |v, at| {
                Ok(Budget { max_usd: Fields::of(v, at, &["maxUsd"])?.req("maxUsd", read::number)? })
            })?,
            batch: f.or("batch", BatchOptions::read, BatchOptions::default())?,
            prices: f.opt("prices", read::any)?,
        })
    }
}

impl Input {
    fn read(v: &Value, at: &str) -> Read<Input> {
        let f = Fields::of(
            v,
            at,
            &["sheet", "headerRow", "key", "identity", "nullTokens", "onEdit", "schema", "rules"],
        )?;
        Ok(Input {
            sheet: f.opt("sheet", read::string)?,
            header_row: f.or("headerRow", read::whole32, 1)?,
            key: f.opt("key", read::string)?,
            identity: f.opt("identity", read::strings)?,
            null_tokens: f.opt("nullTokens", read::strings)?,
            on_edit: f.or(
                "onEdit",
                |v, at| Ok([OnEdit::Keep, OnEdit::Reprocess][read::choice(v, at, &["keep", "reprocess"])?]),
                OnEdit::Keep,
            )?,
            schema: f.value("schema")?,
            rules: f.or("rules", RuleUse::read_all, Vec::new())?,
        })
    }
}

impl Output {
    fn read(v: &Value, at: &str) -> Read<Output> {
        let f = Fields::of(v, at, &["sheet", "schema", "rules"])?;
        Ok(Output {
            sheet: f.opt("sheet", read::string)?,
            schema: f.value("schema")?,
            rules: f.or("rules", RuleUse::read_all, Vec::new())?,
        })
    }
}

impl RuleUse {
    fn read_all(v: &Value, at: &str) -> Read<Vec<RuleUse>> {
        read::list(v, at, |v, at| {
            let f = Fields::of(v, at, &["pack", "at"])?;
            Ok(RuleUse { pack: f.value("pack")?, at: f.or("at", read::strings, vec![String::new()])? })
        })
    }
}

impl Prompt {
    fn read(v: &Value, at: &str) -> Read<Prompt> {
        let f = Fields::of(v, at, &["system", "template", "examples"])?;
        Ok(Prompt {
            system: f.req("system", read::string)?,
            template: f.req("template", read::string)?,
            examples: f.or("examples", |v, at| read::list(v, at, Example::read), Vec::new())?,
        })
    }
}

impl Example {
    fn read(v: &Value, at: &str) -> Read<Example> {
        let f = Fields::of(v, at, &["input", "output"])?;
        Ok(Example { input: f.req("input", read::object)?, output: f.value("output")? })
    }
}

impl Provider {
    fn read(v: &Value, at: &str) -> Read<Provider> {
        let f = Fields::of(v, at, &["kind", "model", "baseUrl", "maxOutputTokens", "temperature"])?;
        Ok(Provider {
            kind: f.req("kind", |v, at| {
                Ok([ProviderKind::Openai, ProviderKind::Anthropic]
                    [read::choice(v, at, &["openai", "anthropic"])?])
            })?,
            model: f.req("model", read::string)?,
            base_url: f.opt("baseUrl", read::string)?,
            max_output_tokens: f.or("maxOutputTokens", read::whole32, 1024)?,
            temperature: f.opt("temperature", read::number)?,
        })
    }
}

impl Limits {
    fn read(v: &Value, at: &str) -> Read<Limits> {
        let f = Fields::of(
            v,
            at,
            &[
                "waveSize",
                "concurrency",
                "requestsPerMinute",
                "tokensPerMinute",
                "timeSliceSeconds",
                "attemptsPerRow",
                "reasksPerRow",
            ],
        )?;
        let d = Limits::default();
        Ok(Limits {
            wave_size: f.or("waveSize", read::whole32, d.wave_size)?,
            concurrency: f.or("concurrency", read::whole32, d.concurrency)?,
            requests_per_minute: f.or("requestsPerMinute", read::whole32, d.requests_per_minute)?,
            tokens_per_minute: f.or("tokensPerMinute", read::whole32, d.tokens_per_minute)?,
            time_slice_seconds: f.or("timeSliceSeconds", read::whole32, d.time_slice_seconds)?,
            attempts_per_row: f.or("attemptsPerRow", read::whole32, d.attempts_per_row)?,
            reasks_per_row: f.or("reasksPerRow", read::whole32, d.reasks_per_row)?,
        })
    }
}

impl BatchOptions {
    fn read(v: &Value, at: &str) -> Read<BatchOptions> {
        let f = Fields::of(v, at, &["retry", "pollMinutes"])?;
        let d = BatchOptions::default();
        Ok(BatchOptions {
            retry: f.or(
                "retry",
                |v, at| {
                    Ok([BatchRetry::Realtime, BatchRetry::Batch]
                        [read::choice(v, at, &["realtime", "batch"])?])
                },
                d.retry,
            )?,
            poll_minutes: f.or("pollMinutes", read::whole32, d.poll_minutes)?,
        })
    }
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
    /// `SPEC_<16 hex>`: changes when anything that shapes an answer changes (prompt, output
    /// schema and rules, provider, model, token limit, temperature). Written beside each output.
    pub version: String,
    /// The model's price, when the table knows it or the spec gives it.
    pub price: Option<crate::price::Price>,
}

impl Job {
    pub fn compile(value: &Value) -> Result<Job> {
        let findings = spec_shape().validate(value, "");
        if !findings.is_empty() {
            return Err(Error::InvalidInput(findings.iter().map(Problem::from_finding).collect()));
        }
        let spec = Spec::read(value).map_err(Error::invalid)?;
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
        })
    }
}

/// An inline price, or the table's price for the model; a budget needs one.
fn resolve_price(spec: &Spec, problems: &mut Vec<Problem>) -> Option<crate::price::Price> {
    use crate::price;
    let found = match &spec.prices {
        Some(inline @ Value::Object(_)) => {
            crate::price::Price::read(inline, "prices").map_err(|p| problems.push(p)).ok()
        }
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
    let parts = serde_json::json!([
        "rowbatch.spec.v1",
        spec["output"],
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
            inline => Pack::read(inline, &format!("{here}.pack")),
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
