//! Row signatures (`SIG_v1_<32 hex>`) and the duplicate groups they reveal.
//!
//! A signature is the first 128 bits of SHA-256 over the row's canonical form
//! ([`crate::canonical`]), which starts with the version tag: the same bytes in every host, and a
//! new canonical version can never collide with an old one.

use crate::canonical::{self, NullTokens, Value};
use crate::cell::Cell;
use crate::error::{Error, Problem, Result};
use crate::finding::quote;
use serde::Deserialize;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub use crate::canonical::VERSION;

const PREFIX: &str = "SIG_v1_";

/// One row's values, already in spec order.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRowInput {
    pub values: Vec<Cell>,
    /// Text that counts as empty; defaults to [`canonical::DEFAULT_NULL_TOKENS`].
    pub null_tokens: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedRow {
    pub canonical: String,
    pub signature: String,
}

pub fn sign_row(input: SignRowInput) -> Result<SignedRow> {
    let nulls = null_tokens(input.null_tokens.as_deref());
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(input.values.len());
    for (i, cell) in input.values.iter().enumerate() {
        match canonical::value(cell, &nulls) {
            Ok(v) => values.push(v),
            Err(_) => problems.push(not_finite(format!("values[{i}]"), cell)),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    let canonical = canonical::row(&values);
    let signature = hash(&canonical);
    Ok(SignedRow { canonical, signature })
}

/// A block of sheet rows under a header, as `getValues()` returns it (header row excluded).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRowsInput {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The columns that make up a row's identity, in spec order; defaults to the whole header.
    pub columns: Option<Vec<String>>,
    pub null_tokens: Option<Vec<String>>,
    /// Sheet row number of `rows[0]`, for reporting; defaults to 2 (header in row 1).
    pub first_row: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRowsReport {
    /// One per input row, in input order.
    pub signatures: Vec<String>,
    /// Rows whose signed columns are all empty: skipped, never reported as duplicates.
    pub blank_rows: Vec<usize>,
    /// Groups of two or more non-blank rows with the same signature, in order of first appearance.
    pub duplicate_groups: Vec<DuplicateGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateGroup {
    pub signature: String,
    /// Indices into `rows`, ascending; the first one is the row that will be processed.
    pub indices: Vec<usize>,
    /// The same rows as sheet row numbers.
    pub sheet_rows: Vec<u64>,
}

/// Signs every row and groups duplicates, in time linear in the number of cells.
pub fn sign_rows(input: SignRowsInput) -> Result<SignRowsReport> {
    let positions = column_positions(&input.header, input.columns.as_deref())?;
    let nulls = null_tokens(input.null_tokens.as_deref());
    let first_row = u64::from(input.first_row.unwrap_or(2));

    let mut problems = Vec::new();
    let mut signatures = Vec::with_capacity(input.rows.len());
    let mut blank_rows = Vec::new();
    let mut groups: Vec<DuplicateGroup> = Vec::new();
    // Signature → the row that first had it, and its duplicate group once a second row has it.
    let mut seen: HashMap<String, (usize, Option<usize>)> = HashMap::with_capacity(input.rows.len());
    let mut values = Vec::with_capacity(positions.len());

    for (r, row) in input.rows.iter().enumerate() {
        values.clear();
        for &c in &positions {
            // Ragged rows (CSV, pasted TSV) read as empty past their end, as Sheets would show them.
            let cell = row.get(c).unwrap_or(&Cell::Empty);
            match canonical::value(cell, &nulls) {
                Ok(v) => values.push(v),
                Err(_) => {
                    problems.push(not_finite(format!("rows[{r}][{c}]"), cell));
                    values.push(Value::Empty);
                }
            }
        }
        let signature = hash(&canonical::row(&values));
        if values.iter().all(|v| *v == Value::Empty) {
            blank_rows.push(r);
        } else {
            match seen.get_mut(&signature) {
                None => {
                    seen.insert(signature.clone(), (r, None));
                }
                Some((_, Some(g))) => {
                    groups[*g].indices.push(r);
                    groups[*g].sheet_rows.push(first_row + r as u64);
                }
                Some((first, group @ None)) => {
                    *group = Some(groups.len());
                    groups.push(DuplicateGroup {
                        signature: signature.clone(),
                        indices: vec![*first, r],
                        sheet_rows: vec![first_row + *first as u64, first_row + r as u64],
                    });
                }
            }
        }
        signatures.push(signature);
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    Ok(SignRowsReport { signatures, blank_rows, duplicate_groups: groups })
}

/// True for text of the form this version produces.
pub fn is_signature(s: &str) -> bool {
    s.strip_prefix(PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

pub(crate) fn hash(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    let mut out = String::with_capacity(PREFIX.len() + 32);
    out.push_str(PREFIX);
    for b in &digest[..16] {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    out
}

fn null_tokens(tokens: Option<&[String]>) -> NullTokens {
    tokens.map_or_else(NullTokens::default, NullTokens::new)
}

fn column_positions(header: &[String], columns: Option<&[String]>) -> Result<Vec<usize>> {
    let Some(columns) = columns else {
        return Ok((0..header.len()).collect());
    };
    let mut problems = Vec::new();
    if columns.is_empty() {
        problems.push(Problem::new("columns", "at least one column name"));
    }
    let mut positions = Vec::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let mut found = header.iter().enumerate().filter(|(_, h)| h.trim() == name.trim());
        match (found.next(), found.next()) {
            (Some((p, _)), None) => positions.push(p),
            (None, _) => problems.push(
                Problem::new(
                    format!("columns[{i}]"),
                    format!("a column of the header ({})", header.join(", ")),
                )
                .found(quote(name)),
            ),
            (Some((p, _)), Some((q, _))) => problems.push(
                Problem::new(format!("columns[{i}]"), "a column name that appears once in the header")
                    .found(format!("{} at header[{p}] and header[{q}]", quote(name))),
            ),
        }
    }
    if problems.is_empty() { Ok(positions) } else { Err(Error::InvalidInput(problems)) }
}

fn not_finite(path: String, cell: &Cell) -> Problem {
    let found = match cell {
        Cell::Number(n) => n.to_string(),
        other => crate::finding::show(&crate::to_json::to_value(other)),
    };
    Problem::new(path, "a finite number").found(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(header: &[&str], rows: Vec<Vec<Cell>>) -> SignRowsInput {
        SignRowsInput {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
            columns: None,
            null_tokens: None,
            first_row: None,
        }
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_cell() {
        let input = rows(&["A", "B"], vec![vec![Cell::Number(1.0), Cell::Number(f64::NAN)]]);
        let err = sign_rows(input).unwrap_err();
        assert_eq!(err.to_string(), "rows[0][1]: expected a finite number, found NaN");
        let one = SignRowInput { values: vec![Cell::Number(f64::INFINITY)], null_tokens: None };
        assert_eq!(sign_row(one).unwrap_err().problems()[0].path, "values[0]");
    }

    #[test]
    fn signatures_have_the_documented_shape() {
        let s = sign_row(SignRowInput { values: vec![Cell::Text("x".into())], null_tokens: None }).unwrap();
        assert!(is_signature(&s.signature), "{}", s.signature);
        assert!(!is_signature("SIG_v1_XYZ"));
        assert!(!is_signature("SIG_abc123"));
    }
}
