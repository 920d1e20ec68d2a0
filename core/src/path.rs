//! Paths into JSON values, as users read them: `initialVitals.HR`, `states[1].vitals`,
//! `["Blood Pressure"]`. Also the `at` patterns of rule packs (`states[*].vitals`).

use serde_json::Value;

pub fn key(parent: &str, key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", crate::to_json::to_string(key)),
    }
}

pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// One step of a pattern: a key, an index, or every element of a list.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
    Each,
}

/// Parses `a.b[*].c[0]`; the empty pattern is the value itself. `None` if malformed.
pub fn parse_pattern(pattern: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    if pattern.is_empty() {
        return Some(steps);
    }
    for (n, part) in pattern.split('.').enumerate() {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !name.is_empty() {
            steps.push(Step::Key(name.to_owned()));
        } else if n > 0 || rest.is_empty() {
            return None; // `a..b`, `.a`, `a.[0]`
        }
        while !rest.is_empty() {
            let close = rest.find(']').filter(|_| rest.starts_with('['))?;
            let inner = &rest[1..close];
            steps.push(if inner == "*" { Step::Each } else { Step::Index(inner.parse().ok()?) });
            rest = &rest[close + 1..];
        }
    }
    Some(steps)
}

/// Every value the pattern reaches, with its concrete path. Missing steps reach nothing.
pub fn select<'a>(root: &'a Value, steps: &[Step]) -> Vec<(String, &'a Value)> {
    let mut found = vec![(String::new(), root)];
    for step in steps {
        let mut next = Vec::new();
        for (p, v) in found {
            match (step, v) {
                (Step::Key(k), Value::Object(m)) => {
                    if let Some(child) = m.get(k) {
                        next.push((key(&p, k), child));
                    }
                }
                (Step::Index(i), Value::Array(a)) => {
                    if let Some(child) = a.get(*i) {
                        next.push((index(&p, *i), child));
                    }
                }
                (Step::Each, Value::Array(a)) => {
                    next.extend(a.iter().enumerate().map(|(i, c)| (index(&p, i), c)));
                }
                _ => {}
            }
        }
        found = next;
    }
    found
}

/// A path relative to `parent` (as [`select`] gives it from there), made concrete.
pub fn join(parent: &str, rel: &str) -> String {
    match (parent.is_empty(), rel.chars().next()) {
        (_, None) => parent.to_owned(),
        (true, _) | (false, Some('[')) => format!("{parent}{rel}"),
        (false, _) => format!("{parent}.{rel}"),
    }
}

/// Mutable access to the value at a concrete path made by [`key`] and [`index`].
pub fn get_mut<'a>(root: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let steps = parse_concrete(path)?;
    let mut v = root;
    for step in steps {
        v = match (step, v) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(&k)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The first key of a concrete path: the column of an input-row finding.
pub fn first_key(path: &str) -> Option<String> {
    match parse_concrete(path)?.into_iter().next()? {
        Step::Key(k) => Some(k),
        _ => None,
    }
}

/// `a.b[2].c` → (`a.b[2]`, `c`), when the path ends with a key.
pub fn split_last_key(path: &str) -> Option<(String, String)> {
    let mut steps = parse_concrete(path)?;
    let Some(Step::Key(last)) = steps.pop() else { return None };
    let mut parent = String::new();
    for s in steps {
        parent = match s {
            Step::Key(k) => key(&parent, &k),
            Step::Index(i) => index(&parent, i),
            Step::Each => return None,
        };
    }
    Some((parent, last))
}

// Concrete paths may hold quoted keys (`["Blood Pressure"]`), which patterns do not need.
fn parse_concrete(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => i += 1,
            b'[' if b.get(i + 1) == Some(&b'"') => {
                let mut de = serde_json::Deserializer::from_slice(&b[i + 1..]).into_iter::<String>();
                let k = de.next()?.ok()?;
                i += 1 + de.byte_offset() + 1;
                steps.push(Step::Key(k));
            }
            b'[' => {
                let close = i + path[i..].find(']')?;
                steps.push(Step::Index(path[i + 1..close].parse().ok()?));
                i = close + 1;
            }
            _ => {
                let end = path[i..].find(['.', '[']).map_or(b.len(), |e| i + e);
                steps.push(Step::Key(path[i..end].to_owned()));
                i = end;
            }
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_that_are_not_identifiers_are_quoted() {
        assert_eq!(key("", "Age"), "Age");
        assert_eq!(key("a", "HR"), "a.HR");
        assert_eq!(key("", "Blood Pressure"), "[\"Blood Pressure\"]");
        assert_eq!(index(&key("", "states"), 2), "states[2]");
    }

    #[test]
    fn patterns_select_every_match() {
        let doc = json!({"states": [{"vitals": {"HR": 1}}, {"vitals": {"HR": 2}}, {}], "x": {"y": 3}});
        let steps = parse_pattern("states[*].vitals").unwrap();
        let got: Vec<String> = select(&doc, &steps).into_iter().map(|(p, _)| p).collect();
        assert_eq!(got, ["states[0].vitals", "states[1].vitals"]);
        assert_eq!(select(&doc, &parse_pattern("x.y").unwrap())[0].1, &json!(3));
        assert_eq!(select(&doc, &parse_pattern("").unwrap()).len(), 1);
        assert_eq!(select(&doc, &parse_pattern("states[1].vitals.HR").unwrap())[0].1, &json!(2));
        for bad in ["a..b", "a[", "a[x]", "a[*]b", ".a"] {
            assert_eq!(parse_pattern(bad), None, "{bad}");
        }
    }

    #[test]
    fn concrete_paths_round_trip_to_mutable_values() {
        let mut doc = json!({"Blood Pressure": [1, {"a.b": 2}], "s": {"t": 3}});
        let p = key(&index(&key("", "Blood Pressure"), 1), "a.b");
        *get_mut(&mut doc, &p).unwrap() = json!(9);
        *get_mut(&mut doc, "s.t").unwrap() = json!(8);
        assert_eq!(doc, json!({"Blood Pressure": [1, {"a.b": 9}], "s": {"t": 8}}));
        assert!(get_mut(&mut doc, "nope.x").is_none());
    }
}
