//! Submitting the due rows as provider batches: leases and the parts' reservations in one
//! locked write, then each part uploaded (OpenAI) and created; a part the provider refuses has
//! its rows released and its reservation dropped.

use super::*;

pub(super) fn submit_spec(run: &mut Run, job: Job) -> Vec<Command> {
    let cmds = vec![
        Command::HasKey { name: slice::key_name(&job).to_owned() },
        Command::ReadInput {
            sheet: job.spec.input.sheet.clone(),
            header_row: u64::from(job.spec.input.header_row),
        },
        Command::lock(),
        Command::Sheet {
            name: output_sheet(&job),
            header: header(&crate::layout::output_columns(&job)),
            hidden: false,
        },
        Command::header_row(output_sheet(&job), crate::layout::output_columns(&job).len()),
        Command::Sheet { name: PROGRESS_SHEET.to_owned(), header: header(&PROGRESS_COLUMNS), hidden: true },
        Command::read(output_sheet(&job), OUTPUT_COLUMNS.len()),
        Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
        Command::GetProps { keys: vec![P_STATE] },
    ];
    run.slice = Some(Box::new(Slice::new(job)));
    run.phase = Top::Batch(Phase::SubmitLocked);
    cmds
}

pub(super) fn submit_locked(
    run: &mut Run,
    has: Value,
    input: Value,
    out_header: Value,
    out: Value,
    progress: Value,
    props: Props,
) -> Result<Vec<Command>> {
    let now = run.now;
    let local = run.execution()[..10].to_owned();
    let (s, w) = parts!(run);
    if let Some(fail) = s.load_input(has, input)? {
        return Ok(vec![Command::Unlock, fail]);
    }
    let mut cmds: Vec<Command> = match s.output_header(out_header)? {
        Ok(write) => write.into_iter().collect(),
        Err(message) => return Ok(vec![Command::Unlock, Command::Fail { message }]),
    };
    s.ledger.outputs = read::<Option<Block>>(out, "read")?.unwrap_or_default();
    s.ledger.progress = read::<Option<Block>>(progress, "read")?.unwrap_or_default();
    s.merge(shared_of(&props)?, "", now);
    let cap = crate::estimate::capacity_with(
        &s.job,
        crate::estimate::CapacityInput {
            spec: Value::Null,
            now,
            limiter: None,
            budget: s.max_usd().map(|m| s.shared.budget(m)),
            row_bytes: Some(s.row_bytes),
            batch: true,
            day: None,
        },
    );
    let l = &mut s.ledger;
    (l.now, l.deadline, l.capacity, l.reserve, l.batch) = (now, now, cap.capacity, cap.reserve, true);
    l.execution = format!("batch:{local}");
    // What would go: the core cuts it into parts; each part is then leased under its own holder.
    let dry = crate::plan::plan(&s.job, &s.ledger);
    if dry.send.is_empty() {
        let note = if dry.stop == crate::plan::Stop::Budget {
            "the budget allows no more rows"
        } else {
            "no row is due"
        };
        cmds.extend([
            Command::Unlock,
            Command::Done { result: json!({ "submitted": 0, "batches": [], "note": note }) },
        ]);
        return Ok(cmds);
    }
    if !w.canary_sent && !answered_now(s) {
        w.canary_sent = true;
        cmds.extend(canary(run, &local, now)?);
        return Ok(cmds);
    }
    let items = dry
        .send
        .iter()
        .map(|p| FileItem {
            key: p.key.clone(),
            signature: p.signature.clone(),
            attempt: p.attempt,
            row: s.rows[p.index].clone(),
        })
        .collect();
    let files = batchapi::files_with(
        &s.job,
        FilesInput { spec: Value::Null, header: s.header.clone(), items, max_lines: None, max_bytes: None },
    )?;
    let mut writes = Vec::new();
    for (i, part) in files.parts.into_iter().enumerate() {
        let holder = format!("batch:{local}.{}", i + 1);
        s.ledger.execution = holder.clone();
        s.ledger.max_rows = Some(part.lines as u32);
        let plan = crate::plan::plan(&s.job, &s.ledger);
        for pw in &plan.progress_writes {
            super::wave::apply(&mut s.ledger.progress, pw.row, &pw.values, PROGRESS_COLUMNS.len());
        }
        writes.extend(plan.progress_writes);
        // Write-ahead: on record before the provider hears of the part.
        s.shared.reserve(&holder, part.reserve_usd, now + BATCH_LEASE_MS, None);
        w.parts.push(Part { body: part.body, holder, lines: part.lines, reserve_usd: part.reserve_usd });
    }
    cmds.push(Command::SetProps { set: vec![s.state_prop(), (P_LEDGER, Some(format!("batch/{local}")))] });
    cmds.extend(super::wave::span(&s.ledger.progress, &writes, 0));
    cmds.extend([Command::Flush, Command::Unlock]);
    cmds.extend(part_call(run, 0)?);
    Ok(cmds)
}

pub(super) fn part_call(run: &mut Run, i: usize) -> Result<Vec<Command>> {
    let (s, w) = parts!(run);
    let Some(part) = w.parts.get(i) else {
        run.phase = Top::Batch(Phase::SubmitEnd);
        let mut cmds = vec![
            Command::lock(),
            Command::GetProps { keys: vec![P_BATCHES, P_STATE] },
            Command::read(output_sheet(&s.job), OUTPUT_COLUMNS.len()),
            Command::read(PROGRESS_SHEET.to_owned(), PROGRESS_COLUMNS.len()),
        ];
        cmds.extend(batches_sheet());
        return Ok(cmds);
    };
    if s.job.spec.provider.kind == ProviderKind::Openai {
        run.phase = Top::Batch(Phase::Uploaded(i));
        return Ok(vec![call(&s.job, "upload", None, None, None, Some(&part.body))?]);
    }
    run.phase = Top::Batch(Phase::Created(i));
    Ok(vec![call(&s.job, "create", None, None, Some(&part.body), None)?])
}

pub(super) fn uploaded(run: &mut Run, i: usize, a: Answer) -> Result<Vec<Command>> {
    let (s, w) = parts!(run);
    let file = crate::decode::value(a.body.as_bytes()).ok().and_then(|v| v["id"].as_str().map(str::to_owned));
    match file {
        Some(file) if a.ok() => {
            run.phase = Top::Batch(Phase::Created(i));
            Ok(vec![call(&s.job, "create", None, Some(&file), None, None)?])
        }
        _ => {
            w.note = refusal("the batch file upload", &a);
            w.refused.push(w.parts[i].holder.clone());
            part_call(run, i + 1)
        }
    }
}

pub(super) fn created(run: &mut Run, i: usize, a: Answer) -> Result<Vec<Command>> {
    let now = run.now;
    let (s, w) = parts!(run);
    let state = if a.ok() {
        batchapi::state_with(&s.job, StateInput { spec: Value::Null, body: a.body.clone() }).ok()
    } else {
        None
    };
    let part = &w.parts[i];
    match state {
        Some(st) => w.made.push(Record {
            id: st.id,
            holder: part.holder.clone(),
            part: format!("{} of {}", i + 1, w.parts.len()),
            lines: part.lines,
            reserve_usd: part.reserve_usd,
            submitted_at: now,
            state: state_word(st.state),
            ..Record::default()
        }),
        None => {
            // Not submitted: its rows are released at once (no attempt used) for the next try.
            w.note = refusal("the batch creation", &a);
            w.refused.push(part.holder.clone());
        }
    }
    part_call(run, i + 1)
}

pub(super) fn submit_end(
    run: &mut Run,
    props: Props,
    out: Value,
    progress: Value,
    ids: Value,
) -> Result<Vec<Command>> {
    let now = run.now;
    let seed = run.seed();
    let (s, w) = parts!(run);
    s.merge(shared_of(&props)?, "", now);
    let mut cmds = Vec::new();
    if !w.refused.is_empty() {
        s.ledger.outputs = read::<Option<Block>>(out, "read")?.unwrap_or_default();
        s.ledger.progress = read::<Option<Block>>(progress, "read")?.unwrap_or_default();
        for holder in std::mem::take(&mut w.refused) {
            s.shared.settle(&holder, 0.0);
            let why = format!("the batch could not be submitted: {}", w.note);
            let got = release_input(s, &holder, &why, now, &seed)?;
            for r in got.results {
                s.pending.push(Finished::of(r));
            }
            cmds.extend(super::wave::reconcile_pending(s, &holder, now));
        }
        cmds.insert(
            0,
            Command::SetProps { set: vec![(P_LEDGER, Some(format!("release/{}", s.ledger.execution)))] },
        );
    }
    let submitted: usize = w.made.iter().map(|r| r.lines).sum();
    w.batches = records(&props);
    let first = w.batches.len();
    w.batches.extend(std::mem::take(&mut w.made));
    w.dirty = (first..w.batches.len()).collect();
    let poll = poll_trigger(&s.job, &mut w.batches, None, now);
    cmds.push(Command::SetProps { set: vec![s.state_prop(), (P_BATCHES, Some(to_string(&w.batches)))] });
    cmds.extend(batch_rows(s, w, ids, now)?);
    cmds.extend([Command::Flush, Command::Unlock, poll]);
    let made: Vec<Value> = w.batches[first..]
        .iter()
        .map(|b| json!({ "id": b.id, "state": b.state, "lines": b.lines }))
        .collect();
    cmds.push(Command::Done { result: json!({ "submitted": submitted, "batches": made, "note": w.note }) });
    Ok(cmds)
}

/// The results of a batch's rows without a line: released (or, for a refused part, all of them).
pub(super) fn release_input(
    s: &Slice,
    holder: &str,
    reason: &str,
    now: f64,
    seed: &str,
) -> Result<batchapi::Results> {
    batchapi::results_with(
        &s.job,
        ResultsInput {
            spec: Value::Null,
            text: String::new(),
            inputs: s.ledger.inputs.clone(),
            now,
            seed: seed.to_owned(),
            last: Some(Last {
                holder: holder.to_owned(),
                progress: s.ledger.progress.clone(),
                reason: reason.to_owned(),
            }),
            lease: None,
            budget: None,
        },
    )
}

/// Whether a row has an answer under the spec as it is now: then the provider has accepted
/// this job's request (its schema, model and fields) and no canary is needed.
fn answered_now(s: &Slice) -> bool {
    let version = &s.job.version;
    s.ledger.outputs.rows.iter().any(|r| {
        matches!((r.get(2), r.get(3)), (Some(Cell::Text(v)), Some(Cell::Text(st))) if v == version && st == "done")
    })
}

/// The canary of a submission: the first due row goes alone, realtime, leased and reserved like
/// a wave's, before any file goes up. A refusal that would fail every line (a 400 for the
/// request or schema, a 401/403/404) ends the submission in the provider's words after one
/// request, not after the batch has run for hours; an answer is written as the row's output,
/// and the submission goes on with the rest.
fn canary(run: &mut Run, local: &str, now: f64) -> Result<Vec<Command>> {
    let s = run.slice.as_deref_mut().expect("the spec was read");
    let holder = format!("canary:{local}");
    // A realtime request: it must fit in this execution's slice, and its lease is a wave's.
    let slice_ms = f64::from(s.job.spec.limits.time_slice_seconds) * 1000.0;
    let l = &mut s.ledger;
    (l.execution, l.max_rows, l.batch, l.deadline) = (holder.clone(), Some(1), false, now + slice_ms);
    let plan = crate::plan::plan(&s.job, &s.ledger);
    for pw in &plan.progress_writes {
        super::super::wave::apply(&mut s.ledger.progress, pw.row, &pw.values, PROGRESS_COLUMNS.len());
    }
    let flights = plan.send.iter().map(Flight::of).collect();
    s.set_after_rounds(Some(CANARY), holder.clone());
    let go = s.reserve_round(&holder, flights, now)?;
    let mut cmds = vec![Command::SetProps { set: vec![s.state_prop(), (P_LEDGER, Some(holder))] }];
    cmds.extend(super::super::wave::span(&s.ledger.progress, &plan.progress_writes, 0));
    cmds.extend([Command::Flush, Command::Unlock]);
    cmds.extend(if go { super::super::rounds::send(run)? } else { after_rounds(run, CANARY) });
    Ok(cmds)
}

/// The canary's outcome written under the lock (its log line too). Refused: the submission ends
/// with the provider's words and nothing goes up. Otherwise the submission starts again from
/// the sheets, with the canary's row answered or released.
pub(super) fn canary_written(
    run: &mut Run,
    out: Value,
    progress: Value,
    props: Props,
) -> Result<Vec<Command>> {
    let now = run.now;
    let s = run.slice.as_deref_mut().expect("the spec was read");
    let holder = s.round_holder.clone().unwrap_or_default();
    s.merge(shared_of(&props)?, &holder, now);
    s.ledger.outputs = read::<Option<Block>>(out, "read")?.unwrap_or_default();
    s.ledger.progress = read::<Option<Block>>(progress, "read")?.unwrap_or_default();
    let mut cmds = vec![Command::SetProps { set: vec![(P_LEDGER, Some(format!("{holder}/written")))] }];
    cmds.extend(super::super::wave::reconcile_pending(s, &holder, now));
    if !s.log.is_empty() {
        let values = std::mem::take(&mut s.log).into_iter().map(safe_row).collect();
        cmds.push(Command::Append {
            sheet: LOG_SHEET.to_owned(),
            header: header(&super::super::text::LOG_COLUMNS),
            values,
        });
    }
    cmds.extend([Command::Flush, Command::SetProps { set: vec![s.state_prop()] }, Command::Unlock]);
    if let Some(message) = s.fatal.clone() {
        let note =
            format!("nothing submitted: the first row, sent alone before any batch, was refused: {message}");
        cmds.push(Command::Log { text: format!("rowbatch batch canary: {note}") });
        cmds.push(Command::Done { result: json!({ "submitted": 0, "batches": [], "note": note }) });
        return Ok(cmds);
    }
    let job = s.job.clone();
    cmds.extend(submit_spec(run, job));
    Ok(cmds)
}
