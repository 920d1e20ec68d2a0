//! The JSON-Schema subset that provider structured outputs accept, parsed once into an arena of
//! nodes. The same tree validates values ([`validate`]) and, through [`Schema::strict`], becomes
//! the schema sent to the provider, so what we ask for and what we accept cannot disagree.
//!
//! Keywords: `type` (with unions), `properties`, `required`, `additionalProperties`, `enum`,
//! `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`,
//! `minLength`, `maxLength`, `pattern`, `items`, `minItems`, `maxItems`, `anyOf`, `$defs`,
//! local `$ref`; annotations `title`, `description`, `default`, `examples`, `format`, `$comment`,
//! `$schema`. Anything else is refused by name: a provider in strict mode would refuse it too.

mod strict;
mod validate;

use crate::error::Problem;
use crate::finding::quote;
use crate::path;
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id(usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    Integer,
    String,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "null" => Type::Null,
            "boolean" => Type::Boolean,
            "object" => Type::Object,
            "array" => Type::Array,
            "number" => Type::Number,
            "integer" => Type::Integer,
            "string" => Type::String,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::String => "string",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub regex: regex_lite::Regex,
}

#[derive(Debug, Clone, Default)]
pub struct Keywords {
    pub types: Option<Vec<Type>>,
    pub properties: Vec<(String, Id)>,
    pub required: Vec<String>,
    /// Properties made required by [`Schema::strict`] that the author left optional: missing
    /// ones are a warning with a fix (null), not an error.
    pub optional: Vec<String>,
    pub additional: Option<Id>,
    pub enumeration: Option<Vec<Value>>,
    pub constant: Option<Value>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<Pattern>,
    pub items: Option<Id>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub any_of: Vec<Id>,
    pub reference: Option<(String, Id)>,
    pub defs: Vec<(String, Id)>,
    pub annotations: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Bool(bool),
    Keywords(Box<Keywords>),
}

#[derive(Debug, Clone)]
pub struct Schema {
    nodes: Vec<Node>,
    root: Id,
}

const ANNOTATIONS: [&str; 7] =
    ["title", "description", "default", "examples", "format", "$comment", "$schema"];

impl Schema {
    /// Parses a schema, reporting every unsupported or malformed keyword with its path
    /// (prefixed by `at`, the schema's own place in the document it came from).
    pub fn parse(value: &Value, at: &str) -> Result<Schema, Vec<Problem>> {
        let mut p =
            Parser { nodes: Vec::new(), pointers: HashMap::new(), refs: Vec::new(), problems: Vec::new() };
        let root = p.node(value, at, "#");
        for (id, pointer, where_) in std::mem::take(&mut p.refs) {
            match p.pointers.get(&normalise_pointer(&pointer)) {
                Some(&target) => {
                    if let Node::Keywords(k) = &mut p.nodes[id.0] {
                        k.reference = Some((pointer, target));
                    }
                }
                None => p.problems.push(
                    Problem::new(where_, "a reference to a schema inside this one (`#`, `#/$defs/name`)")
                        .found(quote(&pointer)),
                ),
            }
        }
        if p.problems.is_empty() { Ok(Schema { nodes: p.nodes, root }) } else { Err(p.problems) }
    }

    pub fn root(&self) -> Id {
        self.root
    }

    pub fn keywords(&self, id: Id) -> Option<&Keywords> {
        match &self.nodes[id.0] {
            Node::Keywords(k) => Some(k),
            Node::Bool(_) => None,
        }
    }

    /// The schema of property `name` of the object schema `id`, following `$ref`s.
    pub fn property(&self, id: Id, name: &str) -> Option<Id> {
        let k = self.keywords(self.resolve(id))?;
        k.properties.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }

    /// Follows a node that is only a `$ref` to its target (bounded, against `$ref` cycles).
    pub fn resolve(&self, mut id: Id) -> Id {
        for _ in 0..32 {
            match self.keywords(id) {
                Some(k) if k.reference.is_some() && k.properties.is_empty() && k.types.is_none() => {
                    id = k.reference.as_ref().map_or(id, |r| r.1);
                }
                _ => break,
            }
        }
        id
    }
}

/// `#/a%20b/c` and `#/a b/c` name the same place; JSON Pointer escapes (`~0`, `~1`) are kept.
fn normalise_pointer(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = p.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape_token(t: &str) -> String {
    t.replace('~', "~0").replace('/', "~1")
}

struct Parser {
    nodes: Vec<Node>,
    pointers: HashMap<String, Id>,
    refs: Vec<(Id, String, String)>,
    problems: Vec<Problem>,
}

impl Parser {
    fn node(&mut self, v: &Value, at: &str, pointer: &str) -> Id {
        let id = Id(self.nodes.len());
        self.nodes.push(Node::Bool(true));
        self.pointers.insert(pointer.to_owned(), id);
        self.nodes[id.0] = match v {
            Value::Bool(b) => Node::Bool(*b),
            Value::Object(m) => Node::Keywords(Box::new(self.keywords(id, m, at, pointer))),
            other => {
                self.problem(at, "a schema (an object, or true/false)", other);
                Node::Bool(true)
            }
        };
        id
    }

    fn problem(&mut self, at: &str, expected: &str, found: &Value) {
        self.problems.push(Problem::new(display(at), expected).found(crate::finding::show(found)));
    }

    fn keywords(&mut self, id: Id, m: &Map<String, Value>, at: &str, pointer: &str) -> Keywords {
        let mut k = Keywords::default();
        for (name, v) in m {
            let here = path::key(at, name);
            let ptr = format!("{pointer}/{}", escape_token(name));
            match name.as_str() {
                "type" => k.types = self.types(v, &here),
                "properties" => k.properties = self.named(v, &here, &ptr, "an object of property schemas"),
                "$defs" => k.defs = self.named(v, &here, &ptr, "an object of named schemas"),
                "required" => {
                    match v.as_array().and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
                    {
                        Some(names) => k.required = names,
                        None => self.problem(&here, "a list of property names", v),
                    }
                }
                "additionalProperties" => k.additional = Some(self.node(v, &here, &ptr)),
                "items" => k.items = Some(self.node(v, &here, &ptr)),
                "anyOf" => match v.as_array().filter(|a| !a.is_empty()) {
                    Some(a) => {
                        for (i, s) in a.iter().enumerate() {
                            let child = self.node(s, &path::index(&here, i), &format!("{ptr}/{i}"));
                            k.any_of.push(child);
                        }
                    }
                    None => self.problem(&here, "a non-empty list of schemas", v),
                },
                "enum" => match v.as_array() {
                    Some(a) => k.enumeration = Some(a.clone()),
                    None => self.problem(&here, "a list of values", v),
                },
                "const" => k.constant = Some(v.clone()),
                "minimum" => k.minimum = self.number(v, &here),
                "maximum" => k.maximum = self.number(v, &here),
                "exclusiveMinimum" => k.exclusive_minimum = self.number(v, &here),
                "exclusiveMaximum" => k.exclusive_maximum = self.number(v, &here),
                "multipleOf" => {
                    k.multiple_of = self.number(v, &here).filter(|m| *m > 0.0);
                    if k.multiple_of.is_none() && v.as_f64().is_some() {
                        self.problem(&here, "a number greater than 0", v);
                    }
                }
                "minLength" => k.min_length = self.count(v, &here),
                "maxLength" => k.max_length = self.count(v, &here),
                "minItems" => k.min_items = self.count(v, &here),
                "maxItems" => k.max_items = self.count(v, &here),
                "pattern" => match v.as_str().map(|s| (s, regex_lite::Regex::new(s))) {
                    Some((s, Ok(regex))) => k.pattern = Some(Pattern { source: s.to_owned(), regex }),
                    Some((_, Err(e))) => {
                        self.problem(&here, &format!("a regular expression ({e})"), v);
                    }
                    None => self.problem(&here, "a regular expression as text", v),
                },
                "$ref" => match v.as_str() {
                    Some(r) if r.starts_with('#') => self.refs.push((id, r.to_owned(), here)),
                    _ => self.problem(&here, "a reference inside this schema, starting with #", v),
                },
                a if ANNOTATIONS.contains(&a) => k.annotations.push((a.to_owned(), v.clone())),
                _ => self.problems.push(
                    Problem::new(
                        display(&here),
                        "a keyword structured outputs support (see the schema docs)",
                    )
                    .found(format!("unsupported keyword `{name}`")),
                ),
            }
        }
        k
    }

    /// `properties` and `$defs`: an object of schemas, each parsed under its own name.
    fn named(&mut self, v: &Value, at: &str, pointer: &str, expected: &str) -> Vec<(String, Id)> {
        let Value::Object(m) = v else {
            self.problem(at, expected, v);
            return Vec::new();
        };
        m.iter()
            .map(|(name, s)| {
                (
                    name.clone(),
                    self.node(s, &path::key(at, name), &format!("{pointer}/{}", escape_token(name))),
                )
            })
            .collect()
    }

    fn types(&mut self, v: &Value, at: &str) -> Option<Vec<Type>> {
        let names: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        let parsed: Option<Vec<Type>> = names.iter().map(|n| n.as_str().and_then(Type::parse)).collect();
        if parsed.as_ref().is_none_or(Vec::is_empty) {
            self.problem(
                at,
                "a type name (string, number, integer, boolean, object, array, null) or a list of them",
                v,
            );
        }
        parsed
    }

    fn number(&mut self, v: &Value, at: &str) -> Option<f64> {
        let n = v.as_f64();
        if n.is_none() {
            self.problem(at, "a number", v);
        }
        n
    }

    fn count(&mut self, v: &Value, at: &str) -> Option<u64> {
        // 2.0 is as good as 2 (the test suite says so).
        let n = v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64));
        if n.is_none() {
            self.problem(at, "a whole number, 0 or more", v);
        }
        n
    }
}

fn display(at: &str) -> String {
    if at.is_empty() { "(schema)".to_owned() } else { at.to_owned() }
}

pub use strict::Dialect;
pub use validate::json_equal;
