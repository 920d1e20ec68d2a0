//! Reading parsed JSON into core types: serde's derives, with the JSON path of every mistake
//! (serde_path_to_error) and serde's wording turned into the words users read elsewhere in
//! rowbatch: `limits.waveSize: expected a whole number from 0 to 4294967295, found "x"`.
//!
//! Values are taken, not copied: serde_json's `Value` deserializer moves each string out of the
//! parsed tree into the typed one (a 100,000-row plan holds 650,000 of them).

use crate::error::{Error, Problem, Result, display_path};
use crate::finding::{quote, show};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

pub type Read<T> = Result<T, Problem>;

/// Reads a host's whole input, as every exported function takes it.
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T> {
    at("", v).map_err(Error::invalid)
}

/// `v` as a `T`; a mistake is located under `root` (`prices`, `output.rules[0].pack`).
pub fn at<T: DeserializeOwned>(root: &str, v: Value) -> Read<T> {
    serde_path_to_error::deserialize(v).map_err(|e| problem(located(root, e.path()), &e.inner().to_string()))
}

/// Marks the path inside a value read by a hand-written deserializer (a rule, read once its
/// `kind` is known), so the mistake keeps its place: `rules[0].second.name`, not `rules[0]`.
const INNER: char = '\u{1}';

/// `v` as a `T` inside a hand-written deserializer, at `root` within the value it reads.
pub(crate) fn nested<T: DeserializeOwned, E: serde::de::Error>(root: &str, v: Value) -> Result<T, E> {
    serde_path_to_error::deserialize(v)
        .map_err(|e| E::custom(format_args!("{INNER}{}{INNER}{}", located(root, e.path()), e.inner())))
}

fn located(root: &str, at: &serde_path_to_error::Path) -> String {
    let mut path = root.to_owned();
    for segment in at.iter() {
        path = match segment {
            Segment::Seq { index } => crate::path::index(&path, *index),
            Segment::Map { key } => crate::path::key(&path, key),
            Segment::Enum { .. } | Segment::Unknown => path,
        };
    }
    path
}

fn problem(mut path: String, message: &str) -> Problem {
    let mut message = message.trim();
    if let Some((inner, rest)) = message.strip_prefix(INNER).and_then(|m| m.split_once(INNER)) {
        path = match inner.chars().next() {
            None => path,
            Some('[') => path + inner,
            Some(_) if path.is_empty() => inner.to_owned(),
            Some(_) => format!("{path}.{inner}"),
        };
        message = rest;
    }
    if let Some(field) = ticked(message.strip_prefix("missing field ")) {
        return Problem::new(
            display_path(&crate::path::key(&path, field)),
            "a value (the field is required)",
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // serde_path_to_error's path already ends at the unknown field.
        let field = ticked(Some(rest)).unwrap_or_default();
        let known = names(rest.split_once(", expected ").map_or("", |(_, k)| k));
        let expected = if known.is_empty() {
            "no other field".to_owned()
        } else {
            format!("one of the fields {}", known.join(", "))
        };
        return Problem::new(display_path(&path), expected).found(format!("unknown field `{field}`"));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let found = ticked(Some(rest)).unwrap_or_default();
        let known: Vec<String> =
            names(rest.split_once(", expected ").map_or("", |(_, k)| k)).into_iter().map(quote).collect();
        return Problem::new(display_path(&path), format!("one of {}", known.join(", "))).found(quote(found));
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some((found, expected)) =
            message.strip_prefix(prefix).and_then(|m| m.rsplit_once(", expected "))
        {
            return Problem::new(display_path(&path), words(expected)).found(unexpected(found));
        }
    }
    Problem::new(display_path(&path), message.to_owned())
}

/// The text between the first pair of backticks.
fn ticked(s: Option<&str>) -> Option<&str> {
    let s = s?.strip_prefix('`')?;
    s.split_once('`').map(|(name, _)| name)
}

/// `` `a`, `b` `` or `` one of `a`, `b` `` as the names.
fn names(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// What serde expected, as rowbatch says it.
fn words(expected: &str) -> String {
    let whole = |max: u64| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => whole(u8::MAX.into()),
        "u16" => whole(u16::MAX.into()),
        "u32" => whole(u32::MAX.into()),
        "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "f64" | "f32" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "an object".to_owned(),
        e if e.starts_with("struct ") => "an object".to_owned(),
        e if e.starts_with("variant identifier") || e.starts_with("enum ") => {
            "one of the listed words".to_owned()
        }
        other => other.to_owned(),
    }
}

/// serde's `Unexpected` (`string "x"`, `integer `5``, `map`) as the value it was.
fn unexpected(found: &str) -> String {
    if let Some(s) = found.strip_prefix("string ") {
        let text: String = serde_json::from_str(s).unwrap_or_else(|_| s.to_owned());
        return show(&Value::String(text));
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = found.strip_prefix(prefix) {
            return v.trim_matches('`').to_owned();
        }
    }
    match found {
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        "null" | "unit value" => "null".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Deserialize)]
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

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        Keep,
        ReProcess,
    }

    fn err<T: DeserializeOwned + std::fmt::Debug>(v: Value) -> String {
        at::<T>("limits", v).unwrap_err().to_string()
    }

    #[test]
    fn fields_are_read_renamed_defaulted_and_checked() {
        let l: Limits = at("", json!({"waveSize": 3, "other": null, "mode": "reProcess"})).unwrap();
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
        assert_eq!(
            err::<Limits>(json!({"waveSize": "x", "mode": "keep"})),
            "limits.waveSize: expected a whole number from 0 to 4294967295, found \"x\""
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
            at::<u64>("", json!(-1)).unwrap_err().to_string(),
            "(input): expected a whole number, 0 or more, found -1"
        );
        let long = "x".repeat(100);
        assert_eq!(
            err::<u64>(json!(long)),
            format!("limits: expected a whole number, 0 or more, found \"{}...\"", "x".repeat(57))
        );
    }
}
