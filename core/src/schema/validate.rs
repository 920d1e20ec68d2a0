//! Validation of a JSON value against a parsed schema: every violation, each at its path.

use super::{Id, Keywords, Node, Schema, Type};
use crate::finding::{Finding, show};
use crate::path;
use serde_json::Value;

/// Deeper than any real answer; stops `{"$ref": "#"}` loops.
const MAX_DEPTH: usize = 64;

impl Schema {
    /// Every way `value` breaks the schema. `at` is the path of `value` in its document.
    pub fn validate(&self, value: &Value, at: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        self.check(self.root, value, at, 0, &mut out);
        out
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validate(value, "").is_empty()
    }

    fn check(&self, id: Id, v: &Value, at: &str, depth: usize, out: &mut Vec<Finding>) {
        if depth > MAX_DEPTH {
            out.push(Finding::error(at, "depth", "the value or the schema nests too deeply to check"));
            return;
        }
        let k = match &self.nodes[id.0] {
            Node::Bool(true) => return,
            Node::Bool(false) => {
                out.push(Finding::error(at, "false", format!("no value is allowed here, found {}", show(v))));
                return;
            }
            Node::Keywords(k) => k,
        };
        if let Some((_, target)) = &k.reference {
            self.check(*target, v, at, depth + 1, out);
        }
        if let Some(types) = &k.types
            && !types.iter().any(|t| has_type(v, *t))
        {
            let names: Vec<&str> = types.iter().map(|t| describe(*t)).collect();
            out.push(Finding::error(
                at,
                "type",
                format!("expected {}, found {}", names.join(" or "), show(v)),
            ));
            return;
        }
        if let Some(allowed) = &k.enumeration
            && !allowed.iter().any(|a| json_equal(a, v))
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            out.push(Finding::error(
                at,
                "enum",
                format!("expected one of {}, found {}", list.join(", "), show(v)),
            ));
        }
        if let Some(c) = &k.constant
            && !json_equal(c, v)
        {
            out.push(Finding::error(at, "const", format!("expected exactly {}, found {}", show(c), show(v))));
        }
        match v {
            Value::Number(n) => self.number(k, n.as_f64().unwrap_or(f64::NAN), at, out),
            Value::String(s) => string(k, s, at, out),
            Value::Array(a) => self.array(k, a, at, depth, out),
            Value::Object(m) => self.object(k, m, at, depth, out),
            _ => {}
        }
        if !k.any_of.is_empty() {
            let mut first = None;
            for alt in &k.any_of {
                let mut found = Vec::new();
                self.check(*alt, v, at, depth + 1, &mut found);
                if found.is_empty() {
                    return;
                }
                first.get_or_insert(found);
            }
            let detail = first.and_then(|f| f.into_iter().next()).map(|f| f.message).unwrap_or_default();
            out.push(Finding::error(
                at,
                "anyOf",
                format!("matches none of the {} allowed forms (the first: {detail})", k.any_of.len()),
            ));
        }
    }

    fn number(&self, k: &Keywords, n: f64, at: &str, out: &mut Vec<Finding>) {
        let checks = [
            (k.minimum, n >= k.minimum.unwrap_or(f64::NEG_INFINITY), "minimum", "at least"),
            (k.maximum, n <= k.maximum.unwrap_or(f64::INFINITY), "maximum", "at most"),
            (
                k.exclusive_minimum,
                n > k.exclusive_minimum.unwrap_or(f64::NEG_INFINITY),
                "exclusiveMinimum",
                "more than",
            ),
            (
                k.exclusive_maximum,
                n < k.exclusive_maximum.unwrap_or(f64::INFINITY),
                "exclusiveMaximum",
                "less than",
            ),
        ];
        for (limit, ok, code, words) in checks {
            if let (Some(limit), false) = (limit, ok) {
                out.push(Finding::error(at, code, format!("expected {words} {limit}, found {n}")));
            }
        }
        if let Some(m) = k.multiple_of
            && !is_multiple(n, m)
        {
            out.push(Finding::error(at, "multipleOf", format!("expected a multiple of {m}, found {n}")));
        }
    }

    fn array(&self, k: &Keywords, a: &[Value], at: &str, depth: usize, out: &mut Vec<Finding>) {
        let len = a.len() as u64;
        if let Some(min) = k.min_items.filter(|m| len < *m) {
            out.push(Finding::error(at, "minItems", format!("expected at least {min} items, found {len}")));
        }
        if let Some(max) = k.max_items.filter(|m| len > *m) {
            out.push(Finding::error(at, "maxItems", format!("expected at most {max} items, found {len}")));
        }
        if let Some(items) = k.items {
            for (i, item) in a.iter().enumerate() {
                self.check(items, item, &path::index(at, i), depth + 1, out);
            }
        }
    }

    fn object(
        &self,
        k: &Keywords,
        m: &serde_json::Map<String, Value>,
        at: &str,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        for name in &k.required {
            if !m.contains_key(name) {
                let here = path::key(at, name);
                out.push(if k.optional.contains(name) {
                    Finding::warning(here, "required", "missing; it is optional, so it counts as empty")
                        .with_fix(Value::Null, Value::Null, "add the optional field as empty")
                } else {
                    Finding::error(here, "required", "required, but missing")
                });
            }
        }
        for (name, value) in m {
            let here = path::key(at, name);
            match k.properties.iter().find(|(p, _)| p == name) {
                Some((_, id)) => self.check(*id, value, &here, depth + 1, out),
                None => match k.additional {
                    Some(extra) if matches!(self.nodes[extra.0], Node::Bool(false)) => {
                        let known: Vec<&str> = k.properties.iter().map(|(p, _)| p.as_str()).collect();
                        out.push(Finding::error(
                            here,
                            "additionalProperties",
                            format!(
                                "is not a field of this object (fields: {})",
                                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                            ),
                        ));
                    }
                    Some(extra) => self.check(extra, value, &here, depth + 1, out),
                    None => {}
                },
            }
        }
    }
}

fn string(k: &Keywords, s: &str, at: &str, out: &mut Vec<Finding>) {
    // Lengths count characters (code points), as JSON Schema does, not bytes or UTF-16 units.
    if k.min_length.is_some() || k.max_length.is_some() {
        let len = s.chars().count() as u64;
        if let Some(min) = k.min_length.filter(|m| len < *m) {
            out.push(Finding::error(
                at,
                "minLength",
                format!("expected at least {min} characters, found {len}"),
            ));
        }
        if let Some(max) = k.max_length.filter(|m| len > *m) {
            out.push(Finding::error(
                at,
                "maxLength",
                format!("expected at most {max} characters, found {len}"),
            ));
        }
    }
    if let Some(p) = &k.pattern
        && !p.regex.is_match(s)
    {
        out.push(Finding::error(
            at,
            "pattern",
            format!("expected text matching /{}/, found {}", p.source, show(&Value::from(s))),
        ));
    }
}

fn has_type(v: &Value, t: Type) -> bool {
    match (t, v) {
        (Type::Null, Value::Null)
        | (Type::Boolean, Value::Bool(_))
        | (Type::Object, Value::Object(_))
        | (Type::Array, Value::Array(_))
        | (Type::Number, Value::Number(_))
        | (Type::String, Value::String(_)) => true,
        // 1.0 is an integer in JSON Schema.
        (Type::Integer, Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn describe(t: Type) -> &'static str {
    match t {
        Type::Null => "empty (null)",
        Type::Boolean => "true or false",
        Type::Object => "an object",
        Type::Array => "a list",
        Type::Number => "a number",
        Type::Integer => "a whole number",
        Type::String => "text",
    }
}

fn is_multiple(n: f64, m: f64) -> bool {
    let q = n / m;
    if !q.is_finite() {
        return false;
    }
    // Decimal multiples (0.0075 of 0.0001) are not exact in binary; allow rounding error.
    (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
}

/// JSON equality as JSON Schema has it: numbers by value (1 == 1.0), objects by content.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
