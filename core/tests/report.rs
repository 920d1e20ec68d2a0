//! The run report, from sheets holding every kind of row: answered (on the first and a later
//! attempt), failed, stale, waiting for a retry, leased, duplicate, excluded and not yet sent.

use rowbatch_core::Cell;
use rowbatch_core::keys::key_block;
use rowbatch_core::ledger::Block;
use rowbatch_core::report::{Attempt, Pause, ReportInput, Run, report};
use rowbatch_core::spec::Job;
use serde_json::{Value, json};

const NOW: f64 = 1_795_384_025_000.0;

fn spec() -> Value {
    json!({
        "name": "Report | test <b>",
        "input": {
            "key": "Id",
            "schema": { "type": "object", "properties": {
                "Id": { "type": "string" }, "Text": { "type": "string", "minLength": 2 } }, "required": ["Id", "Text"] }
        },
        "output": { "schema": { "type": "object", "properties": { "answer": { "type": "string" } } } },
        "prompt": { "system": "s", "template": "{{Text}}" },
        "provider": { "kind": "openai", "model": "gpt-4o-mini" },
        "limits": { "attemptsPerRow": 3 }
    })
}

fn t(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn n(v: f64) -> Cell {
    Cell::Number(v)
}

struct Sheets {
    spec: Value,
    inputs: rowbatch_core::keys::KeyedRows,
    outputs: Block,
    progress: Block,
}

fn sheets() -> Sheets {
    let spec = spec();
    let job = Job::compile(&spec).unwrap();
    let header = vec!["Id".to_owned(), "Text".to_owned()];
    let texts = [
        ("A", "alpha"),      // 2: done, attempt 1, quality 95
        ("B", "beta"),       // 3: done, attempt 2, quality 60, a warning
        ("C", "gamma"),      // 4: failed
        ("D", "delta, new"), // 5: stale (answered for "delta")
        ("E", "epsilon"),    // 6: waiting for its second attempt
        ("F", "zeta"),       // 7: leased by another execution
        ("G", "alpha"),      // 8: same content as A under another key
        ("H", "x"),          // 9: excluded, Text too short
        ("I", "iota"),       // 10: not sent yet
        ("J", "kappa"),      // 11: failed with the same reason as C
    ];
    let rows: Vec<Vec<Cell>> = texts.iter().map(|(k, v)| vec![t(k), t(v)]).collect();
    let inputs = key_block(&job, &header, &rows, 2).unwrap();
    let sig = |i: usize| inputs.signatures[i].clone();
    let old_sig = {
        let old = key_block(&job, &header, &[vec![t("D"), t("delta")]], 2).unwrap();
        old.signatures[0].clone()
    };
    let v = &job.version;
    let reason = "answer invalid after 1 re-ask: /answer | <script>x</script>";
    // _key _signature _spec _status _note answer _quality _warnings _attempt _costUsd _answeredAt
    let outputs = Block {
        first_row: 2,
        rows: vec![
            vec![
                t("A"),
                t(&sig(0)),
                t(v),
                t("done"),
                Cell::Empty,
                t("a"),
                n(95.0),
                Cell::Empty,
                n(1.0),
                n(0.001),
                t("2026-11-22T21:00:00.000Z"),
            ],
            vec![
                t("B"),
                t(&sig(1)),
                t(v),
                t("done"),
                Cell::Empty,
                t("=b"),
                n(60.0),
                t("answer: fixed case"),
                n(2.0),
                n(0.002),
                t("2026-11-22T21:00:01.000Z"),
            ],
            vec![
                t("C"),
                t(&sig(2)),
                t(v),
                t("failed"),
                t(reason),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                n(3.0),
                n(0.0005),
                Cell::Empty,
            ],
            vec![
                t("D"),
                t(&old_sig),
                t(v),
                t("done"),
                Cell::Empty,
                t("d"),
                n(80.0),
                Cell::Empty,
                n(1.0),
                n(0.001),
                t("2026-11-22T21:00:02.000Z"),
            ],
            vec![
                t("J"),
                t(&sig(9)),
                t(v),
                t("failed"),
                t(reason),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                n(3.0),
                n(0.0005),
                Cell::Empty,
            ],
        ],
    };
    // key attempts notBefore leasedBy leaseUntil lastError
    let progress = Block {
        first_row: 2,
        rows: vec![
            vec![t("E"), n(1.0), n(NOW + 60_000.0), Cell::Empty, Cell::Empty, t("HTTP 429")],
            vec![t("F"), n(1.0), Cell::Empty, t("exec-2"), n(NOW + 100_000.0), Cell::Empty],
        ],
    };
    Sheets { spec, inputs, outputs, progress }
}

fn run(s: Sheets, run: Option<Run>) -> rowbatch_core::report::Report {
    report(ReportInput {
        spec: s.spec,
        inputs: s.inputs,
        outputs: s.outputs,
        progress: s.progress,
        run,
        now: NOW,
    })
    .unwrap()
}

#[test]
fn counts_costs_quality_and_reasons_come_from_the_sheets() {
    let r = run(sheets(), None);
    let s = &r.summary;
    assert_eq!((s.counts.rows, s.counts.done, s.counts.failed, s.counts.stale), (10, 2, 2, 1));
    assert_eq!((s.counts.duplicates, s.counts.excluded, s.pending), (1, 1, 3));
    assert_eq!(s.status, "running");
    assert_eq!(s.run, None);
    // Every output row's cost, failures included; the stale row's answer was paid for too.
    assert!((s.rows_cost_usd - 0.005).abs() < 1e-12, "{}", s.rows_cost_usd);
    assert_eq!(s.cost_per_done_row_usd, Some(0.0025));
    // Answered rows: A (95), B (60), D (80, stale but answered).
    assert_eq!(s.quality.scored, 3);
    assert_eq!(s.quality.mean, Some(78.3));
    assert_eq!(s.quality.min, Some(60.0));
    assert_eq!(s.quality.bands, [0, 1, 1, 1]);
    assert_eq!(s.quality.with_warnings, 1);
    assert_eq!(s.attempts, vec![Attempt { attempt: 1, rows: 2 }, Attempt { attempt: 2, rows: 1 }]);
    assert_eq!(s.failures.len(), 1, "one reason for C and J");
    assert_eq!((s.failures[0].rows, s.failures[0].sheet_rows.clone()), (2, vec![4, 11]));
    assert_eq!(s.excluded.len(), 1);
    assert_eq!(s.excluded[0].sheet_rows, vec![9]);
    assert!(s.excluded[0].reason.starts_with("input invalid"), "{}", s.excluded[0].reason);
}

#[test]
fn the_csv_has_one_line_per_input_row_in_sheet_order() {
    let r = run(sheets(), None);
    let lines: Vec<&str> = r.csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "sheet_row,key,status,quality,attempt,cost_usd,answered_at,note");
    assert_eq!(lines.len(), 11);
    let status: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(2).unwrap()).collect();
    assert_eq!(
        status,
        [
            "done",
            "done",
            "failed",
            "stale",
            "waiting",
            "in_flight",
            "duplicate",
            "excluded",
            "pending",
            "failed"
        ]
    );
    assert!(lines[1].starts_with("2,A,done,95,1,0.001,2026-11-22T21:00:00.000Z,"), "{}", lines[1]);
    assert!(lines[7].ends_with(",same content as A"), "{}", lines[7]);
    assert!(lines[5].contains("retry 2 after 2026-11-22T"), "{}", lines[5]);
}

#[test]
fn text_is_escaped_for_markdown_and_csv() {
    let mut s = sheets();
    s.outputs.rows[2][4] = t("=HYPERLINK(\"http://x\", \"a, b\")");
    let r = run(s, None);
    // A note that a spreadsheet would run as a formula is quoted, and the field is RFC 4180.
    assert!(r.csv.contains(",\"'=HYPERLINK(\"\"http://x\"\", \"\"a, b\"\")\"\r\n"), "{}", r.csv);
    let r = run(sheets(), None);
    assert!(r.markdown.starts_with("# rowbatch report: Report \\| test &lt;b&gt;\n"), "{}", r.markdown);
    assert!(
        r.markdown.contains(
            "| answer invalid after 1 re-ask: /answer \\| &lt;script&gt;x&lt;/script&gt; | 2 | 4, 11 |"
        ),
        "{}",
        r.markdown
    );
    assert!(!r.markdown.contains("<script>"));
}

#[test]
fn a_known_run_adds_its_spend_time_and_stop() {
    let started = NOW - 90_500.0;
    let r = run(
        sheets(),
        Some(Run {
            id: "run-1".into(),
            started_at: started,
            cost_usd: 0.009,
            budget_usd: Some(1.0),
            stopped: Some("stopped by a@b.c".into()),
            pauses: vec![Pause {
                at: NOW - 60_000.0,
                until: NOW - 60_000.0 + 7_200_000.0,
                reason: "UrlFetch quota for today used (20000 requests a day on a consumer account); resumes about 11:00 UTC"
                    .into(),
            }],
            earlier_pauses: 0,
            earlier_paused_ms: 0.0,
        }),
    );
    let s = &r.summary;
    assert_eq!(s.status, "stopped");
    assert_eq!(s.elapsed_s, Some(90.5));
    assert_eq!(s.run_cost_usd, Some(0.009));
    // Per answered row, the run's spend counts: re-asks and failed attempts are part of the price.
    assert_eq!(s.cost_per_done_row_usd, Some(0.0045));
    assert!(r.markdown.contains("- this run: $0.0090"));
    assert!(r.markdown.contains("- status: **stopped** (stopped by a@b.c)"));
    // The waits for daily quotas: listed, totalled, in the sheet too.
    assert_eq!(s.pauses.len(), 1);
    assert_eq!(s.paused_s, 7200.0);
    assert!(
        r.markdown.contains("- paused 1 time(s) for Apps Script's daily quotas, 2.0 h in all"),
        "{}",
        r.markdown
    );
    assert!(r.markdown.contains("UrlFetch quota for today used"));
    assert!(
        r.table
            .iter()
            .any(|row| matches!(&row[0], Cell::Text(x) if x.starts_with("paused for daily quotas"))
                && row[1] == n(7200.0))
    );
}

#[test]
fn a_finished_job_with_failures_says_so() {
    let mut s = sheets();
    // Answer E, F, G, I and the stale D; remove the excluded row's reason to fail nothing new.
    let job = Job::compile(&s.spec).unwrap();
    let v = job.version.clone();
    for (i, key) in [(3usize, "D"), (4, "E"), (5, "F"), (8, "I")] {
        let sig = s.inputs.signatures[i].clone();
        let row = vec![
            t(key),
            t(&sig),
            t(&v),
            t("done"),
            Cell::Empty,
            t("x"),
            n(90.0),
            Cell::Empty,
            n(1.0),
            n(0.001),
            Cell::Empty,
        ];
        if key == "D" { s.outputs.rows[3] = row } else { s.outputs.rows.push(row) }
    }
    s.progress.rows.clear();
    let r = run(s, None);
    assert_eq!(r.summary.pending, 0, "{:?}", r.summary.counts);
    assert_eq!(r.summary.status, "completed_with_failures");
}

#[test]
fn the_report_sheet_is_three_columns_of_text_and_numbers() {
    let mut s = sheets();
    s.outputs.rows[2][4] = t("=IMPORTXML(\"http://x\", \"//a\")");
    s.outputs.rows[4][4] = t("=IMPORTXML(\"http://x\", \"//a\")");
    let r = run(s, None);
    assert!(r.table.iter().any(|row| row[0] == t("done") && row[1] == n(2.0)));
    let failed =
        r.table.iter().find(|row| matches!(&row[0], Cell::Text(x) if x.starts_with("failed:"))).unwrap();
    // The reason comes from the model's answer: it must not become a formula in the sheet.
    assert_eq!(failed[0], t("failed: =IMPORTXML(\"http://x\", \"//a\")"));
    assert_eq!((failed[1].clone(), failed[2].clone()), (n(2.0), t("'4, 11")));
    assert!(r.table.iter().flatten().all(|c| !matches!(c, Cell::Text(x) if x.starts_with('='))));
}
