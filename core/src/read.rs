//! Reading parsed JSON into core types by hand, with the JSON path of every mistake.
//!
//! serde's derived deserializers are generated per type *and* per deserializer they meet: the
//! rule packs alone (a tagged enum, read from shipped text and from inline JSON) cost the module
//! about 65 KB of generated code. Types read from a `Value` that was already parsed go through
//! these plain functions instead: one copy of each, shared by every type.

use crate::error::Problem;
use crate::finding::show;
use crate::path;
use serde_json::{Map, Value};

pub type Read<T> = Result<T, Problem>;

/// An object's fields at `at`, with every key checked against the ones the type knows.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    pub fn of(v: &'a Value, at: &str, known: &[&str]) -> Read<Self> {
        let Value::Object(map) = v else {
            return Err(Problem::new(display(at), "an object").found(show(v)));
        };
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Problem::new(path::key(at, k), format!("one of the fields {}", known.join(", ")))
                .found(format!("unknown field `{k}`")));
        }
        Ok(Self { map, at: at.to_owned() })
    }

    /// The path of field `key`.
    pub fn at(&self, key: &str) -> String {
        path::key(&self.at, key)
    }

    /// A field that is present and not null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn req<T>(&self, key: &str, read: fn(&Value, &str) -> Read<T>) -> Read<T> {
        match self.get(key) {
            Some(v) => read(v, &self.at(key)),
            None => Err(Problem::new(self.at(key), "a value (the field is required)")),
        }
    }

    /// Absent and null are both `None`, as for serde's `Option`.
    pub fn opt<T>(&self, key: &str, read: fn(&Value, &str) -> Read<T>) -> Read<Option<T>> {
        self.get(key).map(|v| read(v, &self.at(key))).transpose()
    }

    pub fn or<T>(&self, key: &str, read: fn(&Value, &str) -> Read<T>, default: T) -> Read<T> {
        Ok(self.opt(key, read)?.unwrap_or(default))
    }

    /// Any JSON value, null included, that must be present.
    pub fn value(&self, key: &str) -> Read<Value> {
        self.map
            .get(key)
            .cloned()
            .ok_or_else(|| Problem::new(self.at(key), "a value (the field is required)"))
    }
}

fn display(at: &str) -> &str {
    if at.is_empty() { "(input)" } else { at }
}

fn wrong(v: &Value, at: &str, expected: &str) -> Problem {
    Problem::new(display(at), expected).found(show(v))
}

pub fn string(v: &Value, at: &str) -> Read<String> {
    v.as_str().map(str::to_owned).ok_or_else(|| wrong(v, at, "a string"))
}

pub fn number(v: &Value, at: &str) -> Read<f64> {
    v.as_f64().ok_or_else(|| wrong(v, at, "a number"))
}

pub fn whole(v: &Value, at: &str) -> Read<u64> {
    v.as_u64().ok_or_else(|| wrong(v, at, "a whole number, 0 or more"))
}

pub fn whole32(v: &Value, at: &str) -> Read<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| wrong(v, at, "a whole number, 0 or more"))
}

pub fn boolean(v: &Value, at: &str) -> Read<bool> {
    v.as_bool().ok_or_else(|| wrong(v, at, "true or false"))
}

pub fn object(v: &Value, at: &str) -> Read<Map<String, Value>> {
    v.as_object().cloned().ok_or_else(|| wrong(v, at, "an object"))
}

pub fn any(v: &Value, _: &str) -> Read<Value> {
    Ok(v.clone())
}

pub fn list<T>(v: &Value, at: &str, read: fn(&Value, &str) -> Read<T>) -> Read<Vec<T>> {
    let Value::Array(items) = v else { return Err(wrong(v, at, "a list")) };
    items.iter().enumerate().map(|(i, item)| read(item, &path::index(at, i))).collect()
}

pub fn strings(v: &Value, at: &str) -> Read<Vec<String>> {
    list(v, at, string)
}

pub fn values(v: &Value, at: &str) -> Read<Vec<Value>> {
    list(v, at, any)
}

/// One of `names` (an enum's variants, as written in JSON); the index of the one found.
pub fn choice(v: &Value, at: &str, names: &[&str]) -> Read<usize> {
    v.as_str().and_then(|s| names.iter().position(|n| *n == s)).ok_or_else(|| {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        wrong(v, at, &format!("one of {}", quoted.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_name_the_unknown_key_and_what_is_known() {
        let v = json!({"a": 1, "colour": 2});
        let err = Fields::of(&v, "limits", &["a", "b"]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "limits.colour: expected one of the fields a, b, found unknown field `colour`"
        );
    }

    #[test]
    fn required_optional_and_defaulted_fields() {
        let v = json!({"n": 3, "s": null});
        let f = Fields::of(&v, "", &["n", "s", "t"]).unwrap();
        assert_eq!(f.req("n", whole32).unwrap(), 3);
        assert_eq!(f.opt("s", string).unwrap(), None);
        assert_eq!(f.or("t", whole32, 7).unwrap(), 7);
        assert_eq!(
            f.req("t", string).unwrap_err().to_string(),
            "t: expected a value (the field is required)"
        );
    }

    #[test]
    fn wrong_types_are_located_inside_lists() {
        let v = json!({"xs": ["a", 2]});
        let f = Fields::of(&v, "pack", &["xs"]).unwrap();
        let err = f.req("xs", strings).unwrap_err();
        assert_eq!(err.to_string(), "pack.xs[1]: expected a string, found 2");
        let err = whole32(&json!(-1), "n").unwrap_err();
        assert_eq!(err.to_string(), "n: expected a whole number, 0 or more, found -1");
        let err = choice(&json!("x"), "kind", &["url", "domain"]).unwrap_err();
        assert_eq!(err.to_string(), "kind: expected one of \"url\", \"domain\", found \"x\"");
        assert!(Fields::of(&json!([1]), "", &[]).is_err());
    }
}
