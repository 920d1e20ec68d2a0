//! The validation entry points hosts call: a spec, a block of input rows, one model answer, and
//! the fixes for either. Every finding is located (row, path, A1 cell) and every fix is explicit.

use crate::canonical::{self, NullTokens};
use crate::cell::Cell;
use crate::error::Result;
use crate::finding::{Finding, Fix, quote, show};
use crate::path;
use crate::quality::{self, Quality};
use crate::schema::{Type, json_equal};
use crate::spec::Job;
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpecInput {
    pub spec: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecReport {
    pub name: String,
    pub columns: Vec<String>,
    pub key: Option<String>,
    pub identity: Vec<String>,
    /// Written beside every output; see [`Job::version`].
    pub version: String,
    /// The output schema in its strict form: what answers are validated against.
    pub output_schema: Value,
    /// What the provider is sent: the strict form in its own subset (see
    /// [`crate::schema::Dialect`]); absent when only the prompt asks for JSON.
    pub provider_schema: Option<Value>,
    /// The constraints the provider's subset cannot carry, in words: enforced locally, and said
    /// in the prompt.
    pub left_to_validation: Vec<String>,
    /// The output sheet's header: ledger columns, answer fields, then `_quality`, `_warnings`,
    /// `_attempt`, `_costUsd`, `_answeredAt`.
    pub output_columns: Vec<String>,
    /// The static prompt prefix: its size and whether the provider will cache it.
    pub prompt: crate::prompt::PrefixReport,
    /// `limits.timeSliceSeconds` with its default applied, in ms: how long an execution works.
    pub time_slice_ms: f64,
    /// Rows a sheet grows by when a write would pass its last row (see [`GRID_STEP_ROWS`]).
    pub grid_step_rows: u32,
}

/// Sheets never grows a sheet for a write: the host inserts rows first, this many at a time (or
/// what the write needs, if more). One insert call per five full waves; 500 empty rows of a
/// 20-column output are 10,000 of the spreadsheet's 10 million cells.
pub const GRID_STEP_ROWS: u32 = 500;

pub fn check_spec(input: SpecInput) -> Result<SpecReport> {
    let job = Job::compile(&input.spec)?;
    let (provider_schema, left_to_validation) = job.provider_schema();
    Ok(SpecReport {
        provider_schema,
        left_to_validation,
        grid_step_rows: GRID_STEP_ROWS,
        name: job.spec.name.clone(),
        key: job.spec.input.key.clone(),
        columns: job.columns.clone(),
        identity: job.identity.clone(),
        output_schema: job.output_schema.to_json(),
        output_columns: crate::layout::output_columns(&job),
        prompt: crate::prompt::prefix_report(&job, &crate::prompt::prefix(&job)),
        version: job.version.clone(),
        time_slice_ms: f64::from(job.spec.limits.time_slice_seconds) * 1000.0,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RowsInput {
    pub spec: Value,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Sheet row number of `rows[0]`; default: the row after the spec's header row.
    pub first_row: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowReport {
    pub index: usize,
    pub sheet_row: u64,
    pub findings: Vec<Finding>,
    pub quality: Quality,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub rows: usize,
    pub blank: usize,
    pub valid: usize,
    pub with_errors: usize,
    pub errors: usize,
    pub warnings: usize,
    pub fixable: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowsReport {
    /// Problems with the header itself (a missing or doubled column); rows are not checked then.
    pub header: Vec<Finding>,
    /// One report per non-blank row.
    pub rows: Vec<RowReport>,
    pub blank_rows: Vec<usize>,
    pub summary: Summary,
}

pub fn validate_rows(input: RowsInput) -> Result<RowsReport> {
    let job = Job::compile(&input.spec)?;
    Ok(check_rows(&job, &input.header, &input.rows, first_row(&job, input.first_row)))
}

pub(crate) fn first_row(job: &Job, given: Option<u32>) -> u64 {
    u64::from(given.unwrap_or(job.spec.input.header_row + 1))
}

fn check_rows(job: &Job, header: &[String], rows: &[Vec<Cell>], first: u64) -> RowsReport {
    let mut report = RowsReport {
        header: Vec::new(),
        rows: Vec::new(),
        blank_rows: Vec::new(),
        summary: Summary::default(),
    };
    let positions = match positions(job, header) {
        Ok(p) => p,
        Err(findings) => {
            report.header = findings;
            return report;
        }
    };
    let nulls = job.spec.input.null_tokens.as_deref().map_or_else(NullTokens::default, NullTokens::new);
    for (r, row) in rows.iter().enumerate() {
        let sheet_row = first + r as u64;
        let cells: Vec<&Cell> = positions.iter().map(|&p| row.get(p).unwrap_or(&Cell::Empty)).collect();
        if cells.iter().all(|c| canonical::value(c, &nulls).is_ok_and(|v| v == canonical::Value::Empty)) {
            report.blank_rows.push(r);
            continue;
        }
        let (doc, findings) = check_row(job, &cells, &nulls);
        let mut findings = findings;
        for f in &mut findings {
            f.row = Some(r);
            f.cell = path::first_key(&f.path)
                .and_then(|k| job.columns.iter().position(|c| *c == k))
                .map(|i| a1(positions[i], sheet_row));
        }
        let quality = quality::assess(&job.input_schema, &doc, &findings);
        report.rows.push(RowReport { index: r, sheet_row, findings, quality });
    }
    let s = &mut report.summary;
    s.rows = rows.len();
    s.blank = report.blank_rows.len();
    for row in &report.rows {
        let errors = row.findings.iter().filter(|f| f.is_error()).count();
        s.errors += errors;
        s.warnings += row.findings.len() - errors;
        s.fixable += row.findings.iter().filter(|f| f.fix.is_some()).count();
        if errors > 0 {
            s.with_errors += 1;
        } else {
            s.valid += 1;
        }
    }
    report
}

/// [`positions`] for calls that cannot go on without every column: one problem per column.
pub(crate) fn require_positions(job: &Job, header: &[String]) -> Result<Vec<usize>> {
    positions(job, header).map_err(|findings| {
        let problem = |f: &Finding| {
            crate::error::Problem::new("header", format!("one column named {}", quote(&f.path)))
                .found(f.message.clone())
        };
        crate::error::Error::InvalidInput(findings.iter().map(problem).collect())
    })
}

/// Where each spec column sits in the header; every missing or doubled column is a finding.
pub(crate) fn positions(job: &Job, header: &[String]) -> std::result::Result<Vec<usize>, Vec<Finding>> {
    let header_row = job.spec.input.header_row;
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for col in &job.columns {
        let at: Vec<usize> =
            header.iter().enumerate().filter(|(_, h)| h.trim() == col).map(|(i, _)| i).collect();
        match at.as_slice() {
            [one] => found.push(*one),
            [] => problems.push(Finding::error(
                col.clone(),
                "missing_column",
                format!(
                    "column {} is not in the header (row {header_row}: {})",
                    quote(col),
                    header.join(", ")
                ),
            )),
            [first, second, ..] => problems.push(Finding::error(
                col.clone(),
                "duplicate_column",
                format!(
                    "column {} appears twice in the header, at {} and {}",
                    quote(col),
                    a1(*first, header_row.into()),
                    a1(*second, header_row.into())
                ),
            )),
        }
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

/// The row as the JSON object the schema checks, typed by the schema, with the findings of
/// typing it (a number stored as text, a null token).
pub(crate) fn check_row(job: &Job, cells: &[&Cell], nulls: &NullTokens) -> (Value, Vec<Finding>) {
    let schema = &job.input_schema;
    let root = schema.root();
    let required =
        schema.keywords(root).map(|k| (k.required.clone(), k.optional.clone())).unwrap_or_default();
    let mut doc = Map::new();
    let mut findings = Vec::new();
    for (col, cell) in job.columns.iter().zip(cells) {
        let types =
            schema.property(root, col).and_then(|id| schema.keywords(id)).and_then(|k| k.types.clone());
        let (value, finding) = typed(col, cell, types.as_deref(), nulls);
        findings.extend(finding);
        // An empty required cell is reported as missing, not as "null is not text".
        if value.is_null() && required.0.contains(col) && !required.1.contains(col) {
            continue;
        }
        doc.insert(col.clone(), value);
    }
    let doc = Value::Object(doc);
    for f in schema.validate(&doc, "") {
        findings.push(if f.code == "required" && f.is_error() {
            Finding { message: "required, but the cell is empty".to_owned(), ..f }
        } else {
            f
        });
    }
    for pack in &job.input_rules {
        findings.extend(pack.apply(&doc));
    }
    (doc, findings)
}

fn typed(col: &str, cell: &Cell, types: Option<&[Type]>, nulls: &NullTokens) -> (Value, Option<Finding>) {
    let allows = |t: Type| {
        types.is_none_or(|ts| ts.contains(&t) || (t == Type::Number && ts.contains(&Type::Integer)))
    };
    match cell {
        Cell::Empty => (Value::Null, None),
        Cell::Bool(b) if !allows(Type::Boolean) && allows(Type::String) => (Value::from(b.to_string()), None),
        Cell::Bool(b) => (Value::Bool(*b), None),
        Cell::Number(n) if !allows(Type::Number) && allows(Type::String) => {
            (Value::from(canonical::number(*n).unwrap_or_default()), None)
        }
        Cell::Number(n) => (serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number), None),
        Cell::Text(t) => {
            let original = Value::from(t.clone());
            match canonical::value(cell, nulls) {
                Ok(canonical::Value::Empty) if !t.trim().is_empty() => {
                    let f =
                        Finding::warning(col, "null_token", format!("{} means no value", show(&original)))
                            .with_fix(original, Value::Null, "no value is written as empty");
                    (Value::Null, Some(f))
                }
                Ok(canonical::Value::Number(n)) if !allows(Type::String) && allows(Type::Number) => {
                    let v: Value = crate::decode::value(n.as_bytes()).unwrap_or(Value::Null);
                    let f =
                        Finding::warning(col, "typed_as_text", format!("the number {n} is stored as text"))
                            .with_fix(original, v.clone(), "store the number as a number");
                    (v, Some(f))
                }
                Ok(canonical::Value::Bool(b)) if !allows(Type::String) && allows(Type::Boolean) => {
                    let f = Finding::warning(col, "typed_as_text", format!("{b} is stored as text"))
                        .with_fix(original, Value::Bool(b), "store true/false as a checkbox value");
                    (Value::Bool(b), Some(f))
                }
                _ => (original, None),
            }
        }
    }
}

/// A1 name of a cell: column index 0 is A, 26 is AA.
pub fn a1(col: usize, row: u64) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8_lossy(&letters))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnswerInput {
    pub spec: Value,
    /// The parsed answer, or the model's text (which must then be JSON).
    pub answer: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerReport {
    pub valid: bool,
    pub findings: Vec<Finding>,
    pub quality: Quality,
}

pub fn validate_answer(input: AnswerInput) -> Result<AnswerReport> {
    let job = Job::compile(&input.spec)?;
    Ok(check_answer(&job, &input.answer).1)
}

fn check_answer(job: &Job, answer: &Value) -> (Value, AnswerReport) {
    let doc = match answer {
        Value::String(text) => match crate::decode::value(text.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                let f = Finding::error("", "not_json", format!("the answer is not JSON ({e})"));
                let quality = quality::assess(&job.output_schema, &Value::Null, std::slice::from_ref(&f));
                return (Value::Null, AnswerReport { valid: false, findings: vec![f], quality });
            }
        },
        other => other.clone(),
    };
    let mut findings = job.output_schema.validate(&doc, "");
    for pack in &job.output_rules {
        findings.extend(pack.apply(&doc));
    }
    let quality = quality::assess(&job.output_schema, &doc, &findings);
    let valid = !findings.iter().any(Finding::is_error);
    (doc, AnswerReport { valid, findings, quality })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedFix {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    pub path: String,
    pub code: String,
    #[serde(flatten)]
    pub fix: Fix,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixedRows {
    /// The rows with every proposed fix applied; cells without a fix are unchanged.
    pub rows: Vec<Vec<Cell>>,
    pub applied: Vec<AppliedFix>,
    /// The rows checked again after fixing: what is left for a person.
    pub report: RowsReport,
}

pub fn fix_rows(input: RowsInput) -> Result<FixedRows> {
    let job = Job::compile(&input.spec)?;
    let first = first_row(&job, input.first_row);
    let before = check_rows(&job, &input.header, &input.rows, first);
    if !before.header.is_empty() {
        return Ok(FixedRows { rows: input.rows, applied: Vec::new(), report: before });
    }
    let positions = positions(&job, &input.header).unwrap_or_default();
    let mut rows = input.rows.clone();
    let mut applied = Vec::new();
    for row in &before.rows {
        for f in &row.findings {
            let (Some(fix), Some(col)) = (&f.fix, path::first_key(&f.path)) else { continue };
            // Input rows are flat: a fix addresses a whole cell.
            let Some(i) =
                job.columns.iter().position(|c| *c == col).filter(|_| f.path == path::key("", &col))
            else {
                continue;
            };
            let cells = &mut rows[row.index];
            if cells.len() <= positions[i] {
                cells.resize(positions[i] + 1, Cell::Empty);
            }
            cells[positions[i]] = to_cell(&fix.to);
            applied.push(AppliedFix {
                row: f.row,
                cell: f.cell.clone(),
                path: f.path.clone(),
                code: f.code.clone(),
                fix: fix.clone(),
            });
        }
    }
    let report = check_rows(&job, &input.header, &rows, first);
    Ok(FixedRows { rows, applied, report })
}

fn to_cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or_default()),
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixedAnswer {
    pub answer: Value,
    pub applied: Vec<AppliedFix>,
    pub report: AnswerReport,
}

pub fn fix_answer(input: AnswerInput) -> Result<FixedAnswer> {
    let job = Job::compile(&input.spec)?;
    Ok(fixed_answer(&job, &input.answer))
}

/// An answer with every proposed fix applied, and what is left after them.
/// Fixes can make others due (an alias fixed to an arrest rhythm makes the next state's HR 0):
/// they are applied round by round until none is left, at most this many rounds.
const FIX_ROUNDS: usize = 4;

pub(crate) fn fixed_answer(job: &Job, answer: &Value) -> FixedAnswer {
    let (mut doc, mut report) = check_answer(job, answer);
    let mut applied = Vec::new();
    for _ in 0..FIX_ROUNDS {
        let before = applied.len();
        for f in &report.findings {
            let Some(fix) = &f.fix else { continue };
            if set_if(&mut doc, &f.path, fix) {
                applied.push(AppliedFix {
                    row: None,
                    cell: None,
                    path: f.path.clone(),
                    code: f.code.clone(),
                    fix: fix.clone(),
                });
            }
        }
        if applied.len() == before {
            break;
        }
        (doc, report) = check_answer(job, &doc);
    }
    FixedAnswer { answer: doc, applied, report }
}

/// Applies a fix only where the value is still the one it was proposed for; a missing optional
/// field is added to its object.
fn set_if(doc: &mut Value, at: &str, fix: &Fix) -> bool {
    if let Some(v) = path::get_mut(doc, at) {
        if json_equal(v, &fix.from) {
            *v = fix.to.clone();
            return true;
        }
        return false;
    }
    let Some((parent, key)) = path::split_last_key(at) else { return false };
    match path::get_mut(doc, &parent) {
        Some(Value::Object(m)) if fix.from.is_null() => {
            m.insert(key, fix.to.clone());
            true
        }
        _ => false,
    }
}
