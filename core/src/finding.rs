//! Findings: what validation says about one value, located well enough to point a user at it.

use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
}

/// A change that would repair a finding. Never applied silently: `apply_fixes` applies the ones
/// asked for and returns each one it applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    pub from: Value,
    pub to: Value,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Index of the row in the block that was validated, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// Where in the row or answer: `Age`, `initialVitals.HR`, `states[1].vitals.BP`; empty for
    /// the whole value.
    pub path: String,
    /// The sheet cell (A1) the value came from, for input rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    /// Stable machine code: `type`, `required`, `maximum`, `range`, `alias`, …
    pub code: String,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn error(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            row: None,
            path: path.into(),
            cell: None,
            code: code.to_owned(),
            severity: Severity::Error,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warning(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(path, code, message) }
    }

    pub fn with_fix(mut self, from: Value, to: Value, reason: impl Into<String>) -> Self {
        self.fix = Some(Fix { from, to, reason: reason.into() });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Short, quoted rendering of a value for messages: `"abc"`, `42`, `null`, `an object`.
pub fn show(v: &Value) -> String {
    match v {
        Value::Object(_) => "an object".to_owned(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(57).collect();
            quote(&(head + "..."))
        }
        other => other.to_string(),
    }
}

/// Text in double quotes, escaped as JSON escapes it (the Debug form would pull Unicode
/// printability tables into the module).
/// At most `max` characters, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

pub fn quote(s: &str) -> String {
    crate::to_json::to_string(s)
}
