//! Reading parsed JSON into core types, with the JSON path of every mistake.
//!
//! serde's derived deserializers are generated per type *and* per deserializer they meet (the
//! parser over text, `Value`, the buffered content of a tagged enum): ~1–4 KB of module for each.
//! Core types read their JSON from a `Value` parsed once, through [`FromJson`] (derived by
//! `rowbatch-derive` from the same `#[serde(...)]` attributes that shape their output) or through
//! the reader functions below. Either way each reader exists once, and an error names its path.

use crate::error::{Error, Problem, Result, display_path};
use crate::finding::show;
use crate::path;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use rowbatch_derive::FromJson;

pub type Read<T> = Result<T, Problem>;

/// An object's fields at `at`, with every key checked against the ones the type knows.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    pub fn of(v: &'a Value, at: &str, known: &[&str]) -> Read<Self> {
        Self::new(v, at, Some(known))
    }

    /// `known: None` lets fields the type does not know pass.
    pub fn new(v: &'a Value, at: &str, known: Option<&[&str]>) -> Read<Self> {
        let Value::Object(map) = v else {
            return Err(Problem::new(display_path(at), "an object").found(show(v)));
        };
        if let Some(known) = known
            && let Some(k) = map.keys().find(|k| !known.contains(&k.as_str()))
        {
            return Err(Problem::new(path::key(at, k), format!("one of the fields {}", known.join(", ")))
                .found(format!("unknown field `{k}`")));
        }
        Ok(Self { map, at: at.to_owned() })
    }

    /// Field `key` as a `T`; absent, it is `default`, else what `T` makes of absence (`None`
    /// for an option, an error for anything else).
    pub fn field<T: FromJson>(&self, key: &str, default: Option<T>) -> Read<T> {
        match (self.map.get(key), default) {
            (Some(v), _) => T::read(v, &self.at(key)),
            (None, Some(d)) => Ok(d),
            (None, None) => T::absent(&self.at(key)),
        }
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

fn wrong(v: &Value, at: &str, expected: &str) -> Problem {
    Problem::new(display_path(at), expected).found(show(v))
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

fn required(at: &str) -> Problem {
    Problem::new(at, "a value (the field is required)")
}

/// A type read from JSON.
pub trait FromJson: Sized {
    fn read(v: &Value, at: &str) -> Read<Self>;

    /// The value of a field that is absent: an error, but for options.
    fn absent(at: &str) -> Read<Self> {
        Err(required(at))
    }
}

/// Reads a host's whole input, as every exported function takes it.
pub fn from_value<T: FromJson>(v: &Value) -> Result<T> {
    T::read(v, "").map_err(Error::invalid)
}

impl FromJson for String {
    fn read(v: &Value, at: &str) -> Read<Self> {
        string(v, at)
    }
}

impl FromJson for bool {
    fn read(v: &Value, at: &str) -> Read<Self> {
        boolean(v, at)
    }
}

impl FromJson for f64 {
    fn read(v: &Value, at: &str) -> Read<Self> {
        number(v, at)
    }
}

impl FromJson for u64 {
    fn read(v: &Value, at: &str) -> Read<Self> {
        whole(v, at)
    }
}

/// Narrower whole numbers, each checked against its range.
macro_rules! narrow {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(v: &Value, at: &str) -> Read<Self> {
                let n = whole(v, at)?;
                <$t>::try_from(n).map_err(|_| wrong(v, at, &format!("a whole number from 0 to {}", <$t>::MAX)))
            }
        }
    )*};
}
narrow!(u16, u32, usize);

impl FromJson for Value {
    fn read(v: &Value, _: &str) -> Read<Self> {
        Ok(v.clone())
    }
}

impl FromJson for Map<String, Value> {
    fn read(v: &Value, at: &str) -> Read<Self> {
        object(v, at)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read(v: &Value, at: &str) -> Read<Self> {
        if v.is_null() { Ok(None) } else { T::read(v, at).map(Some) }
    }

    fn absent(_: &str) -> Read<Self> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read(v: &Value, at: &str) -> Read<Self> {
        list(v, at, T::read)
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn read(v: &Value, at: &str) -> Read<Self> {
        let Value::Object(m) = v else { return Err(wrong(v, at, "an object")) };
        m.iter().map(|(k, x)| Ok((k.clone(), T::read(x, &path::key(at, k))?))).collect()
    }
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
