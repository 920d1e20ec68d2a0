//! Row keys: what the ledger knows a row by.
//!
//! A row's key is its key column (canonical text) when the spec names one, else its signature.
//! Rows are keyed once per execution, when the host reads the input block; the planner then works
//! from keys and signatures alone, so it stays fast enough to run before every wave.

use crate::canonical::{self, NullTokens};
use crate::cell::Cell;
use crate::error::{Error, Problem, Result};
use crate::finding::quote;
use crate::signature;
use crate::spec::Job;
use crate::validate::{self, a1};
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRowsInput {
    pub spec: Value,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Sheet row number of `rows[0]`; default: the row after the spec's header row.
    pub first_row: Option<u32>,
}

/// The keyed input block, in sheet order. Rows that are not to be processed are listed in
/// `excluded` with the reason; those that stand for no key (blank, no key, a repeated key) have
/// the key `""`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyedRows {
    pub first_row: u64,
    pub keys: Vec<String>,
    /// Identity signatures (`SIG_v1_…`), `""` for blank rows.
    pub signatures: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<Exclusion>,
    /// Rows with the same content; in a keyed sheet they have different keys.
    #[serde(default)]
    pub duplicate_groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exclusion {
    pub sheet_row: u64,
    /// `blank`, `invalid` (the input fails validation), `no_key`, `repeated_key`.
    pub reason: String,
    #[serde(default)]
    pub cells: Vec<String>,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    pub signature: String,
    pub sheet_rows: Vec<u64>,
    pub keys: Vec<String>,
    /// The A1 ranges of the rows' identity cells.
    pub cells: Vec<String>,
}

pub fn key_rows(input: KeyRowsInput) -> Result<KeyedRows> {
    let job = Job::compile(&input.spec)?;
    let first = validate::first_row(&job, input.first_row);
    key_block(&job, &input.header, &input.rows, first)
}

pub fn key_block(job: &Job, header: &[String], rows: &[Vec<Cell>], first: u64) -> Result<KeyedRows> {
    let positions = validate::require_positions(job, header)?;
    let nulls = job.spec.input.null_tokens.as_deref().map_or_else(NullTokens::default, NullTokens::new);
    let column = |name: &str| job.columns.iter().position(|c| c == name).map(|i| positions[i]);
    let identity: Vec<usize> = job.identity.iter().filter_map(|c| column(c)).collect();
    let key_col = job.spec.input.key.as_deref().and_then(column);
    let span = |row: u64| {
        let (lo, hi) = identity.iter().fold((usize::MAX, 0), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        if lo == hi { a1(lo, row) } else { format!("{}:{}", a1(lo, row), a1(hi, row)) }
    };

    let mut out = KeyedRows {
        first_row: first,
        keys: Vec::with_capacity(rows.len()),
        signatures: Vec::with_capacity(rows.len()),
        excluded: Vec::new(),
        duplicate_groups: Vec::new(),
    };
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(identity.len());
    for (r, row) in rows.iter().enumerate() {
        let sheet_row = first + r as u64;
        let cell = |c: usize| row.get(c).unwrap_or(&Cell::Empty);
        values.clear();
        for &c in &identity {
            match canonical::value(cell(c), &nulls) {
                Ok(v) => values.push(v),
                Err(_) => {
                    // Only a number can be other than finite (NaN, ±inf).
                    let n = if let Cell::Number(n) = cell(c) { *n } else { f64::NAN };
                    problems.push(
                        Problem::new(format!("rows[{r}][{c}]"), "a finite number")
                            .found(format!("{n} in {}", a1(c, sheet_row))),
                    )
                }
            }
        }
        let key_value = key_col.map(|c| canonical::value(cell(c), &nulls));
        let blank = values.iter().all(|v| *v == canonical::Value::Empty)
            && key_value.as_ref().is_none_or(|k| k.as_ref().is_ok_and(|v| *v == canonical::Value::Empty));
        if blank {
            out.keys.push(String::new());
            out.signatures.push(String::new());
            out.excluded.push(Exclusion::new(sheet_row, "blank", vec![], "the row is empty"));
            continue;
        }
        let sig = signature::hash(&canonical::row(&values));
        let key = match (key_col, key_value) {
            (None, _) => Some(sig.clone()),
            (Some(_), Some(Ok(v))) => key_text(v),
            _ => None,
        };
        let cells: Vec<&Cell> = positions.iter().map(|&p| cell(p)).collect();
        let (_, findings) = validate::check_row(job, &cells, &nulls);
        let errors: Vec<_> = findings.iter().filter(|f| f.is_error()).collect();
        let key = match key {
            None => {
                let c = a1(key_col.unwrap_or(0), sheet_row);
                out.excluded.push(Exclusion::new(sheet_row, "no_key", vec![c], "the key cell is empty"));
                String::new()
            }
            // An invalid row keeps its key: it is never sent, but an output it already has still
            // counts as done.
            Some(k) if !errors.is_empty() => {
                let cells = errors
                    .iter()
                    .filter_map(|f| crate::path::first_key(&f.path))
                    .filter_map(|k| column(&k))
                    .map(|c| a1(c, sheet_row))
                    .collect();
                let message = format!("{}: {}", errors[0].path, errors[0].message);
                let message = if errors.len() > 1 {
                    format!("{message} (and {} more)", errors.len() - 1)
                } else {
                    message
                };
                out.excluded.push(Exclusion::new(sheet_row, "invalid", cells, &message));
                k
            }
            Some(k) => k,
        };
        out.keys.push(key);
        out.signatures.push(sig);
    }
    if !problems.is_empty() {
        return Err(Error::InvalidInput(problems));
    }
    if let Some(kc) = key_col {
        exclude_repeated_keys(&mut out, kc);
    } else {
        // Keyed by signature: a repeated key is a duplicate row; the first is processed.
        drop_repeats(&mut out);
    }
    out.duplicate_groups = groups(&out, span);
    out.excluded.sort_unstable_by_key(|e| (e.sheet_row, e.reason.clone()));
    Ok(out)
}

impl Exclusion {
    fn new(sheet_row: u64, reason: &str, cells: Vec<String>, message: &str) -> Self {
        Self { sheet_row, reason: reason.to_owned(), cells, message: message.to_owned() }
    }
}

/// A key cell as the ledger spells it; `None` when the cell is empty.
pub fn key_text(v: canonical::Value) -> Option<String> {
    match v {
        canonical::Value::Empty => None,
        canonical::Value::Bool(b) => Some(b.to_string()),
        canonical::Value::Number(n) | canonical::Value::Text(n) => Some(n),
    }
}

/// The ledger's spelling of a key cell read back from a sheet (no null tokens: a key is a key),
/// borrowed when the cell already holds it, as it does when rowbatch wrote it.
pub fn key_of_cell(cell: &Cell) -> Option<Cow<'_, str>> {
    if let Cell::Text(t) = cell
        && canonical::is_plain(t)
        && !t.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && !t.eq_ignore_ascii_case("true")
        && !t.eq_ignore_ascii_case("false")
    {
        return Some(Cow::Borrowed(t));
    }
    canonical::value(cell, &NullTokens::none()).ok().and_then(key_text).map(Cow::Owned)
}

/// The same key on rows with different content is ambiguous: which row did the output come
/// from? All of them are excluded until the sheet says. The same key with the same content is a
/// plain duplicate: the first row stands for it.
fn exclude_repeated_keys(out: &mut KeyedRows, key_col: usize) {
    let mut rows_of: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, k) in out.keys.iter().enumerate().filter(|(_, k)| !k.is_empty()) {
        rows_of.entry(k.as_str()).or_default().push(i);
    }
    let mut repeated: Vec<Vec<usize>> = rows_of.into_values().filter(|v| v.len() > 1).collect();
    repeated.sort_unstable();
    for idx in repeated {
        let same = idx.iter().all(|&i| out.signatures[i] == out.signatures[idx[0]]);
        let rows: Vec<u64> = idx.iter().map(|&i| out.first_row + i as u64).collect();
        let list = rows.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let key = out.keys[idx[0]].clone();
        let skip = if same { &idx[1..] } else { &idx[..] };
        for &i in skip {
            let row = out.first_row + i as u64;
            let message = if same {
                format!("key {} repeats row {} with the same content", quote(&key), rows[0])
            } else {
                format!("key {} is on rows {list} with different content; make the keys unique", quote(&key))
            };
            out.excluded.push(Exclusion::new(row, "repeated_key", vec![a1(key_col, row)], &message));
            out.keys[i].clear();
        }
    }
}

fn drop_repeats(out: &mut KeyedRows) {
    let mut first: HashMap<String, u64> = HashMap::default();
    for (i, k) in out.keys.iter_mut().enumerate().filter(|(_, k)| !k.is_empty()) {
        let row = out.first_row + i as u64;
        match first.get(k.as_str()) {
            Some(&orig) => {
                let message = format!("the same content as row {orig}");
                out.excluded.push(Exclusion::new(row, "duplicate", vec![], &message));
                k.clear();
            }
            None => {
                first.insert(k.clone(), row);
            }
        }
    }
}

/// Rows with the same signature, blank ones aside, in order of first appearance.
fn groups(out: &KeyedRows, span: impl Fn(u64) -> String) -> Vec<Group> {
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, s) in out.signatures.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let g = *index.entry(s.as_str()).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(i);
    }
    let key_of = |i: usize| out.keys[i].clone();
    members
        .into_iter()
        .filter(|m| m.len() > 1)
        .map(|m| {
            let rows: Vec<u64> = m.iter().map(|&i| out.first_row + i as u64).collect();
            Group {
                signature: out.signatures[m[0]].clone(),
                keys: m.iter().map(|&i| key_of(i)).collect(),
                cells: rows.iter().map(|&r| span(r)).collect(),
                sheet_rows: rows,
            }
        })
        .collect()
}
