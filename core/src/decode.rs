//! Decoding host input with the JSON path of every mistake. Every host's input arrives here as
//! JSON text (the wasm layer stringifies it), so the same bad input gets the same located error
//! in every host.
//!
//! serde_json says where it stopped (line and column), not which field it was in; the path is
//! recovered by scanning the text up to that point. This replaced serde_path_to_error, whose
//! wrappers around every type's deserializer cost the module 49 KB (measured at 800 KB).

use crate::error::{Error, Problem, Result};

pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    from_slice(text.as_bytes())
}

/// [`from_str`] for UTF-8 bytes, as the wasm layer receives them.
pub fn from_slice<T: serde::de::DeserializeOwned>(text: &[u8]) -> Result<T> {
    serde_json::from_slice(text).map_err(|e| {
        let message = e.to_string();
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
        // serde_json's column is the last character it read. Most errors are about the value
        // that character ends, so the scan stops before it; a missing field is reported at the
        // object's closing brace, so the scan takes the brace and ends on the key holding the
        // object, which is the place to name.
        let past = usize::from(message.starts_with("missing field"));
        let path = path_at(text, offset_of(text, e.line(), e.column() + past));
        Error::invalid(Problem::from_serde(&path, message))
    })
}

/// The byte offset of serde_json's (1-based line, column) position.
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(n) => start += n + 1,
            None => return text.len(),
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

enum Frame {
    Object { key: Option<String> },
    Array { index: usize },
}

/// The JSON path (`limits.waveSize`, `rows[3][1]`, `.` for the root) of the value being read at
/// `offset`.
fn path_at(text: &[u8], offset: usize) -> String {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let end = offset.min(text.len());
    while i < end {
        match text[i] {
            b'{' => stack.push(Frame::Object { key: None }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key }) => *key = None,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key: key @ None }) = stack.last_mut() {
                    let raw = &text[start..i.min(text.len())];
                    *key = Some(
                        serde_json::from_slice::<String>(&[b"\"", raw, b"\""].concat()).unwrap_or_default(),
                    );
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(k) } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k);
            }
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
            Frame::Object { .. } => {}
        }
    }
    if path.is_empty() { ".".to_owned() } else { path }
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
        assert_eq!((p.path.as_str(), p.expected.as_str()), ("limits.waveSize", "u32"));
        assert_eq!(problem(r#"{"limits": {"waveSize": 1}, "rows": [[1], [2, "x"]]}"#).path, "rows[1][1]");
        let p = problem(r#"{"limits": {"waveSize": 1, "colour": 2}, "rows": []}"#);
        assert_eq!((p.path.as_str(), p.found.as_deref()), ("limits.colour", Some("unknown field `colour`")));
        assert_eq!(problem(r#"{"limits": {"other": 1}, "rows": []}"#).path, "limits.waveSize");
        assert_eq!(problem(r#"{"rows": []}"#).path, "limits");
        assert_eq!(problem("[1]").path, "[0]", "a struct may be read from an array");
        assert_eq!(problem("\"x\"").path, "(input)");
    }

    #[test]
    fn escaped_keys_and_strings_do_not_confuse_the_scan() {
        let p = problem("{\"limits\": {\"waveSize\": 1}, \"rows\": [[1]], \"a\\\"b{[\": 1}");
        assert_eq!(p.path, "a\"b{[");
        let p = problem("{\"rows\": [[1]], \"limits\": {\"other\": 2,\n \"waveSize\": \"}]\\\"\"}}");
        assert_eq!(p.path, "limits.waveSize");
    }
}
