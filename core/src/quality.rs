//! The quality score of a row or answer, 0–100, and its breakdown.
//!
//! `score = round(100 × filled / expected) − 25 × errors − 5 × warnings`, clamped to 0–100, where
//! `expected` counts the leaf fields the schema asks for (each list item's fields counted per
//! item) and `filled` those holding a value (not null, not blank text, not an empty list).
//! A complete row with no findings scores 100; one error costs a quarter of the score.

use crate::finding::{Finding, Severity};
use crate::schema::{Id, Schema};
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

pub const ERROR_PENALTY: u32 = 25;
pub const WARNING_PENALTY: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tally {
    pub expected: u32,
    pub filled: u32,
    pub errors: u32,
    pub warnings: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    pub score: u32,
    pub completeness: f64,
    pub filled: u32,
    pub expected: u32,
    pub errors: u32,
    pub warnings: u32,
    pub penalty: u32,
}

pub fn score(t: Tally) -> Quality {
    let completeness =
        if t.expected == 0 { 1.0 } else { f64::from(t.filled.min(t.expected)) / f64::from(t.expected) };
    let penalty = ERROR_PENALTY * t.errors + WARNING_PENALTY * t.warnings;
    let base = (completeness * 100.0).round() as u32;
    Quality {
        score: base.saturating_sub(penalty),
        completeness: (completeness * 1000.0).round() / 1000.0,
        filled: t.filled,
        expected: t.expected,
        errors: t.errors,
        warnings: t.warnings,
        penalty,
    }
}

/// The score of `doc` against `schema` with the findings made about it.
pub fn assess(schema: &Schema, doc: &Value, findings: &[Finding]) -> Quality {
    let (mut expected, mut filled) = (0, 0);
    count(schema, schema.root(), Some(doc), &mut expected, &mut filled, 0);
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count() as u32;
    score(Tally { expected, filled, errors, warnings: findings.len() as u32 - errors })
}

fn count(s: &Schema, id: Id, v: Option<&Value>, expected: &mut u32, filled: &mut u32, depth: usize) {
    let mut id = s.resolve(id);
    if let Some(k) =
        s.keywords(id).filter(|k| k.types.is_none() && k.properties.is_empty() && !k.any_of.is_empty())
    {
        id = s.resolve(k.any_of[0]);
    }
    let k = s.keywords(id);
    match (k, v) {
        (Some(k), _) if !k.properties.is_empty() && depth < 16 => {
            for (name, pid) in &k.properties {
                count(s, *pid, v.and_then(|v| v.get(name)), expected, filled, depth + 1);
            }
        }
        (Some(k), Some(Value::Array(items)))
            if !items.is_empty()
                && k.items.is_some_and(|i| {
                    s.keywords(s.resolve(i)).is_some_and(|ik| !ik.properties.is_empty())
                }) =>
        {
            for item in items {
                count(s, k.items.unwrap_or(id), Some(item), expected, filled, depth + 1);
            }
        }
        _ => {
            *expected += 1;
            let empty = match v {
                None | Some(Value::Null) => true,
                Some(Value::String(t)) => t.trim().is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            *filled += u32::from(!empty);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_formula() {
        let q = score(Tally { expected: 10, filled: 9, errors: 1, warnings: 2 });
        assert_eq!((q.score, q.penalty, q.completeness), (90 - 25 - 10, 35, 0.9));
        assert_eq!(score(Tally { expected: 4, filled: 4, errors: 0, warnings: 0 }).score, 100);
        assert_eq!(score(Tally { expected: 4, filled: 4, errors: 5, warnings: 0 }).score, 0);
        assert_eq!(score(Tally { expected: 0, filled: 0, errors: 0, warnings: 1 }).score, 95);
    }
}
