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
        self.node_json(self.root)
    }

    fn node_json(&self, id: Id) -> Value {
        let k = match &self.nodes[id.0] {
            Node::Bool(b) => return Value::Bool(*b),
            Node::Keywords(k) => k,
        };
        let mut m = Map::new();
        let mut put = |key: &str, v: Value| {
            m.insert(key.to_owned(), v);
        };
        if let Some(t) = &k.types {
            put("type", if t.len() == 1 { json!(t[0].name()) } else { t.iter().map(|t| t.name()).collect() });
        }
        for (name, v) in &k.annotations {
            put(name, v.clone());
        }
        if let Some((pointer, _)) = &k.reference {
            put("$ref", json!(pointer));
        }
        if !k.properties.is_empty() {
            let props: Map<String, Value> =
                k.properties.iter().map(|(n, i)| (n.clone(), self.node_json(*i))).collect();
            put("properties", Value::Object(props));
        }
        if !k.required.is_empty() {
            put("required", json!(k.required));
        }
        if let Some(a) = k.additional {
            put("additionalProperties", self.node_json(a));
        }
        let numbers = [
            ("minimum", k.minimum),
            ("maximum", k.maximum),
            ("exclusiveMinimum", k.exclusive_minimum),
            ("exclusiveMaximum", k.exclusive_maximum),
            ("multipleOf", k.multiple_of),
        ];
        for (name, n) in numbers {
            if let Some(n) = n {
                put(name, number(n));
            }
        }
        let counts = [
            ("minLength", k.min_length),
            ("maxLength", k.max_length),
            ("minItems", k.min_items),
            ("maxItems", k.max_items),
        ];
        for (name, n) in counts {
            if let Some(n) = n {
                put(name, json!(n));
            }
        }
        if let Some(p) = &k.pattern {
            put("pattern", json!(p.source));
        }
        if let Some(e) = &k.enumeration {
            put("enum", json!(e));
        }
        if let Some(c) = &k.constant {
            put("const", c.clone());
        }
        if let Some(i) = k.items {
            put("items", self.node_json(i));
        }
        if !k.any_of.is_empty() {
            put("anyOf", k.any_of.iter().map(|i| self.node_json(*i)).collect());
        }
        if !k.defs.is_empty() {
            let defs: Map<String, Value> =
                k.defs.iter().map(|(n, i)| (n.clone(), self.node_json(*i))).collect();
            put("$defs", Value::Object(defs));
        }
        Value::Object(m)
    }
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
