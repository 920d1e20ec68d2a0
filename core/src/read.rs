//! Reading parsed JSON into core types, with the JSON path of every mistake.
//!
//! serde's derived deserializers are generated per type *and* per deserializer they meet (the
//! parser over text, `Value`, the buffered content of a tagged enum): ~1–4 KB of module for each.
//! Core types are read from a `Value` parsed once, through [`FromJson`] (derived by
//! `rowbatch-derive` from the same `#[serde(...)]` attributes that shape their output), so each
//! reader exists once. Values are taken, not copied: a 100,000-row plan holds 650,000 strings,
//! each moved out of the parsed tree into the typed one. Paths are only spelled out for an error.

use crate::error::{Error, Problem, Result, display_path};
use crate::finding::show;
use crate::path;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub use rowbatch_derive::FromJson;

pub type Read<T> = Result<T, Problem>;

/// Where a reader is, as a chain of steps from the root: built on the stack as readers descend,
/// turned into text (`rows[3][1]`, `limits.waveSize`) only when something is wrong there.
#[derive(Clone, Copy)]
pub enum At<'a> {
    /// The root, or a place named in full (`output.rules[0].pack`).
    Root(&'a str),
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    pub fn path(&self) -> String {
        match self {
            At::Root(p) => (*p).to_owned(),
            At::Key(parent, k) => path::key(&parent.path(), k),
            At::Index(parent, i) => path::index(&parent.path(), *i),
        }
    }

    /// A problem here: the path as users read it (`(input)` for the root).
    pub fn problem(&self, expected: &str) -> Problem {
        Problem::new(display_path(&self.path()), expected)
    }

    pub fn wrong(&self, v: &Value, expected: &str) -> Problem {
        self.problem(expected).found(show(v))
    }
}

/// A type read from JSON.
pub trait FromJson: Sized {
    fn read(v: Value, at: &At) -> Read<Self>;

    /// The value of a field that is absent: an error, but for options.
    fn absent(at: &At) -> Read<Self> {
        Err(at.problem("a value (the field is required)"))
    }
}

/// Reads a host's whole input, as every exported function takes it.
pub fn from_value<T: FromJson>(v: Value) -> Result<T> {
    T::read(v, &At::Root("")).map_err(Error::invalid)
}

/// An object's fields, taken one by one by the derived readers.
pub struct Fields<'a> {
    map: Map<String, Value>,
    at: At<'a>,
}

impl<'a> Fields<'a> {
    /// `known: None` lets fields the type does not know pass.
    pub fn new(v: Value, at: &At<'a>, known: Option<&[&str]>) -> Read<Self> {
        let Value::Object(map) = v else { return Err(at.wrong(&v, "an object")) };
        if let Some(known) = known
            && let Some(k) = map.keys().find(|k| !known.contains(&k.as_str()))
        {
            return Err(At::Key(at, k)
                .problem(&format!("one of the fields {}", known.join(", ")))
                .found(format!("unknown field `{k}`")));
        }
        Ok(Self { map, at: *at })
    }

    /// Field `key` as a `T`; absent, it is `default`, else what `T` makes of absence (`None`
    /// for an option, an error for anything else).
    pub fn field<T: FromJson>(&mut self, key: &str, default: Option<T>) -> Read<T> {
        match (self.map.remove(key), default) {
            (Some(v), _) => T::read(v, &At::Key(&self.at, key)),
            (None, Some(d)) => Ok(d),
            (None, None) => T::absent(&At::Key(&self.at, key)),
        }
    }
}

impl FromJson for String {
    fn read(v: Value, at: &At) -> Read<Self> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(at.wrong(&other, "a string")),
        }
    }
}

impl FromJson for bool {
    fn read(v: Value, at: &At) -> Read<Self> {
        v.as_bool().ok_or_else(|| at.wrong(&v, "true or false"))
    }
}

impl FromJson for f64 {
    fn read(v: Value, at: &At) -> Read<Self> {
        v.as_f64().ok_or_else(|| at.wrong(&v, "a number"))
    }
}

impl FromJson for u64 {
    fn read(v: Value, at: &At) -> Read<Self> {
        v.as_u64().ok_or_else(|| at.wrong(&v, "a whole number, 0 or more"))
    }
}

/// Narrower whole numbers, each checked against its range.
macro_rules! narrow {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(v: Value, at: &At) -> Read<Self> {
                let n = v.as_u64().ok_or_else(|| at.wrong(&v, "a whole number, 0 or more"))?;
                <$t>::try_from(n).map_err(|_| at.wrong(&v, &format!("a whole number from 0 to {}", <$t>::MAX)))
            }
        }
    )*};
}
narrow!(u16, u32, usize);

impl FromJson for Value {
    fn read(v: Value, _: &At) -> Read<Self> {
        Ok(v)
    }
}

impl FromJson for Map<String, Value> {
    fn read(v: Value, at: &At) -> Read<Self> {
        match v {
            Value::Object(m) => Ok(m),
            other => Err(at.wrong(&other, "an object")),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read(v: Value, at: &At) -> Read<Self> {
        if v.is_null() { Ok(None) } else { T::read(v, at).map(Some) }
    }

    fn absent(_: &At) -> Read<Self> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read(v: Value, at: &At) -> Read<Self> {
        let Value::Array(items) = v else { return Err(at.wrong(&v, "a list")) };
        items.into_iter().enumerate().map(|(i, item)| T::read(item, &At::Index(at, i))).collect()
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn read(v: Value, at: &At) -> Read<Self> {
        let Value::Object(m) = v else { return Err(at.wrong(&v, "an object")) };
        m.into_iter()
            .map(|(k, x)| {
                let x = T::read(x, &At::Key(at, &k))?;
                Ok((k, x))
            })
            .collect()
    }
}

/// One of `names` (an enum's variants, as written in JSON); the index of the one found.
pub fn choice(v: &Value, at: &At, names: &[&str]) -> Read<usize> {
    v.as_str().and_then(|s| names.iter().position(|n| *n == s)).ok_or_else(|| {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        at.wrong(v, &format!("one of {}", quoted.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, FromJson)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Limits {
        wave_size: u32,
        #[serde(default)]
        other: Option<String>,
        #[serde(default = "seven")]
        tries: u16,
        mode: Mode,
    }

    fn seven() -> u16 {
        7
    }

    #[derive(Debug, PartialEq, FromJson)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        Keep,
        ReProcess,
    }

    fn err<T: FromJson + std::fmt::Debug>(v: Value) -> String {
        T::read(v, &At::Root("limits")).unwrap_err().to_string()
    }

    #[test]
    fn fields_are_read_renamed_defaulted_and_checked() {
        let l =
            Limits::read(json!({"waveSize": 3, "other": null, "mode": "reProcess"}), &At::Root("")).unwrap();
        assert_eq!(l, Limits { wave_size: 3, other: None, tries: 7, mode: Mode::ReProcess });
        assert_eq!(
            err::<Limits>(json!({"waveSize": 1, "mode": "keep", "colour": 2})),
            "limits.colour: expected one of the fields waveSize, other, tries, mode, found unknown field `colour`"
        );
        assert_eq!(
            err::<Limits>(json!({"mode": "keep"})),
            "limits.waveSize: expected a value (the field is required)"
        );
        assert_eq!(
            err::<Limits>(json!({"waveSize": 1, "mode": "drop"})),
            "limits.mode: expected one of \"keep\", \"reProcess\", found \"drop\""
        );
        assert_eq!(
            err::<Limits>(json!({"waveSize": 1, "tries": 70000, "mode": "keep"})),
            "limits.tries: expected a whole number from 0 to 65535, found 70000"
        );
    }

    #[test]
    fn wrong_types_are_located_inside_lists_and_maps() {
        assert_eq!(
            err::<Vec<Vec<u64>>>(json!([[1], [2, "x"]])),
            "limits[1][1]: expected a whole number, 0 or more, found \"x\""
        );
        assert_eq!(err::<Vec<String>>(json!({"a": 1})), "limits: expected a list, found an object");
        assert_eq!(
            err::<BTreeMap<String, String>>(json!({"Blood Pressure": 1})),
            "limits[\"Blood Pressure\"]: expected a string, found 1"
        );
        assert_eq!(
            u64::read(json!(-1), &At::Root("")).unwrap_err().to_string(),
            "(input): expected a whole number, 0 or more, found -1"
        );
    }
}
