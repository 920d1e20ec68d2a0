//! The provider's form of a schema: what OpenAI's strict structured outputs (and Anthropic's
//! output format) require. Every object closes (`additionalProperties: false`) and lists every
//! property in `required`; a property the author left optional becomes a union with null.

use super::{Id, Keywords, Node, Schema, Type};
use serde_json::{Map, Value, json};

impl Schema {
    /// The strict form, as a schema that validates exactly what the provider is asked for.
    pub fn strict(&self) -> Schema {
        let mut s = self.clone();
        let closed = Id(s.nodes.len());
        s.nodes.push(Node::Bool(false));
        // Children have higher ids than their parents, so going backwards makes every copy that
        // `nullable` takes of a property node a copy of an already strict node.
        for i in (0..closed.0).rev() {
            let Node::Keywords(k) = &s.nodes[i] else { continue };
            let is_object =
                !k.properties.is_empty() || k.types.as_ref().is_some_and(|t| t.contains(&Type::Object));
            if !is_object {
                continue;
            }
            let mut k = k.clone();
            if k.types.is_none() {
                k.types = Some(vec![Type::Object]);
            }
            if k.additional.is_none() {
                k.additional = Some(closed);
            }
            for (name, id) in &mut k.properties {
                if !k.required.contains(name) {
                    *id = nullable(&mut s.nodes, *id);
                    k.optional.push(name.clone());
                    k.required.push(name.clone());
                }
            }
            s.nodes[i] = Node::Keywords(k);
        }
        s
    }

    /// The schema as JSON, in the author's property order.
    pub fn to_json(&self) -> Value {
        Emitter { schema: self, dialect: None, left_out: Vec::new() }.node(self.root, "")
    }

    /// The schema as `dialect`'s strict mode accepts it, and the constraints that had to be
    /// left out, each in words at its place in the answer (`states[].name: at least 1
    /// character`). What is left out stays enforced by local validation and re-ask; the prompt
    /// says it, so the model aims for it. Keywords a provider refuses are a 400 for every row.
    pub fn provider_json(&self, dialect: Dialect) -> (Value, Vec<String>) {
        let mut e = Emitter { schema: self, dialect: Some(dialect), left_out: Vec::new() };
        let v = e.node(self.root, "");
        (v, e.left_out)
    }
}

/// The strict structured-output subsets rowbatch sends to.
///
/// - OpenAI (`response_format.json_schema.strict`; docs, "Structured Outputs → Supported
///   schemas", 2026): strings `pattern` and `format` (the formats below); numbers `minimum`,
///   `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`; arrays `minItems`,
///   `maxItems`; `enum`, `const`, `anyOf`, `$ref`/`$defs`; `title`, `description`. Anything else
///   is "'minLength' is not permitted" (a reported 400); `default` and `examples` likewise.
/// - Anthropic (`output_config.format`; docs, "Structured outputs → JSON Schema limitations"):
///   no numeric constraints ("For 'integer' type, property 'minimum' is not supported", a
///   reported 400), no string lengths, `minItems` only 0 or 1, no `maxItems`, enums of
///   primitives only, simple regular expressions only (no lookaround, backreferences or word
///   boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

/// `format` values each provider documents; another format is left out (the stricter side).
const OPENAI_FORMATS: [&str; 9] =
    ["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"];
const ANTHROPIC_FORMATS: [&str; 10] =
    ["date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"];

struct Emitter<'a> {
    schema: &'a Schema,
    dialect: Option<Dialect>,
    left_out: Vec<String>,
}

impl Emitter<'_> {
    fn keeps(&self, keyword: &str) -> bool {
        match self.dialect {
            None => true,
            Some(Dialect::OpenAi) => !matches!(keyword, "minLength" | "maxLength"),
            Some(Dialect::Anthropic) => !matches!(
                keyword,
                "minimum"
                    | "maximum"
                    | "exclusiveMinimum"
                    | "exclusiveMaximum"
                    | "multipleOf"
                    | "minLength"
                    | "maxLength"
                    | "maxItems"
            ),
        }
    }

    fn leave_out(&mut self, at: &str, what: String) {
        let place = if at.is_empty() { "the answer" } else { at };
        self.left_out.push(format!("{place}: {what}"));
    }

    fn node(&mut self, id: Id, at: &str) -> Value {
        let schema = self.schema;
        let k = match &schema.nodes[id.0] {
            Node::Bool(b) => return Value::Bool(*b),
            Node::Keywords(k) => k,
        };
        let mut m = Map::new();
        if let Some(t) = &k.types {
            m.insert(
                "type".into(),
                if t.len() == 1 { json!(t[0].name()) } else { t.iter().map(|t| t.name()).collect() },
            );
        }
        for (name, v) in &k.annotations {
            if let Some(keep) = self.annotation(name, v, at) {
                m.insert(name.clone(), keep);
            }
        }
        if let Some((pointer, _)) = &k.reference {
            m.insert("$ref".into(), json!(pointer));
        }
        if !k.properties.is_empty() {
            let props: Map<String, Value> = k
                .properties
                .iter()
                .map(|(n, i)| (n.clone(), self.node(*i, &crate::path::key(at, n))))
                .collect();
            m.insert("properties".into(), Value::Object(props));
        }
        if !k.required.is_empty() {
            m.insert("required".into(), json!(k.required));
        }
        if let Some(a) = k.additional {
            let v = self.node(a, at);
            m.insert("additionalProperties".into(), v);
        }
        let numbers = [
            ("minimum", k.minimum, "at least"),
            ("maximum", k.maximum, "at most"),
            ("exclusiveMinimum", k.exclusive_minimum, "more than"),
            ("exclusiveMaximum", k.exclusive_maximum, "less than"),
            ("multipleOf", k.multiple_of, "a multiple of"),
        ];
        for (name, n, words) in numbers {
            let Some(n) = n else { continue };
            if self.keeps(name) {
                m.insert(name.into(), number(n));
            } else {
                self.leave_out(at, format!("{words} {}", number(n)));
            }
        }
        let counts = [
            ("minLength", k.min_length, "at least", "character"),
            ("maxLength", k.max_length, "at most", "character"),
            ("minItems", k.min_items, "at least", "item"),
            ("maxItems", k.max_items, "at most", "item"),
        ];
        for (name, n, words, unit) in counts {
            let Some(n) = n else { continue };
            let plural = if n == 1 { "" } else { "s" };
            if name == "minItems" && self.dialect == Some(Dialect::Anthropic) && n > 1 {
                // Anthropic takes 0 or 1: ask for one, check the rest locally.
                m.insert(name.into(), json!(1));
                self.leave_out(at, format!("{words} {n} {unit}{plural}"));
            } else if self.keeps(name) {
                m.insert(name.into(), json!(n));
            } else {
                self.leave_out(at, format!("{words} {n} {unit}{plural}"));
            }
        }
        if let Some(p) = &k.pattern {
            if self.dialect == Some(Dialect::Anthropic) && !simple_regex(&p.source) {
                self.leave_out(at, format!("matches the regular expression {}", p.source));
            } else {
                m.insert("pattern".into(), json!(p.source));
            }
        }
        if let Some(e) = &k.enumeration {
            let primitive = e.iter().all(|v| !v.is_object() && !v.is_array());
            if self.dialect == Some(Dialect::Anthropic) && !primitive {
                self.leave_out(at, format!("one of {}", Value::Array(e.clone())));
            } else {
                m.insert("enum".into(), json!(e));
            }
        }
        if let Some(c) = &k.constant {
            m.insert("const".into(), c.clone());
        }
        if let Some(i) = k.items {
            let v = self.node(i, &format!("{at}[]"));
            m.insert("items".into(), v);
        }
        if !k.any_of.is_empty() {
            let alts: Vec<Value> = k.any_of.iter().map(|i| self.node(*i, at)).collect();
            m.insert("anyOf".into(), Value::Array(alts));
        }
        if !k.defs.is_empty() {
            let defs: Map<String, Value> =
                k.defs.iter().map(|(n, i)| (n.clone(), self.node(*i, &format!("$defs/{n}")))).collect();
            m.insert("$defs".into(), Value::Object(defs));
        }
        Value::Object(m)
    }

    /// `title` and `description` go everywhere; a documented `format` goes to its provider;
    /// `default`, `examples`, `$comment` and `$schema` are for people and stay home.
    fn annotation(&mut self, name: &str, v: &Value, at: &str) -> Option<Value> {
        let formats: &[&str] = match self.dialect {
            None => return Some(v.clone()),
            Some(Dialect::OpenAi) => &OPENAI_FORMATS,
            Some(Dialect::Anthropic) => &ANTHROPIC_FORMATS,
        };
        match name {
            "title" | "description" => Some(v.clone()),
            "format" if v.as_str().is_some_and(|f| formats.contains(&f)) => Some(v.clone()),
            "format" => {
                self.leave_out(at, format!("in the {} format", crate::finding::show(v)));
                None
            }
            _ => None,
        }
    }
}

/// A regular expression without the features Anthropic's grammar compiler refuses:
/// lookaround, backreferences and word boundaries.
fn simple_regex(source: &str) -> bool {
    let lookaround = ["(?=", "(?!", "(?<"].iter().any(|l| source.contains(l));
    let escape = source
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\\' && (matches!(w[1], b'b' | b'B') || (w[1].is_ascii_digit() && w[1] != b'0')));
    !lookaround && !escape
}

/// Whole numbers print as integers (`0`, not `0.0`), as authors wrote them.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 { json!(n as i64) } else { json!(n) }
}

/// A node that also accepts null: a copy with `null` added to its types (and enum), or, for a
/// node without types (a `$ref`, an `anyOf`), `anyOf: [node, {type: null}]`.
fn nullable(nodes: &mut Vec<Node>, id: Id) -> Id {
    let copy = match &nodes[id.0] {
        Node::Keywords(k) if k.types.is_some() && k.reference.is_none() && k.constant.is_none() => {
            let mut k: Keywords = (**k).clone();
            if let Some(t) = k.types.as_mut().filter(|t| !t.contains(&Type::Null)) {
                t.push(Type::Null);
            }
            if let Some(e) = k.enumeration.as_mut().filter(|e| !e.contains(&Value::Null)) {
                e.push(Value::Null);
            }
            Node::Keywords(Box::new(k))
        }
        _ => {
            let null = Id(nodes.len());
            nodes.push(Node::Keywords(Box::new(Keywords {
                types: Some(vec![Type::Null]),
                ..Keywords::default()
            })));
            Node::Keywords(Box::new(Keywords { any_of: vec![id, null], ..Keywords::default() }))
        }
    };
    nodes.push(copy);
    Id(nodes.len() - 1)
}
