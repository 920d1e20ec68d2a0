/*
 * Provider Batch APIs from Apps Script: submit the due rows as one or more provider batches
 * (files split by the core under the provider's limits and UrlFetch's 50 MB), poll them with a
 * one-shot trigger that stops when nothing is pending, and ingest their results in slices that
 * fit the 6-minute limit, through the same reconciliation as the realtime runner: ingesting the
 * same results twice writes nothing twice. Rows in a batch are leased (`batch:<id>.<part>`) for
 * 26 hours, so the realtime runner leaves them alone.
 *
 * State: Script Property ROWBATCH_BATCHES, a short list of the batches not yet ingested
 * ({id, holder, provider state, results, ingest position}); each batch is also a row of the
 * Batches sheet.
 */
var RB_POLL_ = 'rowbatchPollBatches';
/** Result lines per reconciliation (one lock, one output and one progress write). */
var RB_INGEST_LINES_ = 500;

/** Menu: the estimate first, then a confirmation, then the submission. */
async function rowbatchSubmitBatchMenu() {
  var e = await rowbatchEstimate();
  var ui = SpreadsheetApp.getUi();
  var cost = e.cost ? 'Batch API: about $' + e.cost.batch.toFixed(4) + ' (realtime $' + e.cost.realtime.toFixed(4) + ')\n' : '';
  var answer = ui.alert('Submit as batch', e.rows + ' rows to send.\n' + cost +
    'Results come back within 24 hours; rowbatch polls and writes them.', ui.ButtonSet.YES_NO);
  if (answer !== ui.Button.YES) return { submitted: 0 };
  var r = await rowbatchSubmitBatch();
  ui.alert(r.submitted + ' rows submitted in ' + r.batches.length + ' batch(es)' + (r.note ? '\n' + r.note : ''));
  return r;
}

/** Submits every due row the budget allows; returns the provider batches made. */
async function rowbatchSubmitBatch() {
  // Run by rbAfterBatches_'s one-shot trigger, or by hand: either way no such trigger stays.
  ScriptApp.getProjectTriggers().forEach(function (t) {
    if (t.getHandlerFunction() === 'rowbatchSubmitBatch') ScriptApp.deleteTrigger(t);
  });
  var c = await rbBatchContext_();
  var rb = c.rb, ss = c.ss, props = c.props, spec = c.spec, job = c.job, key = c.key;
  var input = rbInput_(ss, spec);
  var keyed = rb.keyRows({ spec: spec, header: input.header, rows: input.rows, firstRow: input.firstRow });
  var local = rb.newSeed().slice(0, 10);
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  var locked = true;
  var made = [];
  var submitted = 0;
  var note = '';
  var state = JSON.parse(props.getProperty('ROWBATCH_STATE') || '{}');
  try {
    var out = rbSheet_(ss, spec.output.sheet || 'Output', job.outputColumns, false);
    var progress = rbSheet_(ss, RB_PROGRESS_SHEET_, rb.ledgerColumns().progress, true);
    var outputs = rbBlock_(out, rbWidth_(rb).output);
    var progressBlock = rbBlock_(progress, rbWidth_(rb).progress);
    var budget = spec.budget ? { maxUsd: spec.budget.maxUsd, spentUsd: state.spentUsd || 0, reservedUsd: state.batchReservedUsd || 0 } : null;
    var now = Date.now();
    var cap = rb.capacity({ spec: spec, now: now, budget: budget, batch: true });
    var base = { spec: spec, inputs: keyed, outputs: outputs, now: now, deadline: now, capacity: cap.capacity, reserve: cap.reserve, batch: true };
    // What would go: the core cuts it into parts; each part is then leased under its own holder.
    var dry = rb.planWave(Object.assign({}, base, { progress: progressBlock, execution: 'batch:' + local }));
    if (dry.send.length === 0) return { submitted: 0, batches: [], note: dry.stop === 'budget' ? 'the budget allows no more rows' : 'no row is due' };
    var files = rb.batchFiles({ spec: spec, header: input.header, items: dry.send.map(function (s) {
      return { key: s.key, signature: s.signature, attempt: s.attempt, row: input.rows[s.index] };
    }) });
    var writes = [];
    var parts = files.parts.map(function (part, i) {
      var holder = 'batch:' + local + '.' + (i + 1);
      var plan = rb.planWave(Object.assign({}, base, { progress: progressBlock, execution: holder, maxRows: part.lines }));
      rbApply_(progressBlock, plan.progressWrites, rbWidth_(rb).progress);
      writes = writes.concat(plan.progressWrites);
      return { part: part, holder: holder };
    });
    props.setProperty('ROWBATCH_LEDGER', 'batch/' + local);
    rbWriteSpan_(progress, progressBlock, writes, rbWidth_(rb).progress);
    SpreadsheetApp.flush();
    lock.releaseLock();
    locked = false;

    parts.forEach(function (p, i) {
      var rec = { holder: p.holder, part: (i + 1) + ' of ' + parts.length, lines: p.part.lines, reserveUsd: p.part.reserveUsd, submittedAt: Date.now(), ingested: 0, costUsd: 0, done: 0, failed: 0 };
      try {
        var created = rbBatchCreate_(rb, spec, key, p.part);
        var st = rb.batchState({ spec: spec, body: created });
        rec.id = st.id;
        rec.state = st.state;
        submitted += p.part.lines;
        if (budget) state.batchReservedUsd = (state.batchReservedUsd || 0) + p.part.reserveUsd;
        made.push(rec);
      } catch (e) {
        // Not submitted: its rows are released at once (no attempt used) for the next try.
        note = String(e.message);
        rbBatchRelease_(rb, ss, spec, keyed, p.holder, 'the batch could not be submitted: ' + note);
      }
    });
  } finally {
    if (locked) lock.releaseLock();
  }
  props.setProperty('ROWBATCH_STATE', JSON.stringify(state));
  var pending = JSON.parse(props.getProperty('ROWBATCH_BATCHES') || '[]').concat(made);
  props.setProperty('ROWBATCH_BATCHES', JSON.stringify(pending));
  made.forEach(function (b) { rbBatchRow_(rb, ss, spec, job, b); });
  rbSchedulePoll_(spec, pending);
  return { submitted: submitted, batches: made.map(function (b) { return { id: b.id, state: b.state, lines: b.lines }; }), note: note };
}

/** What every batch entry point starts from: the module, the sheets, the spec and the key. */
async function rbBatchContext_() {
  var rb = await rowbatchAsync_();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var props = PropertiesService.getScriptProperties();
  var spec = rbSpec_(ss);
  var job = rb.checkSpec({ spec: spec });
  RB_STEP_ = job.gridStepRows;
  return { rb: rb, ss: ss, props: props, spec: spec, job: job, key: rbKey_(props, spec) };
}

/** Uploads (OpenAI) and creates one provider batch; returns the provider's batch object text. */
function rbBatchCreate_(rb, spec, key, part) {
  var file = null;
  if (spec.provider.kind === 'openai') {
    var up = rbBatchFetch_(rb.batchCall({ spec: spec, op: 'upload' }), key, part.body);
    file = JSON.parse(up).id;
  }
  return rbBatchFetch_(rb.batchCall({ spec: spec, op: 'create', file: file, body: part.body }), key);
}

/** One call of the batch protocol; a non-2xx answer throws with the provider's words. */
function rbBatchFetch_(call, key, fileText) {
  var headers = {};
  call.headers.forEach(function (h) { headers[h[0]] = h[1]; });
  if (call.auth === 'bearer') headers.Authorization = 'Bearer ' + key;
  else headers['x-api-key'] = key;
  var params = { method: call.method.toLowerCase(), headers: headers, muteHttpExceptions: true };
  if (call.form) {
    var form = {};
    call.form.forEach(function (f) { form[f[0]] = f[1]; });
    form.file = Utilities.newBlob(fileText, 'application/jsonl', call.fileName);
    params.payload = form;
  } else if (call.body !== null && call.body !== undefined) {
    params.contentType = 'application/json';
    params.payload = call.body;
  }
  var res = UrlFetchApp.fetch(call.url, params);
  var code = res.getResponseCode();
  var text = res.getContentText();
  if (code < 200 || code >= 300) throw new Error('rowbatch: ' + call.method + ' ' + call.url.replace(/\?.*$/, '') + ' answered ' + code + ': ' + text.slice(0, 300));
  return text;
}

/** The poll trigger: one state step for every pending batch, then ingestion of ended ones. */
async function rowbatchPollBatches() {
  var started = Date.now();
  var c = await rbBatchContext_();
  var rb = c.rb, ss = c.ss, props = c.props, spec = c.spec, job = c.job, key = c.key;
  var deadline = started + job.timeSliceMs;
  var pending = JSON.parse(props.getProperty('ROWBATCH_BATCHES') || '[]');
  // A watchdog poll first: an execution killed mid-ingest, or refused by a daily quota, leaves
  // the next poll scheduled; a poll that ends normally replaces it.
  rbSchedulePoll_(spec, pending, RB_WATCHDOG_MS_);
  var ctx = null;
  for (var i = 0; i < pending.length && Date.now() < deadline; i += 1) {
    var b = pending[i];
    if (!b.ended) {
      var st = rb.batchState({ spec: spec, body: rbBatchFetch_(rb.batchCall({ spec: spec, op: 'status', id: b.id }), key) });
      b.state = st.state;
      b.results = st.results;
      b.message = st.message;
      b.ended = st.isFinal;
      rbBatchRow_(rb, ss, spec, job, b);
    }
    if (b.ended) {
      ctx = ctx || rbIngestContext_(rb, ss, spec, job, key);
      rbIngestBatch_(rb, ctx, b, deadline);
      rbBatchRow_(rb, ss, spec, job, b);
    }
    props.setProperty('ROWBATCH_BATCHES', JSON.stringify(pending));
  }
  var left = pending.filter(function (b) { return !b.finished; });
  props.setProperty('ROWBATCH_BATCHES', JSON.stringify(left));
  rbSchedulePoll_(spec, left);
  var next = null;
  if (left.length === 0 && pending.length > 0) next = rbAfterBatches_(spec);
  var result = { pending: left.map(function (b) { return { id: b.id, state: b.state }; }), ingested: pending.filter(function (b) { return b.finished; }).length, next: next };
  console.log('rowbatch batches ' + JSON.stringify(result));
  return result;
}

/** Rows left over (failed or expired lines, released rows) go where `batch.retry` says. */
function rbAfterBatches_(spec) {
  var retry = (spec.batch && spec.batch.retry) || 'realtime';
  ScriptApp.newTrigger(retry === 'batch' ? 'rowbatchSubmitBatch' : RB_CONTINUE_).timeBased().after(1000).create();
  return retry;
}

/** Cancels every pending batch; the next poll ingests what they had finished. */
async function rowbatchCancelBatches() {
  var c = await rbBatchContext_();
  var rb = c.rb, ss = c.ss, props = c.props, spec = c.spec, job = c.job, key = c.key;
  var pending = JSON.parse(props.getProperty('ROWBATCH_BATCHES') || '[]');
  pending.filter(function (b) { return !b.ended; }).forEach(function (b) {
    b.state = rb.batchState({ spec: spec, body: rbBatchFetch_(rb.batchCall({ spec: spec, op: 'cancel', id: b.id }), key) }).state;
    rbBatchRow_(rb, ss, spec, job, b);
  });
  props.setProperty('ROWBATCH_BATCHES', JSON.stringify(pending));
  rbSchedulePoll_(spec, pending, 1000);
  return pending.map(function (b) { return { id: b.id, state: b.state }; });
}

function rbIngestContext_(rb, ss, spec, job, key) {
  var input = rbInput_(ss, spec);
  return {
    rb: rb, ss: ss, spec: spec, key: key, input: input, width: job.outputColumns.length,
    keyed: rb.keyRows({ spec: spec, header: input.header, rows: input.rows, firstRow: input.firstRow }),
    out: rbSheet_(ss, spec.output.sheet || 'Output', job.outputColumns, false),
    progress: rbSheet_(ss, RB_PROGRESS_SHEET_, rb.ledgerColumns().progress, true),
  };
}

/**
 * Downloads an ended batch's results and ingests them from where the last slice stopped,
 * RB_INGEST_LINES_ lines at a time; the last slice also releases the batch's rows that had no
 * line. Re-asks are sent realtime, as the runner would.
 */
function rbIngestBatch_(rb, c, b, deadline) {
  var text = (b.results || []).map(function (r) {
    return rbBatchFetch_(rb.batchCall({ spec: c.spec, op: 'download', file: r }), c.key);
  }).join('\n');
  var lines = text.split('\n').filter(function (l) { return l.trim() !== ''; });
  var props = PropertiesService.getScriptProperties();
  var state = JSON.parse(props.getProperty('ROWBATCH_STATE') || '{}');
  var lock = LockService.getScriptLock();
  var rowsByKey = {};
  c.keyed.keys.forEach(function (k, i) { if (k) rowsByKey[k] = c.input.rows[i]; });
  while (!b.finished && Date.now() < deadline) {
    var slice = lines.slice(b.ingested, b.ingested + RB_INGEST_LINES_);
    var last = b.ingested + slice.length >= lines.length;
    lock.waitLock(30000);
    var progressBlock = rbBlock_(c.progress, rbWidth_(rb).progress);
    lock.releaseLock();
    var got = rb.batchResults({
      spec: c.spec, text: slice.join('\n'), inputs: c.keyed, now: Date.now(), seed: rb.newSeed(),
      lease: { holder: b.holder, progress: progressBlock },
      last: last ? { holder: b.holder, progress: progressBlock, reason: 'the batch ended ' + b.state + ' without an answer for this row' } : null,
    });
    var outcomes = [];
    var again = [];
    got.results.forEach(function (r, i) {
      if (r.status === 'reask') again.push({ key: r.key, signature: r.signature, attempt: got.attempts[i], row: rowsByKey[r.key], reask: r.reask, reasks: r.reask.count });
      else outcomes.push(r);
    });
    var ctx = { spec: c.spec, header: c.input.header, key: c.key, limiter: null, budget: null, deadline: deadline, costUsd: 0, sent: 0, fatal: null };
    outcomes = outcomes.concat(rbSend_(rb, ctx, again));
    b.costUsd += got.costUsd + ctx.costUsd;
    lock.waitLock(30000);
    var outputs = rbBlock_(c.out, rbWidth_(rb).output);
    progressBlock = rbBlock_(c.progress, rbWidth_(rb).progress);
    var rec = rbReconcile_(rb, c.spec, b.holder, outputs, progressBlock, outcomes, c.width);
    props.setProperty('ROWBATCH_LEDGER', 'batch/' + b.id + '/' + b.ingested);
    rbWriteRows_(rb, c.out, rec.outWrites, c.width);
    rbWriteSpan_(c.progress, progressBlock, rec.progressWrites, rbWidth_(rb).progress);
    SpreadsheetApp.flush();
    lock.releaseLock();
    b.done += rec.counts.written;
    b.failed += rec.counts.failed;
    b.ingested += slice.length;
    if (last) {
      b.finished = true;
      state.spentUsd = (state.spentUsd || 0) + b.costUsd;
      state.batchReservedUsd = Math.max(0, (state.batchReservedUsd || 0) - b.reserveUsd);
    }
    props.setProperty('ROWBATCH_STATE', JSON.stringify(Object.assign(JSON.parse(props.getProperty('ROWBATCH_STATE') || '{}'),
      { spentUsd: state.spentUsd || 0, batchReservedUsd: state.batchReservedUsd || 0 })));
  }
}

/** Releases a part's leases at once (its batch was never made). */
function rbBatchRelease_(rb, ss, spec, keyed, holder, reason) {
  var c = { out: rbSheet_(ss, spec.output.sheet || 'Output', rb.checkSpec({ spec: spec }).outputColumns, false), progress: ss.getSheetByName(RB_PROGRESS_SHEET_) };
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  var progressBlock = rbBlock_(c.progress, rbWidth_(rb).progress);
  var got = rb.batchResults({ spec: spec, text: '', inputs: keyed, now: Date.now(), seed: rb.newSeed(), last: { holder: holder, progress: progressBlock, reason: reason } });
  var rec = rbReconcile_(rb, spec, holder, rbBlock_(c.out, rbWidth_(rb).output), progressBlock, got.results, 0);
  PropertiesService.getScriptProperties().setProperty('ROWBATCH_LEDGER', 'release/' + holder);
  rbWriteSpan_(c.progress, progressBlock, rec.progressWrites, rbWidth_(rb).progress);
  SpreadsheetApp.flush();
  lock.releaseLock();
}

/** The batch's row in the Batches sheet, in the run records' columns. */
function rbBatchRow_(rb, ss, spec, job, b) {
  var cells = [b.id, spec.name, job.version, b.state, new Date(b.submittedAt).toISOString(), b.finished ? new Date().toISOString() : '',
    b.lines, b.done, '', b.failed, '', '', b.finished ? 0 : b.lines - b.done - b.failed, Math.round(b.costUsd * 1e6) / 1e6,
    spec.provider.kind + ' batch, part ' + b.part + (b.message ? ': ' + b.message : '')];
  rbWriteBatchRow_(ss, rb.ledgerColumns().batches, cells);
}

/** One poll trigger while batches are pending, none otherwise. */
function rbSchedulePoll_(spec, pending, ms) {
  ScriptApp.getProjectTriggers().forEach(function (t) {
    if (t.getHandlerFunction() === RB_POLL_) ScriptApp.deleteTrigger(t);
  });
  if (pending.some(function (b) { return !b.finished; })) {
    ScriptApp.newTrigger(RB_POLL_).timeBased().after(ms || ((spec.batch && spec.batch.pollMinutes) || 5) * 60000).create();
  }
}
