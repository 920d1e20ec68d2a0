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
    Step(StepRule),
    Hold(HoldRule),
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
    /// Written where the value is missing or impossible (outside `min`–`max`), with the reason
    /// recorded on the row; a value an `implies` rule of the pack requires goes first.
    pub default: Option<f64>,
}

/// Between consecutive objects of a list (`states[*].vitals`): `field` changes by at most
/// `maxChange`, unless the later one (or the list element holding it) has a non-empty `unless`
/// field (a state's `trigger`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRule {
    pub id: Option<String>,
    pub field: String,
    pub max_change: f64,
    pub unless: Option<String>,
    #[serde(default)]
    pub unit: String,
}

/// Between consecutive objects of a list: once `when` holds, the next object keeps `then` until
/// its `until` field changes (an arrest rhythm keeps HR 0 until the rhythm changes; a state that
/// does not say its rhythm has the previous one).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HoldRule {
    pub id: Option<String>,
    pub when: Condition,
    pub then: Requirement,
    pub until: String,
    pub message: Option<String>,
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
    /// Written where the value is missing, unreadable or impossible (as `120/80`).
    pub default: Option<String>,
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
            // `unless` may sit on the list element rather than the object: not a field it checks.
            Rule::Step(r) => vec![&r.field],
            Rule::Hold(r) => vec![&r.when.field, &r.then.field, &r.until],
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
    Step,
    Hold,
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
            Kind::Step => Rule::Step(read::nested("", v)?),
            Kind::Hold => Rule::Hold(read::nested("", v)?),
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
            self.apply_sequence(doc, steps, &mut out);
        }
        out
    }

    /// `step` and `hold` rules, between consecutive objects a pattern with `[*]` reaches: for
    /// `states[*].vitals`, each state's vitals against the state before.
    fn apply_sequence(&self, doc: &Value, steps: &[Step], out: &mut Vec<Finding>) {
        let Some(each) = steps.iter().rposition(|s| *s == Step::Each) else { return };
        if !self.rules.iter().any(|r| matches!(r, Rule::Step(_) | Rule::Hold(_))) {
            return;
        }
        let inner = &steps[each + 1..];
        let items: Vec<Item> = path::select(doc, &steps[..=each])
            .into_iter()
            .map(|(at, item)| match path::select(item, inner).into_iter().next() {
                Some((rel, obj)) => (path::join(&at, &rel), item, obj.as_object()),
                None => (at, item, None),
            })
            .collect();
        // What holds in the current object, carried while its `until` field does not change.
        let mut held: Vec<Option<Value>> = vec![None; self.rules.len()];
        for pair in items.windows(2) {
            let [(prev_at, _, Some(prev)), (base, item, Some(next))] = pair else {
                held.fill(None);
                continue;
            };
            for (i, rule) in self.rules.iter().enumerate() {
                match rule {
                    Rule::Step(r) => step(r, (prev_at, prev), (base, next), item, out),
                    Rule::Hold(r) => hold(r, prev, (base, next), &mut held[i], out),
                    _ => {}
                }
            }
        }
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
                Rule::Range(r) => range(r, &view, base, self.implied(&view, &r.field).as_ref(), out),
                Rule::Pair(r) => pair(r, &view, base, out),
                Rule::Implies(r) => implies(r, &view, base, out),
                Rule::Format(r) => format(r, &view, base, out),
                Rule::Length(r) => length(r, &view, base, out),
                Rule::NonEmpty(r) => {
                    if is_empty(view.get(&r.field)) {
                        out.push(Finding::error(path::key(base, &r.field), "required", "must not be empty"));
                    }
                }
                Rule::Vocabulary(_) | Rule::Step(_) | Rule::Hold(_) => {}
            }
        }
    }

    /// The value an `implies` rule of the pack requires of `field` in this object, if any (a
    /// missing HR in an arrest rhythm is 0, not the pack's default).
    fn implied(&self, view: &Map<String, Value>, field: &str) -> Option<Value> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Implies(r) if r.then.field == field => {
                let cond = view.get(&r.when.field)?;
                r.when.one_of.iter().any(|v| json_equal(v, cond)).then(|| r.then.equals.clone())
            }
            _ => None,
        })
    }
}

/// A default as JSON: whole numbers as integers (`80`, not `80.0`).
fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 { json!(n as i64) } else { json!(n) }
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

fn range(
    r: &RangeRule,
    view: &Map<String, Value>,
    base: &str,
    implied: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let at = path::key(base, &r.field);
    let current = view.get(&r.field);
    // The default, or what an `implies` rule requires here, and why.
    let fallback = || match implied {
        Some(v) => (v.clone(), "the value the pack's rules require here".to_owned()),
        None => (number_value(r.default.unwrap_or_default()), "the pack's default".to_owned()),
    };
    let Some(n) = number(current) else {
        if r.default.is_some() && current.is_none_or(Value::is_null) {
            let (to, why) = fallback();
            let msg = format!("{} is missing: {} is used, {why}", r.field, show(&to));
            out.push(Finding::warning(at, "default", msg).with_fix(
                Value::Null,
                to,
                format!("{} was missing: {why}", r.field),
            ));
        }
        return;
    };
    if outside(n, r.min, r.max) {
        let msg =
            format!("{} {} is outside {}", r.field, with_unit(n, &r.unit), bounds(r.min, r.max, &r.unit));
        let mut f = Finding::error(at, "range", msg);
        if r.default.is_some() {
            let (to, why) = fallback();
            let reason = format!("{} {} is impossible: {why}", r.field, with_unit(n, &r.unit));
            f = f.with_fix(current.cloned().unwrap_or_default(), to, reason);
        }
        out.push(f);
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
    let at = path::key(base, &r.field);
    let Some(value) = view.get(&r.field).filter(|v| !v.is_null()) else {
        if let Some(d) = &r.default {
            let msg = format!("{} is missing: {} is used, the pack's default", r.field, show(&json!(d)));
            let why = format!("{} was missing: the pack's default", r.field);
            out.push(Finding::warning(at, "default", msg).with_fix(Value::Null, json!(d), why));
        }
        return;
    };
    // An unreadable or impossible value becomes the default, with the reason.
    let or_default = |f: Finding, what: &str| match &r.default {
        Some(d) => f.with_fix(
            value.clone(),
            json!(d),
            format!("{} {} is {what}: the pack's default", r.field, show(value)),
        ),
        None => f,
    };
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
        out.push(or_default(Finding::error(at, "format", msg), "unreadable"));
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
            out.push(or_default(Finding::error(at.clone(), "range", msg), "impossible"));
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

type At<'a> = (&'a String, &'a Map<String, Value>);

/// An object of a sequence: its path, the list element holding it, the object (if it is one).
type Item<'a> = (String, &'a Value, Option<&'a Map<String, Value>>);

/// A `step` rule between two consecutive objects; `item` is the list element holding the later.
fn step(r: &StepRule, (prev_at, prev): At, (base, next): At, item: &Value, out: &mut Vec<Finding>) {
    let (Some(a), Some(b)) = (number(prev.get(&r.field)), number(next.get(&r.field))) else { return };
    if (b - a).abs() <= r.max_change {
        return;
    }
    let unless = r.unless.as_deref();
    if unless.is_some_and(|u| !is_empty(next.get(u)) || !is_empty(item.get(u))) {
        return;
    }
    let moved = if b > a { "rises" } else { "drops" };
    let without = unless.map(|u| format!(" without a {u}")).unwrap_or_default();
    let msg = format!(
        "{} {moved} by {} from {prev_at} ({a}) to here ({b}): at most {}{without}",
        r.field,
        with_unit((b - a).abs(), &r.unit),
        with_unit(r.max_change, &r.unit),
    );
    out.push(Finding::error(path::key(base, &r.field), "step", msg));
}

/// A `hold` rule between two consecutive objects. `held` carries the `until` value in force
/// into objects that do not give their own.
fn hold(
    r: &HoldRule,
    prev: &Map<String, Value>,
    (base, next): At,
    held: &mut Option<Value>,
    out: &mut Vec<Finding>,
) {
    let own = |m: &Map<String, Value>, f: &str| m.get(f).filter(|v| !v.is_null()).cloned();
    let carried = held.take();
    let in_force = own(prev, &r.until).or_else(|| carried.clone());
    let active = match own(prev, &r.when.field) {
        Some(v) => r.when.one_of.iter().any(|w| json_equal(w, &v)),
        None => carried.is_some(),
    };
    let next_until = own(next, &r.until);
    if !active || next_until.as_ref().is_some_and(|u| Some(u) != in_force.as_ref()) {
        return;
    }
    if next_until.is_none() {
        *held = in_force.clone();
    }
    let current = next.get(&r.then.field).cloned().unwrap_or(Value::Null);
    if json_equal(&current, &r.then.equals) {
        return;
    }
    let shown = in_force.as_ref().map_or_else(|| "it".to_owned(), show);
    let msg = r.message.clone().unwrap_or_else(|| {
        format!("{} must stay {} until {} changes", r.then.field, show(&r.then.equals), r.until)
    });
    out.push(
        Finding::error(
            path::key(base, &r.then.field),
            "hold",
            format!("{msg}; {} is still {shown}, found {}", r.until, show(&current)),
        )
        .with_fix(
            current,
            r.then.equals.clone(),
            format!("held since the state before ({} {shown})", r.until),
        ),
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
