//! What the sheets rowbatch writes look like: the output sheet's columns, the Batches sheet's,
//! and text and times as their cells hold them. Everything here is a leaf: modules that write
//! rows (ingest, reconcile, report, batch records) and the one that reads them (ledger) share
//! it without importing one another.

use crate::error::Problem;
use crate::schema::{Id, Schema};
use crate::spec::Job;

/// The columns every output row starts with (the ledger); the answer's columns follow.
pub const OUTPUT_COLUMNS: [&str; 5] = ["_key", "_signature", "_spec", "_status", "_note"];
/// The columns of the hidden progress sheet. `costUsd` is what the key's attempts so far have
/// cost (answers that failed validation, re-asks, and a re-opened failure's earlier attempts):
/// the attempt that finishes the key adds it to the row's `_costUsd`.
pub const PROGRESS_COLUMNS: [&str; 7] =
    ["key", "attempts", "notBefore", "leasedBy", "leaseUntil", "lastError", "costUsd"];

/// What every answer row carries after its fields: the quality score, the warnings left after
/// the fixes, the attempt that answered, what that request cost, and when it was answered.
pub const ANSWER_COLUMNS: [&str; 5] = ["_quality", "_warnings", "_attempt", "_costUsd", "_answeredAt"];
/// Where `_costUsd` is among [`ANSWER_COLUMNS`].
pub const ANSWER_COST: usize = 3;

/// The output sheet's `_costUsd` column (0-based): after the ledger columns and the answer's.
pub fn cost_column(job: &Job) -> usize {
    OUTPUT_COLUMNS.len() + job.answer_columns.len() + ANSWER_COST
}

/// The output sheet's header: the ledger columns, the answer's columns, and [`ANSWER_COLUMNS`].
pub fn output_columns(job: &Job) -> Vec<String> {
    let mut cols: Vec<String> = OUTPUT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    cols.extend(job.answer_columns.iter().map(|c| c.name.clone()));
    cols.extend(ANSWER_COLUMNS.iter().map(|c| (*c).to_owned()));
    cols
}

/// Why an output sheet's header (row 1, as read) is not the one this job writes, if it is not:
/// rows written under another layout would put answers under the wrong headings. Columns past
/// the job's are the person's own and are not compared.
pub fn header_mismatch(job: &Job, sheet: &str, row: &[crate::cell::Cell]) -> Option<String> {
    let want = output_columns(job);
    let text = |c: Option<&crate::cell::Cell>| match c {
        Some(crate::cell::Cell::Text(t)) => t.clone(),
        Some(crate::cell::Cell::Number(n)) => n.to_string(),
        Some(crate::cell::Cell::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    let i = (0..want.len()).find(|&i| text(row.get(i)) != want[i])?;
    let found = text(row.get(i));
    let found = if found.is_empty() { "empty".to_owned() } else { format!("\"{found}\"") };
    Some(format!(
        "rowbatch: the output sheet \"{sheet}\" was written for another layout: its column {} is {found}, where this job writes \"{}\" (the answer's fields or output.spread changed). Name a new output sheet (output.sheet), or rename or delete the old one, then start again",
        column_letters(i + 1),
        want[i]
    ))
}

/// One answer column: a top-level field (as JSON when it is an object or a list), or, for a
/// field in `output.spread`, one leaf of it (`initialVitals.HR`), found at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerColumn {
    pub name: String,
    pub path: Vec<String>,
}

/// The answer's columns: each top-level field in schema order; a spread field's objects opened
/// down to their leaves (lists stay JSON). A spread name that is not a top-level object field
/// is a problem at `output.spread[i]`.
pub(crate) fn answer_columns(
    schema: &Schema,
    spread: &[String],
    problems: &mut Vec<Problem>,
) -> Vec<AnswerColumn> {
    let top = object_fields(schema, schema.root());
    for (i, name) in spread.iter().enumerate() {
        let object = top.iter().find(|(n, _)| n == name).and_then(|(_, id)| object_id(schema, *id));
        if object.is_none() {
            let objects: Vec<&str> = top
                .iter()
                .filter(|(_, id)| object_id(schema, *id).is_some())
                .map(|(n, _)| n.as_str())
                .collect();
            problems.push(
                Problem::new(
                    format!("output.spread[{i}]"),
                    format!("an answer field that is an object ({})", objects.join(", ")),
                )
                .found(crate::finding::quote(name)),
            );
        }
    }
    let mut out = Vec::new();
    for (name, id) in top {
        let path = vec![name.clone()];
        match object_id(schema, id).filter(|_| spread.contains(&name)) {
            Some(obj) => leaves(schema, obj, path, &mut out),
            None => out.push(AnswerColumn { name, path }),
        }
    }
    out
}

fn leaves(schema: &Schema, id: Id, path: Vec<String>, out: &mut Vec<AnswerColumn>) {
    for (name, child) in object_fields(schema, id) {
        let mut p = path.clone();
        p.push(name);
        match object_id(schema, child) {
            Some(obj) => leaves(schema, obj, p, out),
            None => out.push(AnswerColumn { name: p.join("."), path: p }),
        }
    }
}

/// The object a field's schema is, through `$ref`s and a nullable `anyOf`.
fn object_id(schema: &Schema, id: Id) -> Option<Id> {
    let id = schema.resolve(id);
    let k = schema.keywords(id)?;
    let id = if k.types.is_none() && !k.any_of.is_empty() { schema.resolve(k.any_of[0]) } else { id };
    schema.keywords(id).filter(|k| !k.properties.is_empty()).map(|_| id)
}

fn object_fields(schema: &Schema, id: Id) -> Vec<(String, Id)> {
    schema.keywords(schema.resolve(id)).map(|k| k.properties.clone()).unwrap_or_default()
}

/// A value of an answer at a column's path; null where any step is missing.
pub fn at_path<'a>(answer: &'a serde_json::Value, path: &[String]) -> &'a serde_json::Value {
    path.iter().try_fold(answer, |v, k| v.get(k)).unwrap_or(&serde_json::Value::Null)
}

/// The Batches sheet's header: one row per run or provider batch.
pub const BATCH_COLUMNS: [&str; 15] = [
    "batch",
    "job",
    "spec",
    "status",
    "started",
    "finished",
    "rows",
    "done",
    "stale",
    "failed",
    "duplicates",
    "excluded",
    "pending",
    "costUsd",
    "note",
];

/// A column's letters: 1 → A, 27 → AA.
pub fn column_letters(mut n: usize) -> String {
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Dollars as the sheets hold them: to the micro-dollar.
pub fn usd(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// `2026-11-22T21:47:05.123Z` for milliseconds since the epoch (UTC, proleptic Gregorian).
pub fn iso_time(ms: f64) -> String {
    let ms = ms.max(0.0).round() as i64;
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Text safe from formula injection where it is read as CSV or Markdown (`=`, `+`, `-`, `@`
/// get an apostrophe); for cells written to a sheet, [`crate::cell::sheet_text`].
pub fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_column_is_where_answer_cost_says() {
        assert_eq!(ANSWER_COLUMNS[ANSWER_COST], "_costUsd");
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(1_795_384_025_123.0), "2026-11-22T21:47:05.123Z");
        assert_eq!(iso_time(4_107_542_399_999.0), "2100-02-28T23:59:59.999Z");
    }
}
