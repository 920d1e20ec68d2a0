//! Decoding host input with the JSON path of every mistake. Every host's input arrives here as
//! JSON text (the wasm layer stringifies it), so the same bad input gets the same located error
//! in every host.
//!
//! The text is parsed into a `Value` once and the type is read from that by its serde derive,
//! located by [`crate::read`].

use crate::error::{Error, Problem, Result};
use crate::read::from_value;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T> {
    from_slice(text.as_bytes())
}

/// [`from_str`] for UTF-8 bytes, as the wasm layer receives them.
pub fn from_slice<T: DeserializeOwned>(text: &[u8]) -> Result<T> {
    from_value(
        value(text).map_err(|e| Error::invalid(Problem::new("(input)", "JSON text").found(e.to_string())))?,
    )
}

/// JSON text as a `Value`. Every parse in the core goes through this one instantiation of
/// serde_json's parser (over bytes: text and byte input would each bring their own copy).
pub fn value(text: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice(text)
}

/// A number as JSON writes one (`120`, `-0.5`, `1e3`; spaces around allowed), read by the same
/// parser: `None` for anything else (`+5`, `.5`, `1,5`, `inf`) and for what no f64 can hold. One
/// float parser in the module, not two: Rust's own brought a 10 KB table.
pub fn number(text: &str) -> Option<f64> {
    match value(text.as_bytes()) {
        Ok(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        limits: Limits,
        rows: Vec<Vec<u32>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Limits {
        wave_size: u32,
        #[serde(default)]
        other: u32,
    }

    fn problem(json: &str) -> Problem {
        from_str::<Outer>(json).unwrap_err().problems()[0].clone()
    }

    #[test]
    fn errors_name_the_json_path() {
        let p = problem(r#"{"limits": {"waveSize": "x"}, "rows": []}"#);
        assert_eq!(
            p.to_string(),
            "limits.waveSize: expected a whole number from 0 to 4294967295, found \"x\""
        );
        let p = problem(r#"{"limits": {"waveSize": 5000000000}, "rows": []}"#);
        assert_eq!(
            p.to_string(),
            "limits.waveSize: expected a whole number from 0 to 4294967295, found 5000000000"
        );
        assert_eq!(problem(r#"{"limits": {"waveSize": 1}, "rows": [[1], [2, "x"]]}"#).path, "rows[1][1]");
        let p = problem(r#"{"limits": {"waveSize": 1, "colour": 2}, "rows": []}"#);
        assert_eq!((p.path.as_str(), p.found.as_deref()), ("limits.colour", Some("unknown field `colour`")));
        assert_eq!(problem(r#"{"limits": {"other": 1}, "rows": []}"#).path, "limits.waveSize");
        assert_eq!(problem(r#"{"rows": []}"#).path, "limits");
        assert_eq!(problem("7").to_string(), "(input): expected an object, found 7");
        assert_eq!(problem("\"x\"").path, "(input)");
    }

    #[test]
    fn numbers_are_read_as_json_writes_them() {
        assert_eq!(number(" 120 "), Some(120.0));
        assert_eq!(number("-42"), Some(-42.0));
        assert_eq!(number("999999999999999"), Some(999_999_999_999_999.0));
        assert_eq!(number("12345678901234567890"), Some(12_345_678_901_234_567_890.0));
        assert_eq!(number("-0"), Some(0.0));
        assert_eq!(number("-0.5"), Some(-0.5));
        assert_eq!(number("1E3"), Some(1000.0));
        assert_eq!(number("0.0032571"), Some(0.0032571));
        for not in ["", "-", "+5", ".5", "5.", "007", "1,5", "inf", "NaN", "0x10", "1e400", "\"1\"", "[1]"] {
            assert_eq!(number(not), None, "{not}");
        }
    }

    #[test]
    fn odd_keys_are_quoted_in_paths_and_bad_text_says_where() {
        let p = problem("{\"limits\": {\"waveSize\": 1}, \"rows\": [[1]], \"a\\\"b{[\": 1}");
        assert_eq!(p.path, crate::path::key("", "a\"b{["));
        let p = problem("{\"rows\": [[1]], \"limits\": {\"other\": 2,\n \"waveSize\": }}");
        assert_eq!(p.path, "(input)");
        assert!(p.found.unwrap().contains("line 2 column 14"));
    }
}
