//! A provider batch's result files as the provider keeps them (`rowbatch batches download`):
//! the batch's state, then each file it names once it has ended. Nothing is written: ingesting
//! the results is the poll's work; this is for a person who wants the provider's own lines.

use super::*;

/// The first step: the spec, then the batch's state.
pub(crate) fn begin(run: &mut Run) -> Vec<Command> {
    run.phase = Top::Batch(Phase::FileSpec);
    vec![Command::ReadCell { sheet: SPEC_SHEET }]
}

/// The spec read: the status call for the batch the start names.
pub(crate) fn spec(run: &mut Run, cell: Value) -> Result<Vec<Command>> {
    let job = match slice::compile(cell)? {
        Err(message) => return Ok(vec![Command::Fail { message }]),
        Ok(job) => job,
    };
    let Some(id) = run.start.batch.clone().filter(|id| !id.trim().is_empty()) else {
        return Ok(vec![Command::Fail {
            message: "rowbatch: name the batch to download (its id)".to_owned(),
        }]);
    };
    let cmd = call(&job, "status", Some(&id), None, None, None)?;
    run.slice = Some(Box::new(Slice::new(job)));
    run.phase = Top::Batch(Phase::FileStatus);
    Ok(vec![cmd])
}

/// The batch's state: a download call for each file once it has ended, else the state alone.
pub(crate) fn status(run: &mut Run, a: Answer) -> Result<Vec<Command>> {
    let id = run.start.batch.clone().unwrap_or_default();
    if !a.ok() {
        return Ok(vec![Command::Fail { message: refusal(&format!("the batch {id}"), &a) }]);
    }
    let (s, w) = parts_of(run);
    let state = batchapi::state_with(&s.job, StateInput { spec: Value::Null, body: a.body })?;
    let files = if state.is_final { state.results.clone() } else { Vec::new() };
    let calls = files
        .iter()
        .map(|f| call(&s.job, "download", None, Some(f), None, None))
        .collect::<Result<Vec<_>>>()?;
    if calls.is_empty() {
        return Ok(vec![Command::Done { result: json!({ "batch": to_value(&state), "files": [] }) }]);
    }
    (w.state, w.files) = (Some(state), files);
    run.phase = Top::Batch(Phase::FileDownloaded);
    Ok(calls)
}

/// Each file's text as the provider gave it (or its refusal).
pub(crate) fn downloaded(run: &mut Run, answers: Vec<Answer>) -> Vec<Command> {
    let (_, w) = parts_of(run);
    let files: Vec<Value> = w
        .files
        .iter()
        .zip(answers)
        .map(|(file, a)| {
            let ok = a.ok();
            json!({
                "file": file,
                "status": a.status,
                "text": ok.then_some(&a.body),
                "error": (!ok).then(|| a.body.chars().take(300).collect::<String>()),
            })
        })
        .collect();
    vec![Command::Done { result: json!({ "batch": w.state.as_ref().map(to_value), "files": files }) }]
}

fn parts_of(run: &mut Run) -> (&mut Slice, &mut Work) {
    parts!(run)
}
