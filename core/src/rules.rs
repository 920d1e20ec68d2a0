//! Rule packs: plausibility rules as data (JSON), applied at chosen places of a row or answer.
//!
//! Kinds: `range` (min/max, warning bands), `pair` ("120/80" with a range per part and an
//! order), `vocabulary` (canonical values, aliases, a required suffix), `implies` (a condition
//! on one field fixes another), `format` (url, domain), `length` (list sizes), `nonEmpty`.
//! Null tokens ("N/A") become null first and vocabulary aliases resolve next, so the other rules
//! see the value a fix would produce: "VF" with HR 90 is an arrest rhythm with the wrong HR.

use crate::finding::{Finding, show};
use crate::path::{self, Step};
use crate::read;
use crate::schema::json_equal;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Packs shipped with rowbatch, by name.
pub const BUILTIN: [(&str, &str); 2] = [
    ("clinical-vitals", include_str!("../rules/clinical-vitals.json")),
    ("brand-profile", include_str!("../rules/brand-profile.json")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pack {
    pub name: String,
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub null_tokens: Vec<String>,
    pub rules: Vec<Rule>,
}

/// One rule; `kind` in its JSON says which, the rest of the object is that kind's rule.
#[derive(Debug, Clone)]
pub enum Rule {
    Range(RangeRule),
    Pair(PairRule),
    Vocabulary(VocabularyRule),
    Implies(ImpliesRule),
    Format(FormatRule),
    Length(LengthRule),
    NonEmpty(NonEmptyRule),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeRule {
    pub id: Option<String>,
    pub field: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub warn_below: Option<f64>,
    pub warn_above: Option<f64>,
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Part {
    pub name: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairRule {
    pub id: Option<String>,
    pub field: String,
    pub separator: String,
    pub first: Part,
    pub second: Part,
    #[serde(default)]
    pub first_greater: bool,
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VocabularyRule {
    pub id: Option<String>,
    pub field: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub aliases: Map<String, Value>,
    pub suffix: Option<String>,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    #[serde(rename = "in")]
    pub one_of: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    pub field: String,
    pub equals: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImpliesRule {
    pub id: Option<String>,
    pub when: Condition,
    pub then: Requirement,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Format {
    Url,
    Domain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormatRule {
    pub id: Option<String>,
    pub field: String,
    pub format: Format,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LengthRule {
    pub id: Option<String>,
    pub field: String,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NonEmptyRule {
    pub id: Option<String>,
    pub field: String,
}

impl Rule {
    /// The fields the rule reads, relative to the object it is applied to.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Rule::Range(r) => vec![&r.field],
            Rule::Pair(r) => vec![&r.field],
            Rule::Vocabulary(r) => vec![&r.field],
            Rule::Implies(r) => vec![&r.when.field, &r.then.field],
            Rule::Format(r) => vec![&r.field],
            Rule::Length(r) => vec![&r.field],
            Rule::NonEmpty(r) => vec![&r.field],
        }
    }
}

pub fn builtin(name: &str) -> Option<Pack> {
    let text = BUILTIN.iter().find(|(n, _)| *n == name)?.1;
    crate::read::at("", crate::decode::value(text.as_bytes()).ok()?).ok()
}

/// The `kind` of a rule.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum Kind {
    Range,
    Pair,
    Vocabulary,
    Implies,
    Format,
    Length,
    NonEmpty,
}

impl<'de> Deserialize<'de> for Rule {
    /// `kind` picks the variant; the rest of the object is read as that variant's rule, with
    /// the place of any mistake inside it kept (serde's own tagged enums lose it).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let mut map = match Value::deserialize(d)? {
            Value::Object(map) => map,
            other => {
                let found = serde::de::Unexpected::Other(&show(&other));
                return Err(serde::de::Error::invalid_type(found, &"a rule (an object with a kind)"));
            }
        };
        let kind = map.remove("kind").ok_or_else(|| serde::de::Error::missing_field("kind"))?;
        let kind: Kind = read::nested("kind", kind)?;
        let v = Value::Object(map);
        Ok(match kind {
            Kind::Range => Rule::Range(read::nested("", v)?),
            Kind::Pair => Rule::Pair(read::nested("", v)?),
            Kind::Vocabulary => Rule::Vocabulary(read::nested("", v)?),
            Kind::Implies => Rule::Implies(read::nested("", v)?),
            Kind::Format => Rule::Format(read::nested("", v)?),
            Kind::Length => Rule::Length(read::nested("", v)?),
            Kind::NonEmpty => Rule::NonEmpty(read::nested("", v)?),
        })
    }
}

impl Pack {
    /// Findings for every object the `at` patterns reach in `doc` (patterns already checked).
    pub fn apply(&self, doc: &Value, at: &[Vec<Step>]) -> Vec<Finding> {
        let mut out = Vec::new();
        for steps in at {
            for (base, obj) in path::select(doc, steps) {
                if let Value::Object(m) = obj {
                    self.apply_object(m, &base, &mut out);
                }
            }
        }
        out
    }

    fn apply_object(&self, obj: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
        let mut view = obj.clone();
        for (key, value) in obj {
            if let Value::String(s) = value
                && self.null_tokens.iter().any(|t| t.trim().eq_ignore_ascii_case(s.trim()))
            {
                out.push(
                    Finding::warning(
                        path::key(base, key),
                        "null_token",
                        format!("{} means no value", show(value)),
                    )
                    .with_fix(value.clone(), Value::Null, "no value is written as empty"),
                );
                view.insert(key.clone(), Value::Null);
            }
        }
        for rule in &self.rules {
            if let Rule::Vocabulary(r) = rule {
                vocabulary(r, &mut view, base, out);
            }
        }
        for rule in &self.rules {
            match rule {
                Rule::Range(r) => range(r, &view, base, out),
                Rule::Pair(r) => pair(r, &view, base, out),
                Rule::Implies(r) => implies(r, &view, base, out),
                Rule::Format(r) => format(r, &view, base, out),
                Rule::Length(r) => length(r, &view, base, out),
                Rule::NonEmpty(r) => {
                    if is_empty(view.get(&r.field)) {
                        out.push(Finding::error(path::key(base, &r.field), "required", "must not be empty"));
                    }
                }
                Rule::Vocabulary(_) => {}
            }
        }
    }
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::decode::number(s),
        _ => None,
    }
}

fn with_unit(n: f64, unit: &str) -> String {
    if unit.is_empty() { format!("{n}") } else { format!("{n} {unit}") }
}

fn bounds(min: Option<f64>, max: Option<f64>, unit: &str) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}–{}", with_unit(b, unit)),
        (Some(a), None) => format!("at least {}", with_unit(a, unit)),
        (None, Some(b)) => format!("at most {}", with_unit(b, unit)),
        (None, None) => "any value".to_owned(),
    }
}

fn outside(n: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m)
}

fn range(r: &RangeRule, view: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let Some(n) = number(view.get(&r.field)) else { return };
    let at = path::key(base, &r.field);
    if outside(n, r.min, r.max) {
        let msg =
            format!("{} {} is outside {}", r.field, with_unit(n, &r.unit), bounds(r.min, r.max, &r.unit));
        out.push(Finding::error(at, "range", msg));
    } else if outside(n, r.warn_below, r.warn_above) {
        let msg = format!(
            "{} {} is unusual (expected {})",
            r.field,
            with_unit(n, &r.unit),
            bounds(r.warn_below, r.warn_above, &r.unit)
        );
        out.push(Finding::warning(at, "range_warning", msg));
    }
}

fn pair(r: &PairRule, view: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let Some(value) = view.get(&r.field).filter(|v| !v.is_null()) else { return };
    let at = path::key(base, &r.field);
    let parts: Option<(f64, f64)> = value.as_str().and_then(|s| {
        let (a, b) = s.split_once(r.separator.as_str())?;
        Some((crate::decode::number(a)?, crate::decode::number(b)?))
    });
    let Some((a, b)) = parts else {
        let msg = format!(
            "expected {}{}{} like 120{}80, found {}",
            r.first.name,
            r.separator,
            r.second.name,
            r.separator,
            show(value)
        );
        out.push(Finding::error(at, "format", msg));
        return;
    };
    for (part, n) in [(&r.first, a), (&r.second, b)] {
        if outside(n, part.min, part.max) {
            let msg = format!(
                "{} {} is outside {}",
                part.name,
                with_unit(n, &r.unit),
                bounds(part.min, part.max, &r.unit)
            );
            out.push(Finding::error(at.clone(), "range", msg));
        }
    }
    if r.first_greater && a <= b {
        let mut f = Finding::error(
            at,
            "order",
            format!("{} {a} must be above {} {b} in {}", r.first.name, r.second.name, show(value)),
        );
        if b > a && !outside(b, r.first.min, r.first.max) && !outside(a, r.second.min, r.second.max) {
            f = f.with_fix(
                value.clone(),
                json!(format!("{b}{}{a}", r.separator)),
                "the two numbers look swapped",
            );
        }
        out.push(f);
    }
}

fn vocabulary(r: &VocabularyRule, view: &mut Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let at = path::key(base, &r.field);
    let value = view.get(&r.field).cloned().unwrap_or(Value::Null);
    let Value::String(s) = &value else {
        if value.is_null() && r.required {
            out.push(Finding::error(
                at,
                "required",
                format!("must be one of the {} allowed values", r.values.len()),
            ));
        }
        return;
    };
    let norm = s.trim().to_ascii_lowercase();
    if r.values.iter().any(|v| v == s) {
        return;
    }
    let canonical = r
        .values
        .iter()
        .find(|v| v.to_ascii_lowercase() == norm)
        .cloned()
        .or_else(|| {
            r.aliases
                .iter()
                .find(|(a, _)| a.to_ascii_lowercase() == norm)
                .and_then(|(_, c)| c.as_str().map(str::to_owned))
        })
        .or_else(|| {
            let suffix = r.suffix.as_deref()?;
            let guess = format!("{}{suffix}", norm.replace([' ', '-'], "_"));
            r.values.iter().find(|v| v.to_ascii_lowercase() == guess).cloned()
        });
    match canonical {
        Some(c) => {
            out.push(
                Finding::warning(at, "alias", format!("{} is written {}", show(&value), show(&json!(c))))
                    .with_fix(value.clone(), json!(c), "use the canonical name"),
            );
            view.insert(r.field.clone(), json!(c));
        }
        None => {
            let shown: Vec<&str> = r.values.iter().take(8).map(String::as_str).collect();
            let more = if r.values.len() > 8 { ", …" } else { "" };
            let suffix = r.suffix.as_ref().map(|s| format!(" (names end in {s})")).unwrap_or_default();
            out.push(Finding::error(
                at,
                "vocabulary",
                format!("expected one of {}{more}{suffix}, found {}", shown.join(", "), show(&value)),
            ));
        }
    }
}

fn implies(r: &ImpliesRule, view: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let Some(cond) = view.get(&r.when.field) else { return };
    if !r.when.one_of.iter().any(|v| json_equal(v, cond)) {
        return;
    }
    let current = view.get(&r.then.field).cloned().unwrap_or(Value::Null);
    if json_equal(&current, &r.then.equals) {
        return;
    }
    let msg = r.message.clone().unwrap_or_else(|| {
        format!("when {} is {}, {} must be {}", r.when.field, show(cond), r.then.field, show(&r.then.equals))
    });
    out.push(
        Finding::error(path::key(base, &r.then.field), "implies", format!("{msg}; found {}", show(&current)))
            .with_fix(current, r.then.equals.clone(), format!("required by {} {}", r.when.field, show(cond))),
    );
}

fn format(r: &FormatRule, view: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let Some(Value::String(s)) = view.get(&r.field) else { return };
    let at = path::key(base, &r.field);
    let t = s.trim();
    let (ok, fix, expected) = match r.format {
        Format::Url => {
            let host = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"));
            let ok = host.is_some_and(|h| is_domain(h.split(['/', '?', '#']).next().unwrap_or("")));
            let fix = (host.is_none() && is_domain(t.split('/').next().unwrap_or("")))
                .then(|| format!("https://{t}"));
            (ok, fix, "a web address starting with https:// or http://")
        }
        Format::Domain => {
            let bare = t.trim_start_matches("https://").trim_start_matches("http://");
            let bare = bare.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase();
            let fix = (bare != t && is_domain(&bare)).then_some(bare);
            (is_domain(t), fix, "a domain name like example.com")
        }
    };
    if ok {
        return;
    }
    let mut f = Finding::error(at, "format", format!("expected {expected}, found {}", show(&json!(s))));
    if let Some(to) = fix {
        f = f.with_fix(json!(s), json!(to), "complete the address");
    }
    out.push(f);
}

fn is_domain(h: &str) -> bool {
    let labels: Vec<&str> = h.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

fn length(r: &LengthRule, view: &Map<String, Value>, base: &str, out: &mut Vec<Finding>) {
    let Some(Value::Array(a)) = view.get(&r.field) else { return };
    let n = a.len() as u64;
    let at = path::key(base, &r.field);
    if r.min.is_some_and(|m| n < m) || r.max.is_some_and(|m| n > m) {
        let want = bounds(r.min.map(|m| m as f64), r.max.map(|m| m as f64), "items");
        out.push(Finding::error(at, "length", format!("{} has {n} items, expected {want}", r.field)));
    }
}
