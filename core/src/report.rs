//! The run report: where every input row stands, what the answers are worth and what they cost,
//! as JSON (programs), Markdown (people) and CSV (one line per input row, for a spreadsheet).
//!
//! Everything is read from the sheets (the keyed input, the output and progress ledgers), so a
//! report made after a crash, by another execution or from a copied workbook says the same.

use crate::cell::Cell;
use crate::error::Result;
use crate::keys::KeyedRows;
use crate::layout::{iso_time, output_columns, text_cell};
use crate::ledger::{Block, Ledger, number_of, text_of};
use crate::plan::{Counts, PlanInput, plan};
use crate::run_record::run_status;
use crate::spec::Job;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

/// Rows listed per failure or exclusion reason; the CSV has them all.
const EXAMPLES: usize = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportInput {
    pub spec: Value,
    pub inputs: KeyedRows,
    /// The whole output sheet under its header (every column, not only the ledger's five).
    #[serde(default)]
    pub outputs: Block,
    #[serde(default)]
    pub progress: Block,
    #[serde(default)]
    pub run: Option<Run>,
    /// Milliseconds since the epoch.
    pub now: f64,
}

/// What the sheets cannot tell: the run the host is in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Run {
    pub id: String,
    pub started_at: f64,
    /// Every request the run paid for, re-asks and failures included.
    pub cost_usd: f64,
    pub budget_usd: Option<f64>,
    pub stopped: Option<String>,
    /// The times the run waited for a daily quota (see [`crate::quota`]): the latest ones, and
    /// how many earlier ones (and how long) no longer fit in the host's record.
    pub pauses: Vec<Pause>,
    pub earlier_pauses: u32,
    pub earlier_paused_ms: f64,
}

/// A wait for Apps Script's daily quotas: when it began, until when, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Pause {
    pub at: f64,
    pub until: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub summary: Summary,
    pub markdown: String,
    pub csv: String,
    /// The Report sheet: three columns (what, value, sheet rows), text kept as text.
    pub table: Vec<[Cell; 3]>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub job: String,
    pub spec: String,
    pub provider: String,
    pub model: String,
    pub run: Option<String>,
    /// `running`, `completed`, `completed_with_failures` or `stopped`.
    pub status: &'static str,
    pub stopped: Option<String>,
    pub started_at: Option<String>,
    pub generated_at: String,
    pub elapsed_s: Option<f64>,
    pub counts: Counts,
    pub pending: usize,
    /// Spend recorded on the output rows (the request that answered each row).
    pub rows_cost_usd: f64,
    /// The run's own spend when the host knows it (re-asks and failed attempts included).
    pub run_cost_usd: Option<f64>,
    pub budget_usd: Option<f64>,
    pub cost_per_done_row_usd: Option<f64>,
    pub quality: Quality,
    /// Answered rows by the attempt that answered them, first attempt first.
    pub attempts: Vec<Attempt>,
    pub failures: Vec<Reason>,
    pub excluded: Vec<Reason>,
    pub duplicate_groups: usize,
    /// The run's latest waits for daily quotas; their number and total time include earlier ones.
    pub pauses: Vec<Pause>,
    pub pause_count: u32,
    pub paused_s: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    /// Answered rows that carry a score.
    pub scored: usize,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    /// Rows per band: below 50, 50–69, 70–89, 90 and up.
    pub bands: [usize; 4],
    pub with_warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: u32,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub reason: String,
    pub rows: usize,
    /// The first sheet rows with this reason.
    pub sheet_rows: Vec<u64>,
}

/// One input row's line: its outcome and the answer's figures.
struct Line<'a> {
    sheet_row: u64,
    key: &'a str,
    status: &'static str,
    note: String,
    answer: Option<&'a [Cell]>,
}

struct Columns {
    quality: usize,
    warnings: usize,
    attempt: usize,
    cost: usize,
    answered: usize,
}

pub fn report(input: ReportInput) -> Result<Report> {
    let job = Job::compile(&input.spec)?;
    Ok(report_with(&job, input))
}

/// [`report`] for a compiled job (`input.spec` is not read).
pub fn report_with(job: &Job, input: ReportInput) -> Report {
    let cols = output_columns(job);
    let at = |name: &str| cols.iter().position(|c| c == name).unwrap_or(usize::MAX);
    let columns = Columns {
        quality: at("_quality"),
        warnings: at("_warnings"),
        attempt: at("_attempt"),
        cost: at("_costUsd"),
        answered: at("_answeredAt"),
    };
    let plan_input = PlanInput {
        spec: Value::Null,
        inputs: input.inputs,
        outputs: input.outputs,
        progress: input.progress,
        execution: "report".into(),
        now: input.now,
        deadline: input.now,
        timing: Default::default(),
        capacity: Default::default(),
        reserve: Default::default(),
        batch: false,
        max_rows: None,
        rows: None,
        keys: None,
    };
    let p = plan(job, &plan_input);
    let rows = &plan_input.inputs;
    let ledger = Ledger::read(&plan_input.outputs, &plan_input.progress, &job.version);
    let output_row = |key: &str| {
        let o = ledger.outputs.get(key)?;
        plan_input.outputs.rows.get((o.row - plan_input.outputs.first_row) as usize).map(Vec::as_slice)
    };

    // The sheet's rows are contiguous: one slot each, the first status placed stands.
    let mut slots: Vec<Option<Line>> = (0..rows.keys.len()).map(|_| None).collect();
    let key_at =
        |sheet_row: u64| rows.keys.get((sheet_row - rows.first_row) as usize).map_or("", String::as_str);
    let mut put = |sheet_row: u64, status: &'static str, note: String| {
        let key = key_at(sheet_row);
        let answer =
            if status == "done" || status == "stale" || status == "failed" { output_row(key) } else { None };
        let slot = &mut slots[(sheet_row - rows.first_row) as usize];
        if slot.is_none() {
            *slot = Some(Line { sheet_row, key, status, note, answer });
        }
    };
    p.done.iter().for_each(|&r| put(r, "done", String::new()));
    p.stale.iter().for_each(|s| put(s.sheet_row, "stale", "input edited after it was answered".into()));
    p.failed.iter().for_each(|f| put(f.sheet_row, "failed", f.reason.clone()));
    p.duplicates.iter().for_each(|d| put(d.sheet_row, "duplicate", format!("same content as {}", d.of)));
    p.waiting.iter().for_each(|w| {
        put(w.sheet_row, "waiting", format!("retry {} after {}", w.attempts + 1, iso_time(w.until)))
    });
    p.in_flight.iter().for_each(|f| put(f.sheet_row, "in_flight", format!("leased by {}", f.by)));
    for e in &rows.excluded {
        put(e.sheet_row, "excluded", exclusion_note(e));
    }
    p.excluded.iter().for_each(|&r| put(r, "excluded", "excluded".into()));
    // What the plan did not place is due: it would be sent next.
    for i in 0..rows.keys.len() as u64 {
        put(rows.first_row + i, "pending", String::new());
    }
    let lines: Vec<Line> = slots.into_iter().flatten().collect();

    let mut quality = Quality::default();
    let mut attempts: Vec<Attempt> = Vec::new();
    let (mut sum, mut rows_cost) = (0.0, 0.0);
    for line in &lines {
        let Some(cells) = line.answer else { continue };
        rows_cost += number_of(cells.get(columns.cost));
        if line.status == "failed" {
            continue;
        }
        if let Some(Cell::Number(q)) = cells.get(columns.quality) {
            quality.scored += 1;
            sum += q;
            quality.min = Some(quality.min.map_or(*q, |m: f64| m.min(*q)));
            quality.bands[match *q {
                q if q < 50.0 => 0,
                q if q < 70.0 => 1,
                q if q < 90.0 => 2,
                _ => 3,
            }] += 1;
        }
        if !text_of(cells.get(columns.warnings)).trim().is_empty() {
            quality.with_warnings += 1;
        }
        let attempt = number_of(cells.get(columns.attempt)).max(1.0) as u32;
        // Kept in order as it grows (a handful of entries).
        match attempts.iter().position(|a| a.attempt >= attempt) {
            Some(i) if attempts[i].attempt == attempt => attempts[i].rows += 1,
            Some(i) => attempts.insert(i, Attempt { attempt, rows: 1 }),
            None => attempts.push(Attempt { attempt, rows: 1 }),
        }
    }
    quality.mean = (quality.scored > 0).then(|| round(sum / quality.scored as f64, 1));

    let run = input.run.unwrap_or_default();
    let known_run = !run.id.is_empty();
    let c = p.counts.clone();
    let pending = c.due + c.waiting + c.in_flight;
    let cost = if known_run { run.cost_usd.max(rows_cost) } else { rows_cost };
    let summary = Summary {
        job: job.spec.name.clone(),
        spec: job.version.clone(),
        provider: job.spec.provider.kind.as_str().to_owned(),
        model: job.spec.provider.model.clone(),
        run: known_run.then(|| run.id.clone()),
        status: run_status(run.stopped.as_deref(), p.finished, c.failed),
        stopped: run.stopped.clone(),
        started_at: known_run.then(|| iso_time(run.started_at)),
        generated_at: iso_time(input.now),
        elapsed_s: known_run.then(|| round((input.now - run.started_at) / 1000.0, 1)),
        pending,
        rows_cost_usd: round(rows_cost, 6),
        run_cost_usd: known_run.then(|| round(run.cost_usd, 6)),
        budget_usd: run.budget_usd,
        cost_per_done_row_usd: (c.done > 0).then(|| round(cost / c.done as f64, 6)),
        quality,
        attempts,
        failures: reasons(lines.iter().filter(|l| l.status == "failed")),
        excluded: reasons(lines.iter().filter(|l| l.status == "excluded")),
        duplicate_groups: rows.duplicate_groups.len(),
        paused_s: round(
            (run.earlier_paused_ms + run.pauses.iter().map(|p| (p.until - p.at).max(0.0)).sum::<f64>())
                / 1000.0,
            1,
        ),
        pause_count: run.earlier_pauses + run.pauses.len() as u32,
        pauses: run.pauses.clone(),
        counts: c,
    };
    let markdown = markdown(&summary);
    let csv = csv(lines.iter(), &columns);
    let table = table(&summary);
    Report { summary, markdown, csv, table }
}

fn exclusion_note(e: &crate::keys::Exclusion) -> String {
    let what = match e.reason.as_str() {
        "blank" => "blank row",
        "invalid" => "input invalid",
        "no_key" => "no key",
        "repeated_key" => "key repeated",
        other => other,
    };
    if e.message.is_empty() { what.to_owned() } else { format!("{what}: {}", e.message) }
}

/// Lines grouped by note, the commonest first.
fn reasons<'a>(lines: impl Iterator<Item = &'a Line<'a>>) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    let mut at: rustc_hash::FxHashMap<&str, usize> = Default::default();
    for l in lines {
        let i = *at.entry(l.note.as_str()).or_insert_with(|| {
            out.push(Reason { reason: l.note.clone(), rows: 0, sheet_rows: Vec::new() });
            out.len() - 1
        });
        out[i].rows += 1;
        if out[i].sheet_rows.len() < EXAMPLES {
            out[i].sheet_rows.push(l.sheet_row);
        }
    }
    // Commonest first; ties in sheet order, as they were met.
    out.sort_by_key(|r| std::cmp::Reverse(r.rows));
    out
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Text for a Markdown table cell: one line, no pipe, no HTML.
fn md(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    crate::finding::clip(&one_line, 200)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

fn table(s: &Summary) -> Vec<[Cell; 3]> {
    let text = |v: &str| Cell::Text(crate::cell::sheet_text(v));
    let num = |v: f64| Cell::Number(v);
    let c = &s.counts;
    let mut t = vec![
        [text("rowbatch report"), text(&s.job), Cell::Empty],
        [text("status"), text(s.status), s.stopped.as_deref().map_or(Cell::Empty, text)],
        [text("model"), text(&format!("{} {}", s.provider, s.model)), text(&s.spec)],
        [text("generated"), text(&s.generated_at), s.run.as_deref().map_or(Cell::Empty, text)],
    ];
    for (name, n) in [
        ("input rows", c.rows),
        ("done", c.done),
        ("stale", c.stale),
        ("failed", c.failed),
        ("duplicates", c.duplicates),
        ("excluded", c.excluded),
        ("pending", s.pending),
    ] {
        t.push([text(name), num(n as f64), Cell::Empty]);
    }
    t.push([text("cost on output rows (USD)"), num(s.rows_cost_usd), Cell::Empty]);
    if let Some(v) = s.run_cost_usd {
        t.push([text("cost of this run (USD)"), num(v), Cell::Empty]);
    }
    if let Some(v) = s.quality.mean {
        t.push([text("mean quality"), num(v), Cell::Empty]);
    }
    if let Some(last) = s.pauses.last() {
        let what = format!("paused for daily quotas (s): last {}", crate::finding::clip(&last.reason, 500));
        t.push([text(&what), num(s.paused_s), text(&format!("{} pauses", s.pause_count))]);
    }
    for (title, list) in [("failed", &s.failures), ("excluded", &s.excluded)] {
        for r in list {
            let rows = rows_list(&r.sheet_rows, r.rows);
            t.push([
                text(&format!("{title}: {}", crate::finding::clip(&r.reason, 2000))),
                num(r.rows as f64),
                text(&rows),
            ]);
        }
    }
    t
}

fn rows_list(rows: &[u64], total: usize) -> String {
    let list = rows.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if total > rows.len() { format!("{list}, …") } else { list }
}

fn markdown(s: &Summary) -> String {
    let c = &s.counts;
    let mut m = String::new();
    let _ = writeln!(m, "# rowbatch report: {}\n", md(&s.job));
    let _ = writeln!(
        m,
        "- status: **{}**{}",
        s.status,
        s.stopped.as_deref().map(|w| format!(" ({})", md(w))).unwrap_or_default()
    );
    let _ = writeln!(m, "- model: {} {} · spec `{}`", s.provider, md(&s.model), s.spec);
    if let (Some(run), Some(at)) = (&s.run, &s.started_at) {
        let _ = writeln!(m, "- run `{}` started {at}, {} s ago", md(run), s.elapsed_s.unwrap_or(0.0));
    }
    if !s.pauses.is_empty() {
        let _ = writeln!(
            m,
            "- paused {} time(s) for Apps Script's daily quotas, {:.1} h in all",
            s.pause_count,
            s.paused_s / 3600.0
        );
        for p in s.pauses.iter().rev().take(5).rev() {
            let _ = writeln!(m, "  - {} → {}: {}", iso_time(p.at), iso_time(p.until), md(&p.reason));
        }
    }
    let _ = writeln!(m, "- generated {}\n", s.generated_at);
    let _ = writeln!(m, "| rows | count |\n|---|---:|");
    for (name, n) in [
        ("input rows", c.rows),
        ("done", c.done),
        ("stale (edited after answering)", c.stale),
        ("failed", c.failed),
        ("duplicates (not sent)", c.duplicates),
        ("excluded (not sent)", c.excluded),
        ("pending", s.pending),
    ] {
        let _ = writeln!(m, "| {name} | {n} |");
    }
    let _ = writeln!(m, "\n## Cost\n");
    if let Some(run) = s.run_cost_usd {
        let _ = writeln!(m, "- this run: ${run:.4}");
    }
    let _ = writeln!(m, "- on the output rows: ${:.4}", s.rows_cost_usd);
    if let Some(per) = s.cost_per_done_row_usd {
        let _ = writeln!(m, "- per answered row: ${per:.6}");
    }
    if let Some(b) = s.budget_usd {
        let _ = writeln!(m, "- budget: ${b:.2}");
    }
    let q = &s.quality;
    let _ = writeln!(m, "\n## Quality\n");
    if let (Some(mean), Some(min)) = (q.mean, q.min) {
        let _ = writeln!(m, "- {} answers scored: mean {mean}, lowest {min}", q.scored);
        let _ = writeln!(
            m,
            "- by score: {} below 50, {} 50–69, {} 70–89, {} 90 and up",
            q.bands[0], q.bands[1], q.bands[2], q.bands[3]
        );
    } else {
        let _ = writeln!(m, "- no answers yet");
    }
    let _ = writeln!(m, "- answers with warnings: {}", q.with_warnings);
    if !s.attempts.is_empty() {
        let by: Vec<String> =
            s.attempts.iter().map(|a| format!("{} on attempt {}", a.rows, a.attempt)).collect();
        let _ = writeln!(m, "- answered: {}", by.join(", "));
    }
    for (title, list) in [("Failures", &s.failures), ("Excluded rows", &s.excluded)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(m, "\n## {title}\n\n| reason | rows | sheet rows |\n|---|---:|---|");
        for r in list {
            let _ = writeln!(m, "| {} | {} | {} |", md(&r.reason), r.rows, rows_list(&r.sheet_rows, r.rows));
        }
    }
    if s.duplicate_groups > 0 {
        let _ = writeln!(
            m,
            "\nGroups of rows with the same content (one row of each is sent): {}",
            s.duplicate_groups
        );
    }
    m
}

/// RFC 4180 field; text that a spreadsheet would run as a formula is quoted with `'`.
fn field(s: &str) -> String {
    let s = text_cell(s);
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv<'a>(lines: impl Iterator<Item = &'a Line<'a>>, c: &Columns) -> String {
    let mut out = String::from("sheet_row,key,status,quality,attempt,cost_usd,answered_at,note\r\n");
    for l in lines {
        let cell = |i: usize| l.answer.map(|a| text_of(a.get(i))).unwrap_or_default();
        let _ = write!(out, "{},{},{},", l.sheet_row, field(l.key), l.status);
        let _ =
            write!(out, "{},{},{},", field(&cell(c.quality)), field(&cell(c.attempt)), field(&cell(c.cost)));
        let _ = write!(out, "{},{}\r\n", field(&cell(c.answered)), field(&l.note));
    }
    out
}
