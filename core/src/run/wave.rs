//! A wave: one locked section that reads the ledger, writes the last wave's outcomes, plans the
//! next wave on what the sheets now hold and records its reservation before it is sent.

use super::close::*;
use super::flows::{Phase as Top, Props};
use super::protocol::Command;
use super::rounds::*;
use super::slice::*;
use super::text;
use super::*;
use crate::cell::Cell;
use crate::layout::{OUTPUT_COLUMNS, PROGRESS_COLUMNS, cost_column, output_columns};
use crate::ledger::{Block, RowWrite};
use crate::reconcile::{ReconcileInput, reconcile_with};
use crate::to_json::to_string;
use serde_json::Value;

pub(crate) fn wave_top(run: &mut Run) -> Vec<Command> {
    run.phase = Top::Slice(Phase::WaveLocked);
    vec![Command::lock(), Command::GetProps { keys: vec![P_STOP, P_STATE, P_LEDGER, P_ALERT_PROBLEM, P_RUN] }]
}

pub(crate) fn wave_locked(run: &mut Run, props: Props) -> Result<Vec<Command>> {
    let now = run.now;
    let holder = run.execution();
    let s = run.slice.as_mut().expect("loaded");
    s.stop_asked = prop(&props, P_STOP);
    s.alert_problem = prop(&props, P_ALERT_PROBLEM);
    let fresh = shared_of(&props)?;
    s.merge(fresh, &holder, now);
    s.merge_info(prop(&props, P_RUN));
    let progress = s.mark.is_none() || prop(&props, P_LEDGER) != s.mark;
    let mut cmds = vec![Command::read(output_sheet(&s.job), OUTPUT_COLUMNS.len())];
    if progress {
        cmds.push(Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()));
    }
    run.phase = Top::Slice(Phase::WaveRead { progress });
    Ok(cmds)
}

pub(crate) fn wave_read(run: &mut Run, outputs: Block, progress: Option<Block>) -> Result<Vec<Command>> {
    let now = run.now;
    let execution = run.execution();
    let mut slice = run.slice.take().expect("loaded");
    let got = wave_planned(run, &mut slice, &execution, now, outputs, progress);
    run.slice = Some(slice);
    let mut cmds = got?;
    let s = run.slice.as_mut().expect("loaded");
    if let Some(n) = s.fan.next.take().filter(|_| s.stop.is_none() && s.pause.is_none()) {
        cmds.extend(progress_of(s, now));
        cmds.extend(super::fan::spawn(run, n));
        return Ok(cmds);
    }
    finish_wave(run, cmds, now)
}

/// The locked section: outcomes written, the next wave planned and leased (or a round of
/// workers chosen instead), the run record kept; ends with the unlock.
fn wave_planned(
    run: &Run,
    s: &mut Slice,
    execution: &str,
    now: f64,
    outputs: Block,
    progress: Option<Block>,
) -> Result<Vec<Command>> {
    let execution = execution.to_owned();
    s.ledger.outputs = outputs;
    if let Some(p) = progress {
        s.ledger.progress = p;
    }
    let (out_writes, mut progress_writes) = reconciled(s, &execution, now);
    let mut marks: Vec<(u64, Cell)> = Vec::new();
    let mut fan_record = None;
    let go = s.fatal.is_none() && s.stop_asked.is_none() && s.pause.is_none();
    if go {
        let cap = crate::estimate::capacity_with(
            &s.job,
            crate::estimate::CapacityInput {
                spec: Value::Null,
                now,
                limiter: s.limiter.take(),
                budget: s.max_usd().map(|m| s.shared.budget(m)),
                row_bytes: Some(s.row_bytes),
                batch: false,
                day: s.shared.day.clone(),
            },
        );
        s.limiter = Some(cap.limiter);
        s.shared.limiter = s.limiter.clone();
        if cap.quota.as_ref().is_some_and(|q| q.pause_until.is_some()) {
            s.pause = cap.quota;
        }
        s.ledger.now = now;
        s.ledger.deadline = s.deadline;
        s.ledger.capacity = cap.capacity;
        s.ledger.reserve = cap.reserve;
        s.ledger.timing = cap.timing;
        // The canary: a refusal that would fail every row (a wrong key, an unknown model, a
        // schema the provider refuses) costs one request, not a wave.
        s.ledger.max_rows = (!s.info.canary_passed).then_some(1);
        // `--limit`: new rows until the run has started that many; then only those (retries).
        if let Some(limit) = s.info.limit {
            let left = limit.saturating_sub(s.info.started.len() as u32);
            if left == 0 {
                s.ledger.keys = Some(s.info.started.clone());
            } else {
                s.ledger.max_rows = Some(s.ledger.max_rows.map_or(left, |m| m.min(left)));
            }
        }
        let mut plan = crate::plan::plan(&s.job, &s.ledger);
        fan_record = super::fan::verdict(s, &plan, now);
        s.fan.next = super::fan::workers(run, s, &plan, now);
        if s.fan.next.is_some() {
            // The workers lease their own rows: this one leases none and reserves nothing.
            s.ledger.max_rows = Some(0);
            plan = crate::plan::plan(&s.job, &s.ledger);
        }
        for p in &plan.send {
            if s.info.limit.is_some() && !s.info.started.contains(&p.key) {
                s.info.started.push(p.key.clone());
            }
        }
        for w in &plan.progress_writes {
            apply(&mut s.ledger.progress, w.row, &w.values, PROGRESS_COLUMNS.len());
        }
        progress_writes.extend(plan.progress_writes.iter().cloned());
        marks.extend(plan.marks.iter().map(|m| (m.row, Cell::Text(m.status.as_str().to_owned()))));
        // Write-ahead: the wave's worst case is on record before a request leaves.
        s.shared.reserve(&execution, plan.reserved.usd, now + s.ledger.timing.lease_ms, None);
        s.plan = Some(plan);
    }
    let mut set = vec![s.state_prop()];
    if !progress_writes.is_empty() {
        // Stamped before the write: a writer killed half-way still makes the others read again.
        s.writes += 1;
        let mark = format!("{execution}/{}", s.writes);
        set.push((P_LEDGER, Some(mark.clone())));
        s.mark = Some(mark);
    }
    let mut cmds = vec![Command::SetProps { set }];
    cmds.extend(fan_record);
    let out = output_sheet(&s.job);
    let step = u64::from(crate::validate::GRID_STEP_ROWS);
    cmds.extend(status_spans(&out, &mut s.ledger.outputs, marks, step));
    cmds.extend(runs(&out, out_writes, step));
    if let Some(c) = span(&s.ledger.progress, &progress_writes, step) {
        cmds.push(c);
    }
    // The wave's outcome lines go with its results: a slice killed later loses none of them.
    if !s.log.is_empty() {
        let values = std::mem::take(&mut s.log).into_iter().map(safe_row).collect();
        cmds.push(Command::Append {
            sheet: LOG_SHEET.to_owned(),
            header: header(&text::LOG_COLUMNS),
            values,
        });
    }
    // The run record under the lock: slices working at once each add to what the last wrote.
    cmds.extend([
        Command::SetProps { set: vec![(P_RUN, Some(to_string(&s.info)))] },
        Command::Flush,
        Command::Unlock,
    ]);
    if let Some(f) = &s.fatal {
        s.stop = Some(f.clone());
    } else if let Some(asked) = &s.stop_asked {
        s.stop = Some(asked.clone());
    }
    Ok(cmds)
}

/// A wait the slice sleeps through rather than end: longer ones go to a continuation trigger.
const NAP_MS: f64 = 20_000.0;

/// After the locked section: the slice closes, or sends the wave it leased, or naps until a row
/// falls due again (a retry's backoff) when that is soon and a wave still fits after it.
fn finish_wave(run: &mut Run, mut cmds: Vec<Command>, now: f64) -> Result<Vec<Command>> {
    let s = run.slice.as_mut().expect("loaded");
    let t = &s.ledger.timing;
    let nap =
        s.plan.as_ref().filter(|p| p.send.is_empty() && !p.finished && p.stop != crate::plan::Stop::Budget);
    if let Some(at) = nap.and_then(|p| p.next_at)
        && s.stop.is_none()
        && s.pause.is_none()
        && at > now
        && at - now <= NAP_MS
        && (at + t.slowest_request_ms + t.write_ms + t.margin_ms <= s.deadline
            || super::fan::may_round(&run.start, s, at))
    {
        cmds.push(Command::Sleep { ms: (at - now).ceil() as u64 });
        cmds.extend(wave_top(run));
        return Ok(cmds);
    }
    let plan = s.plan.as_ref();
    if s.stop.is_some() || s.pause.is_some() || plan.is_none_or(|p| p.send.is_empty()) {
        if let Some(p) = plan
            && s.stop.is_none()
            && p.stop == crate::plan::Stop::Budget
            && p.counts.in_flight == 0
        {
            let max = s.max_usd().unwrap_or(0.0);
            s.stop = Some(format!("budget reached: {:.4} of {max} USD spent", s.shared.total_spent()));
        }
        cmds.extend(close(run));
        return Ok(cmds);
    }
    let plan = s.plan.as_ref().expect("checked");
    cmds.extend(progress_of(s, now));
    s.flights = plan.send.iter().map(Flight::of).collect();
    s.wave_started = now;
    cmds.extend(send(run)?);
    Ok(cmds)
}

/// The outcomes waiting since the last locked section, against the ledger just read: the
/// output rows to write (ledger cells made safe, answer cells safe from ingest) and the progress
/// writes, both applied to the blocks kept in memory.
pub(crate) fn reconciled(s: &mut Slice, execution: &str, now: f64) -> (Vec<(u64, Vec<Cell>)>, Vec<RowWrite>) {
    let mut out_writes = Vec::new();
    if s.pending.is_empty() {
        return (out_writes, Vec::new());
    }
    let pending = std::mem::take(&mut s.pending);
    let input = ReconcileInput {
        spec: Value::Null,
        results: pending.iter().map(|f| f.outcome.clone()).collect(),
        outputs: std::mem::take(&mut s.ledger.outputs),
        progress: std::mem::take(&mut s.ledger.progress),
        execution: execution.to_owned(),
        now,
    };
    let rec = reconcile_with(&s.job, &input);
    // Taken back: reconcile only reads them.
    (s.ledger.outputs, s.ledger.progress) = (input.outputs, input.progress);
    let answer_width = output_columns(&s.job).len() - OUTPUT_COLUMNS.len();
    // `_costUsd`: on answers and on failures alike, so "Retry failed rows" can carry it on.
    let cost_col = cost_column(&s.job) - OUTPUT_COLUMNS.len();
    for w in &rec.output_writes {
        let ledger: Vec<Cell> = w.ledger.iter().map(|t| Cell::Text(t.clone())).collect();
        apply(&mut s.ledger.outputs, w.row, &ledger, OUTPUT_COLUMNS.len());
        let cells = &pending[w.result].cells;
        let mut answer = if cells.is_empty() { vec![Cell::Empty; answer_width] } else { cells.clone() };
        if let Some(c) = answer.get_mut(cost_col) {
            *c = Cell::Number(w.cost_usd);
        }
        let mut row = safe_row(ledger);
        row.extend(answer);
        out_writes.push((w.row, row));
    }
    for w in &rec.progress_writes {
        apply(&mut s.ledger.progress, w.row, &w.values, PROGRESS_COLUMNS.len());
    }
    s.summary.waves += 1;
    s.summary.written += rec.counts.written;
    s.summary.failed += rec.counts.failed;
    s.summary.retries += rec.counts.retries;
    (out_writes, rec.progress_writes)
}

/// [`reconciled`] as the writes of a locked section: output rows, then the progress span.
pub(crate) fn reconcile_pending(s: &mut Slice, execution: &str, now: f64) -> Vec<Command> {
    let (out, progress) = reconciled(s, execution, now);
    let step = u64::from(crate::validate::GRID_STEP_ROWS);
    let mut cmds = runs(&output_sheet(&s.job), out, step);
    cmds.extend(span(&s.ledger.progress, &progress, step));
    cmds
}

/// Writes a value row into a block read earlier, so the next decision sees it without a read.
pub(crate) fn apply(block: &mut Block, row: u64, values: &[Cell], width: usize) {
    let Some(i) = row.checked_sub(block.first_row).map(|i| i as usize) else { return };
    while block.rows.len() <= i {
        block.rows.push(vec![Cell::Empty; width]);
    }
    block.rows[i] = values.iter().take(width).cloned().collect();
}

/// Status cells further apart than this are written separately; closer, the cells between
/// them are written again as the ledger just read them (under the same lock).
const STATUS_GAP_ROWS: u64 = 200;

/// The `_status` marks (done ↔ stale) as few writes: one per span of marks at most
/// [`STATUS_GAP_ROWS`] apart, the rows between rewritten from the block read under the lock.
/// A thousand edited rows are a handful of calls, not a thousand.
pub(crate) fn status_spans(
    sheet: &str,
    block: &mut Block,
    mut marks: Vec<(u64, Cell)>,
    step: u64,
) -> Vec<Command> {
    marks.sort_by_key(|m| m.0);
    let status = (STATUS_COL - 1) as usize;
    for (row, cell) in &marks {
        if let Some(r) = row.checked_sub(block.first_row).and_then(|i| block.rows.get_mut(i as usize)) {
            if r.len() <= status {
                r.resize(status + 1, Cell::Empty);
            }
            r[status] = cell.clone();
        }
    }
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for &(row, _) in &marks {
        match spans.last_mut() {
            Some((_, last)) if row <= *last + STATUS_GAP_ROWS => *last = row,
            _ => spans.push((row, row)),
        }
    }
    spans
        .into_iter()
        .map(|(first, last)| {
            let values = (first..=last)
                .map(|r| {
                    let at = r.checked_sub(block.first_row).map(|i| i as usize);
                    let cell = at.and_then(|i| block.rows.get(i)).and_then(|c| c.get(status)).cloned();
                    let cell = cell.unwrap_or(Cell::Empty);
                    safe_row(vec![cell])
                })
                .collect();
            Command::Write { sheet: sheet.to_owned(), row: first, col: STATUS_COL, values, step }
        })
        .collect()
}

/// One write per run of consecutive rows.
pub(crate) fn runs(sheet: &str, mut writes: Vec<(u64, Vec<Cell>)>, step: u64) -> Vec<Command> {
    writes.sort_by_key(|w| w.0);
    let mut cmds: Vec<Command> = Vec::new();
    for (row, values) in writes {
        if let Some(Command::Write { row: first, values: block, .. }) = cmds.last_mut()
            && *first + block.len() as u64 == row
        {
            block.push(values);
            continue;
        }
        cmds.push(Command::Write { sheet: sheet.to_owned(), row, col: 1, values: vec![values], step });
    }
    cmds
}

/// One write over the progress rows from the first to the last written, from the block.
pub(crate) fn span(block: &Block, writes: &[RowWrite], step: u64) -> Option<Command> {
    let first = writes.iter().map(|w| w.row).min()?;
    let last = writes.iter().map(|w| w.row).max()?;
    let width = PROGRESS_COLUMNS.len();
    let values = (first..=last)
        .map(|r| {
            let mut row = block.rows.get((r - block.first_row) as usize).cloned().unwrap_or_default();
            row.resize(width, Cell::Empty);
            safe_row(row)
        })
        .collect();
    Some(Command::Write { sheet: PROGRESS_SHEET.to_owned(), row: first, col: 1, values, step })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn status_marks_are_written_as_few_spans() {
        let row =
            |k: usize, status: &str| vec![t(&format!("K{k}")), t("SIG"), t("SPEC"), t(status), Cell::Empty];
        let mut block = Block { first_row: 2, rows: (0..500).map(|k| row(k, "done")).collect() };
        block.rows[2][3] = t("failed");
        let marks = vec![(5, t("stale")), (400, t("stale")), (3, t("stale"))];
        let cmds = status_spans("Output", &mut block, marks, 0);
        let writes: Vec<(u64, Vec<Cell>)> = cmds
            .into_iter()
            .map(|c| match c {
                Command::Write { row, col, values, .. } => {
                    assert_eq!(col, STATUS_COL);
                    (row, values.into_iter().map(|mut v| v.remove(0)).collect())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            writes,
            vec![(3, vec![t("stale"), t("failed"), t("stale")]), (400, vec![t("stale")])],
            "rows 3–5 in one write (row 4 as read), row 400 alone"
        );
        assert_eq!(block.rows[1][3], t("stale"), "the block in memory holds the marks");
        assert_eq!(block.rows[2][3], t("failed"));
    }
}
