//! "Dry run": what a run would send now, which rows, what it would cost and the first request
//! exactly as it would go, from the sheets as they are. Nothing is sent, leased or written.

use super::protocol::Command;
use super::slice::InputBlock;
use crate::error::Result;
use crate::estimate::{EstimateInput, estimate_with};
use crate::keys::KeyedRows;
use crate::ledger::Block;
use crate::plan::{PlanInput, plan};
use crate::provider::{BuildInput, Item, build_requests_with};
use crate::spec::Job;
use serde_json::{Value, json};

/// At most this many sheet rows are listed (all are counted).
const LISTED_ROWS: usize = 200;

pub(crate) fn dry_run(
    job: &Job,
    input: &InputBlock,
    inputs: KeyedRows,
    outputs: Block,
    progress: Block,
    now: f64,
    chosen: &super::Start,
) -> Result<Vec<Command>> {
    // Every due row, as a submission would take them: no wave size, no deadline, no lease kept.
    let planned = plan(
        job,
        &PlanInput {
            spec: Value::Null,
            inputs,
            outputs,
            progress,
            execution: "dry-run".into(),
            now,
            deadline: now,
            timing: Default::default(),
            capacity: Default::default(),
            reserve: Default::default(),
            batch: true,
            max_rows: chosen.limit,
            rows: chosen.rows,
            keys: chosen.keys.clone(),
        },
    );
    let send = &planned.send;
    let rows: Vec<_> = send.iter().map(|p| input.rows[p.index].clone()).collect();
    let estimate = estimate_with(
        job,
        &EstimateInput {
            spec: Value::Null,
            header: input.header.clone(),
            rows,
            observed: None,
            parallel: None,
        },
    )?;
    let request = match send.first() {
        None => None,
        Some(p) => {
            let item = Item {
                key: p.key.clone(),
                signature: p.signature.clone(),
                row: input.rows[p.index].clone(),
                reask: None,
            };
            let built = build_requests_with(
                job,
                &BuildInput { spec: Value::Null, header: input.header.clone(), items: vec![item] },
            )?;
            let body = crate::decode::value(built.requests[0].body.as_bytes()).unwrap_or_default();
            Some(json!({ "sheetRow": p.sheet_row, "key": p.key, "url": built.endpoint.url, "body": body }))
        }
    };
    let sheet_rows: Vec<u64> = send.iter().map(|p| p.sheet_row).collect();
    let c = &planned.counts;
    let mut lines = vec![format!(
        "{} rows would be sent now ({} done, {} failed for good, {} duplicates, {} excluded, {} waiting to retry, {} in flight)",
        send.len(),
        c.done + c.stale,
        c.failed,
        c.duplicates,
        c.excluded,
        c.waiting,
        c.in_flight
    )];
    if !sheet_rows.is_empty() {
        lines.push(format!("rows {}", spans(&sheet_rows)));
    }
    if let Some(cost) = &estimate.cost {
        lines.push(format!(
            "about ${:.4} realtime (${:.4} with caching), ${:.4} with the Batch API (prices of {})",
            cost.realtime, cost.realtime_cached, cost.batch, cost.price_date
        ));
    }
    if let Some(r) = &request {
        lines.push(format!(
            "the first request goes to {} for sheet row {} ({})",
            r["url"].as_str().unwrap_or_default(),
            r["sheetRow"],
            r["key"].as_str().unwrap_or_default()
        ));
    }
    lines.extend(estimate.warnings.iter().cloned());
    lines.push("nothing was sent, leased or written".to_owned());
    let result = json!({ "dryRun": {
        "send": send.len(),
        "sheetRows": sheet_rows.iter().take(LISTED_ROWS).collect::<Vec<_>>(),
        "counts": crate::to_json::to_value(c),
        "estimate": crate::to_json::to_value(&estimate),
        "request": request,
        "lines": lines,
    }});
    Ok(vec![Command::Done { result }])
}

/// Sheet rows as spans: `2–9, 12, 15–20` (the first twenty spans, then how many more rows).
fn spans(rows: &[u64]) -> String {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &r in rows {
        match out.last_mut() {
            Some((_, last)) if r == *last + 1 => *last = r,
            _ => out.push((r, r)),
        }
    }
    let shown: Vec<String> =
        out.iter().take(20).map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}–{b}") }).collect();
    let rest: u64 = out.iter().skip(20).map(|&(a, b)| b - a + 1).sum();
    let more = if rest > 0 { format!(" and {rest} more") } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_are_listed_as_spans() {
        assert_eq!(super::spans(&[2, 3, 4, 7, 9, 10]), "2–4, 7, 9–10");
        let many: Vec<u64> = (0..30).map(|i| i * 3).collect();
        assert!(super::spans(&many).ends_with(", 57 and 10 more"), "{}", super::spans(&many));
    }
}
