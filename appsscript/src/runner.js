/*
 * The job runner: one time slice per execution, continued by a trigger. It owns no policy:
 * what to send, when to retry, what to write and when to stop all come from the core; this file
 * reads and writes the sheets in blocks, sends waves with UrlFetchApp.fetchAll, keeps small
 * state in Script Properties and schedules its own continuation.
 *
 * Sheets it uses: the input sheet (spec.input.sheet), the output sheet (spec.output.sheet), a
 * hidden `_rowbatch_progress` sheet and a `Batches` sheet. The job spec is JSON in cell A1 of the
 * hidden `_rowbatch_spec` sheet. API keys are Script Properties (OPENAI_API_KEY,
 * ANTHROPIC_API_KEY), never cells.
 */
var RB_SPEC_SHEET_ = '_rowbatch_spec';
var RB_PROGRESS_SHEET_ = '_rowbatch_progress';
var RB_BATCH_SHEET_ = 'Batches';
/** The user-facing log, one row per request outcome, in the seed notes' columns. */
var RB_LOG_SHEET_ = 'Progress';
var RB_LOG_COLUMNS_ = ['Batch_ID', 'Row_Number', 'Case_ID', 'Status', 'Started_At', 'Completed_At', 'Duration_Sec',
  'Retry_Count', 'Error_Message', 'Tokens', 'Cost_USD', 'Fixes_Applied', 'Warnings', 'Last_Updated', 'Checkpoint'];
var RB_CONTINUE_ = 'rowbatchContinue';
/** Past the 6-minute limit, so a live slice is never doubled by its own watchdog. */
var RB_WATCHDOG_MS_ = 7 * 60 * 1000;
/**
 * While a run is on, a recurring trigger checks that a slice reported in the last 8 minutes; if
 * none did (an execution that died before it could set its watchdog), it continues the run.
 */
var RB_HEARTBEAT_ = 'rowbatchHeartbeat';
var RB_STALE_MS_ = 8 * 60 * 1000;

/** Starts a run (menu item, web app, `npm start`): a new batch id, then the first slice. */
async function rowbatchRun() {
  var props = PropertiesService.getScriptProperties();
  var rb = await rowbatchAsync_();
  props.setProperty('ROWBATCH_RUN', JSON.stringify({ id: rb.newSeed().slice(0, 12), startedAt: Date.now(), costUsd: 0 }));
  props.deleteProperty('ROWBATCH_STOP');
  return rowbatchContinue();
}

/** Asks the run to stop: the running slice stops before its next wave, and no slice follows. */
function rowbatchStop() {
  PropertiesService.getScriptProperties().setProperty('ROWBATCH_STOP', 'stopped by ' + Session.getActiveUser().getEmail());
  rbTriggers_(false);
  return 'stopping';
}

/**
 * The heartbeat: continues a run whose last slice went silent; gone once the run ends. A run
 * paused for a daily quota is not silent: its continuation waits for the quota.
 */
async function rowbatchHeartbeat(e) {
  var props = PropertiesService.getScriptProperties();
  var last = JSON.parse(props.getProperty('ROWBATCH_PROGRESS') || 'null');
  if (props.getProperty('ROWBATCH_STOP') || (last && last.finished)) {
    rbTriggers_(false);
    return { ended: true };
  }
  if (last && last.paused && Date.now() < last.paused.until) return { paused: true };
  if (last && Date.now() - last.at < RB_STALE_MS_) return { alive: true };
  return rowbatchContinue(e);
}

/**
 * "Retry failed rows" (menu, sidebar, web app): every failed output row is re-opened in place
 * (its status becomes `retry`, in one write under the lock), and the run resumes: those rows
 * are sent again with their attempts starting over, and each answer takes its own row.
 */
async function rowbatchRetryFailed() {
  var rb = await rowbatchAsync_();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  var out = ss.getSheetByName(spec.output.sheet || 'Output');
  if (!out) return { reopened: 0 };
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  var reopen = rb.retryFailed({ outputs: rbBlock_(out, rbWidth_(rb).output) });
  if (reopen.rows > 0) rbPut_(out, reopen.firstRow, rbWidth_(rb).status, reopen.statuses.map(function (r) { return r.map(rbSafe_); }), 0);
  SpreadsheetApp.flush();
  lock.releaseLock();
  if (reopen.rows === 0) return { reopened: 0 };
  var result = await rowbatchResume();
  return { reopened: reopen.rows, run: result };
}

/** Resumes a stopped or interrupted run where the sheets say it is. */
async function rowbatchResume() {
  PropertiesService.getScriptProperties().deleteProperty('ROWBATCH_STOP');
  return rowbatchContinue();
}

/**
 * One time slice of the run; schedules the next one unless the job is finished or stopped.
 * `e` is the trigger's event when a trigger started it: then its runtime counts against the
 * day's trigger quota, and the slice ends before that does.
 */
async function rowbatchContinue(e) {
  var rb = await rowbatchAsync_();
  var started = Date.now();
  var trigger = Boolean(e && e.triggerUid);
  var props = PropertiesService.getScriptProperties();
  var stopped = props.getProperty('ROWBATCH_STOP');
  if (stopped) {
    rbTriggers_(false); // the trigger that started this one, fired, is still listed
    return { stopped: stopped };
  }
  // A watchdog first: if Apps Script kills this execution at 6 minutes, this trigger resumes the
  // run; a slice that ends normally replaces it.
  rbTriggers_(true);
  ScriptApp.newTrigger(RB_CONTINUE_).timeBased().after(RB_WATCHDOG_MS_).create();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  var job = rb.checkSpec({ spec: spec });
  RB_STEP_ = job.gridStepRows;
  var run = JSON.parse(props.getProperty('ROWBATCH_RUN') || 'null') || { id: rb.newSeed().slice(0, 12), startedAt: started, costUsd: 0 };
  var state = rbState_(props);
  var budget = spec.budget ? { maxUsd: spec.budget.maxUsd, spentUsd: state.spentUsd || 0, reservedUsd: 0 } : null;
  var limiter = state.limiter || null;
  var execution = rb.newSeed().slice(0, 12);
  // Apps Script's daily quotas, as this script has spent them (hourly, in ROWBATCH_STATE).
  var quota = rb.quotaDay({ spec: spec, day: state.day || null, now: started, trigger: trigger });
  var day = quota.day;
  var deadline = quota.deadline;
  var key = rbKey_(props, spec);
  if (quota.pauseUntil) return rbPause_(props, run, quota, { limiter: limiter, day: day });

  var input = rbInput_(ss, spec);
  var keyed = rb.keyRows({ spec: spec, header: input.header, rows: input.rows, firstRow: input.firstRow });
  var lock = LockService.getScriptLock();
  // Under the lock: two executions starting together must not both create the sheets.
  lock.waitLock(30000);
  var out = rbSheet_(ss, spec.output.sheet || 'Output', job.outputColumns, false);
  var progress = rbSheet_(ss, RB_PROGRESS_SHEET_, rb.ledgerColumns().progress, true);
  lock.releaseLock();
  var plan = null;
  var stop = null;
  var summary = { sent: 0, written: 0, failed: 0, retries: 0, costUsd: 0, waves: 0 };

  var pending = null; // the last wave's results, written under the next lock
  var log = []; // the last wave's outcomes for the Progress sheet, appended with its results
  var logSheet = null;
  var fatal = null;
  var pause = null; // a daily quota is spent: the slice ends and the run waits
  var width = job.outputColumns.length;
  // One lock per wave: read the output ledger, write the last wave's results (outputs first,
  // then progress), plan the next wave on what is now in the sheets, write its leases with the
  // same progress write: three Sheets calls a wave. The hidden progress sheet is written only
  // here, under the lock, and every writer first stamps ROWBATCH_LEDGER with its own mark; while
  // the mark is still ours, the copy kept in memory is what the sheet holds and is not read
  // again. The output sheet is read every wave: people sort and edit it.
  var progressBlock = null;
  var mark = null;
  var writes = 0;
  for (;;) {
    var stopAsked = props.getProperty('ROWBATCH_STOP');
    lock.waitLock(30000);
    // What every execution (and the Batch API) has recorded as spent and reserved, read fresh.
    if (budget) {
      var shared = rbState_(props);
      budget.spentUsd = shared.spentUsd || 0;
      budget.reservedUsd = shared.batchReservedUsd || 0;
    }
    var outputs = rbBlock_(out, rbWidth_(rb).output);
    if (!progressBlock || props.getProperty('ROWBATCH_LEDGER') !== mark) progressBlock = rbBlock_(progress, rbWidth_(rb).progress);
    var outWrites = [];
    var progressWrites = [];
    if (pending) {
      var rec = rbReconcile_(rb, spec, execution, outputs, progressBlock, pending, width);
      pending = null;
      outWrites = rec.outWrites;
      progressWrites = rec.progressWrites;
      summary.waves += 1;
      summary.written += rec.counts.written;
      summary.failed += rec.counts.failed;
      summary.retries += rec.counts.retries;
    }
    var planned = null;
    if (!fatal && !stopAsked && !pause) {
      var now = Date.now();
      var cap = rb.capacity({ spec: spec, now: now, limiter: limiter, budget: budget, day: day });
      limiter = cap.limiter;
      if (cap.quota.pauseUntil) pause = cap.quota;
      planned = rb.planWave({
        spec: spec, inputs: keyed, outputs: outputs, progress: progressBlock,
        execution: execution, now: now, deadline: deadline, capacity: cap.capacity, reserve: cap.reserve, timing: cap.timing,
      });
      rbApply_(progressBlock, planned.progressWrites, rbWidth_(rb).progress);
      progressWrites = progressWrites.concat(planned.progressWrites);
      planned.marks.forEach(function (m) { outWrites.push({ row: m.row, values: null, status: m.status }); });
      plan = planned;
    }
    if (progressWrites.length > 0) {
      // Stamped before the write: a writer killed half-way still makes the others read again.
      mark = execution + '/' + (writes += 1);
      props.setProperty('ROWBATCH_LEDGER', mark);
    }
    rbWriteRows_(rb, out, outWrites, width);
    rbWriteSpan_(progress, progressBlock, progressWrites, rbWidth_(rb).progress);
    // The wave's outcome lines go with its results: a slice killed later loses none of them.
    if (log.length > 0) {
      logSheet = rbAppendLog_(ss, log, logSheet);
      log = [];
    }
    SpreadsheetApp.flush();
    lock.releaseLock();
    rbSaveState_(props, { limiter: limiter, day: day });
    props.setProperty('ROWBATCH_RUN', JSON.stringify(run));
    if (fatal) { stop = fatal.message; break; }
    if (stopAsked) { stop = stopAsked; break; }
    if (pause) break;
    if (plan.send.length === 0) {
      if (plan.stop === 'budget' && plan.counts.inFlight === 0) stop = 'budget reached: ' + budget.spentUsd.toFixed(4) + ' of ' + budget.maxUsd + ' USD spent';
      break;
    }
    rbReport_(plan, run, summary, { budgetUsd: budget && budget.maxUsd });

    var wave = plan.send.map(function (s) {
      return { key: s.key, signature: s.signature, attempt: s.attempt, row: input.rows[s.index], reask: null, reasks: 0 };
    });
    var waveStarted = Date.now();
    var sentByKey = {};
    plan.send.forEach(function (s) { sentByKey[s.key] = s; });
    var ctx = { spec: spec, header: input.header, key: key, limiter: limiter, budget: budget, day: day, deadline: deadline, costUsd: 0, sent: 0, fatal: null, pause: null, props: props };
    pending = rbSend_(rb, ctx, wave);
    limiter = ctx.limiter;
    budget = ctx.budget;
    day = ctx.day;
    fatal = fatal || ctx.fatal;
    // Refused for today: the rows are released (no attempt used); the next capacity says until when.
    if (ctx.pause && !pause) pause = rb.capacity({ spec: spec, now: Date.now(), limiter: limiter, budget: budget, day: day }).quota;
    summary.costUsd += ctx.costUsd;
    run.costUsd += ctx.costUsd;
    summary.sent += ctx.sent;
    pending.forEach(function (r) {
      var u = r.usage || {};
      var now = Date.now();
      var s = sentByKey[r.key];
      log.push([run.id, s.sheetRow, r.key, r.status, new Date(waveStarted).toISOString(), new Date(now).toISOString(),
        Math.round((now - waveStarted) / 100) / 10, s.attempt - 1,
        String(r.note || '').slice(0, 500), (u.input || 0) + (u.cachedInput || 0) + (u.cacheWrite || 0) + (u.output || 0),
        r.costUsd || 0, r.fixes || 0, (r.findings || []).length, new Date(now).toISOString(), execution + '/' + summary.waves]);
    });
  }

  rbWriteLog_(ss, log);
  if (stop) props.setProperty('ROWBATCH_STOP', stop);
  if (pause && !stop) {
    if (plan) rbReport_(plan, run, summary, { budgetUsd: budget && budget.maxUsd });
    var spent = rb.quotaDay({ spec: spec, day: day, now: Date.now(), triggerMs: trigger ? Date.now() - started : 0 });
    return rbPause_(props, run, pause, { limiter: limiter, day: spent.day });
  }
  if (trigger) {
    day = rb.quotaDay({ spec: spec, day: day, now: Date.now(), triggerMs: Date.now() - started }).day;
    rbSaveState_(props, { limiter: limiter, day: day });
  }
  if (plan) {
    rbRecordBatch_(ss, rb, spec, run, plan, stop);
    rbAlerts_(props, spec, run, plan, stop);
    rbReport_(plan, run, summary, { budgetUsd: budget && budget.maxUsd, stop: stop });
    if (plan.finished || stop) rbWriteReport_(ss, rbMakeReport_(rb, ss, spec, { keyed: keyed, out: out, progress: progress }));
  }
  rbScheduleNext_(plan, stop);
  var result = {
    run: run.id, finished: plan ? plan.finished : false, stop: stop, counts: plan ? plan.counts : null,
    summary: summary, nextAt: plan ? plan.nextAt : null, startupMs: ROWBATCH_STARTUP_MS_,
  };
  console.log('rowbatch ' + JSON.stringify(result));
  return result;
}

/** ROWBATCH_STATE as it is now: the limiter, the day's quota use, and the money. */
function rbState_(props) {
  return JSON.parse(props.getProperty('ROWBATCH_STATE') || '{}');
}

/**
 * Sets some fields of ROWBATCH_STATE, keeping the others as they are now: the money fields
 * (spentUsd, batchReservedUsd) are only ever added to, by rbAddSpend_ and the Batch API host.
 */
function rbSaveState_(props, changes) {
  var st = rbState_(props);
  Object.keys(changes).forEach(function (k) { st[k] = changes[k]; });
  props.setProperty('ROWBATCH_STATE', JSON.stringify(st));
}

function rbAddSpend_(props, usd) {
  if (!usd) return;
  var st = rbState_(props);
  st.spentUsd = (st.spentUsd || 0) + usd;
  props.setProperty('ROWBATCH_STATE', JSON.stringify(st));
}

/**
 * Ends the slice for a daily quota: the wait goes into the run's record (the report lists it)
 * and the sidebar's snapshot, and one continuation is scheduled for when the quota frees.
 */
function rbPause_(props, run, quota, state) {
  var now = Date.now();
  run.pauses = run.pauses || [];
  var last = run.pauses[run.pauses.length - 1];
  if (last && last.until >= now) last.until = quota.pauseUntil;
  else run.pauses.push({ at: now, until: quota.pauseUntil, reason: quota.message });
  // Properties hold 9 KB a value: the latest 20 pauses are kept whole, earlier ones as totals.
  while (run.pauses.length > 20) {
    var old = run.pauses.shift();
    run.earlierPauses = (run.earlierPauses || 0) + 1;
    run.earlierPausedMs = (run.earlierPausedMs || 0) + (old.until - old.at);
  }
  props.setProperty('ROWBATCH_RUN', JSON.stringify(run));
  rbSaveState_(props, state);
  var snapshot = JSON.parse(props.getProperty('ROWBATCH_PROGRESS') || 'null') || { startedAt: run.startedAt, costUsd: run.costUsd };
  snapshot.at = now;
  snapshot.paused = { until: quota.pauseUntil, message: quota.message };
  props.setProperty('ROWBATCH_PROGRESS', JSON.stringify(snapshot));
  console.log('rowbatch paused ' + quota.message);
  rbTriggers_(true);
  ScriptApp.newTrigger(RB_CONTINUE_).timeBased().after(Math.max(1000, quota.pauseUntil - now)).create();
  return { run: run.id, paused: snapshot.paused, finished: false, stop: null };
}

/**
 * A wave's outcomes against the ledger blocks just read (under the lock): the output rows to
 * write (formula-safe) and the progress writes, both applied to the blocks.
 */
function rbReconcile_(rb, spec, execution, outputs, progressBlock, results, width) {
  var rec = rb.reconcile({
    spec: spec, execution: execution, now: Date.now(), outputs: outputs, progress: progressBlock,
    results: results.map(function (r) {
      return { key: r.key, signature: r.signature, status: r.status, note: r.note || '', notBefore: r.notBefore || 0 };
    }),
  });
  // `values` are written (ledger cells made safe here, answer cells safe from the core); `raw`
  // is what the sheet will then return, for the blocks kept in memory.
  rec.outWrites = rec.outputWrites.map(function (w) {
    var r = results[w.result];
    var answer = r.cells && r.cells.length ? r.cells : new Array(width - rbWidth_(rb).output).fill('');
    return { row: w.row, values: w.ledger.map(rbSafe_).concat(answer), raw: w.ledger };
  });
  rbApply_(outputs, rec.outWrites, rbWidth_(rb).output);
  rbApply_(progressBlock, rec.progressWrites, rbWidth_(rb).progress);
  return rec;
}

/**
 * Sends a wave and its re-asks, one fetchAll a round, until every row has an outcome or the
 * deadline passes (then a pending re-ask is released). `ctx` carries the limiter, the budget and
 * what was spent and sent; the outcomes come back for reconciliation under the lock.
 */
function rbSend_(rb, ctx, wave) {
  var pending = [];
  while (wave.length > 0) {
    var built = rb.buildRequests({ spec: ctx.spec, header: ctx.header, items: wave.map(function (w) {
      return { key: w.key, signature: w.signature, row: w.row, reask: w.reask };
    }) });
    if (ctx.budget) built.requests.forEach(function (r) { ctx.budget.reservedUsd += r.reserveUsd; });
    if (ctx.limiter) ctx.limiter.requests.available -= built.requests.length;
    var fetched = Date.now();
    var responses = rbFetchAll_(built, ctx.key);
    var ingested = rb.ingest({
      spec: ctx.spec, now: Date.now(), seed: rb.newSeed(), limiter: ctx.limiter, budget: ctx.budget, day: ctx.day || null,
      waveMs: Date.now() - fetched,
      sent: built.requests.map(function (r, i) {
        return { key: r.key, signature: r.signature, attempt: wave[i].attempt, reasks: wave[i].reasks, reserveUsd: r.reserveUsd };
      }),
      responses: responses,
    });
    // Recorded at once, added to what is there: an execution killed from here on has not
    // forgotten what this round cost, and overlapping executions do not overwrite each other.
    if (ctx.props) rbAddSpend_(ctx.props, ingested.costUsd);
    ctx.limiter = ingested.limiter;
    ctx.budget = ingested.budget;
    if (ctx.day) ctx.day = ingested.day;
    ctx.costUsd += ingested.costUsd;
    ctx.sent += ingested.pause ? 0 : built.requests.length;
    ctx.fatal = ctx.fatal || ingested.fatal;
    ctx.pause = ctx.pause || ingested.pause;
    var again = [];
    ingested.results.forEach(function (r, i) {
      if (r.status === 'reask') {
        again.push({ key: r.key, signature: r.signature, attempt: wave[i].attempt, row: wave[i].row, reask: r.reask, reasks: r.reask.count });
      } else {
        pending.push(r);
      }
    });
    wave = ctx.fatal || ctx.pause || Date.now() > ctx.deadline ? [] : again;
    again.forEach(function (w) { if (wave.length === 0) pending.push({ key: w.key, signature: w.signature, status: 'released', note: 'no time left to re-ask' }); });
  }
  return pending;
}

/** The API key from the user's or the script's Properties; never from a cell, never logged. */
function rbKey_(props, spec) {
  var name = rbKeyName_(spec.provider.kind);
  var key = PropertiesService.getUserProperties().getProperty(name) || props.getProperty(name);
  if (!key) throw new Error('rowbatch: no API key: set it in rowbatch → Settings (or the Script Property ' + name + ')');
  return key;
}

function rbSpec_(ss) {
  var sheet = ss.getSheetByName(RB_SPEC_SHEET_);
  if (!sheet) throw new Error('rowbatch: no job spec: put it as JSON in A1 of a sheet named ' + RB_SPEC_SHEET_);
  return JSON.parse(String(sheet.getRange(1, 1).getValue()));
}

/** The input block with one read: header row and every row under it. */
function rbInput_(ss, spec) {
  var sheet = spec.input.sheet ? ss.getSheetByName(spec.input.sheet) : ss.getSheets()[0];
  if (!sheet) throw new Error('rowbatch: the input sheet "' + spec.input.sheet + '" does not exist');
  var headerRow = spec.input.headerRow || 1;
  var lastRow = sheet.getLastRow();
  var lastCol = Math.max(1, sheet.getLastColumn());
  var values = lastRow >= headerRow ? sheet.getRange(headerRow, 1, lastRow - headerRow + 1, lastCol).getValues() : [[]];
  var rows = values.slice(1).map(function (r) {
    return r.map(function (v) { return v instanceof Date ? v.toISOString() : v === '' ? null : v; });
  });
  return { header: values[0].map(String), rows: rows, firstRow: headerRow + 1 };
}

/** A sheet with its header, made if missing (a new sheet has 26 columns: wider headers grow it). */
function rbSheet_(ss, name, header, hidden) {
  var sheet = ss.getSheetByName(name);
  if (!sheet) {
    sheet = ss.insertSheet(name);
    rbPut_(sheet, 1, 1, [header.map(rbSafe_)], 0);
    if (hidden) sheet.hideSheet();
  }
  return sheet;
}

var RB_WIDTH_ = null;

/**
 * The ledger's layout, from the core: the output ledger's and the progress sheet's column
 * counts, and the output sheet's `_status` column.
 */
function rbWidth_(rb) {
  if (!RB_WIDTH_) {
    var c = rb.ledgerColumns();
    RB_WIDTH_ = { output: c.output.length, progress: c.progress.length, status: c.output.indexOf('_status') + 1 };
  }
  return RB_WIDTH_;
}

/** Rows the output and progress sheets grow by at a time (from the core's spec report). */
var RB_STEP_ = 0;

/**
 * Each sheet's grid as this execution last saw it: from the open-ended ledger reads (which
 * return every row of the grid) or, after a refused write, from getMaxRows/getMaxColumns.
 */
var RB_GRID_ = {};

/**
 * setValues at (row, col), first growing the sheet in one call if the block passes its last row
 * or column: Sheets never grows a sheet for a write ("The coordinates of the range are outside
 * the dimensions of the sheet."). Rows are added `step` at a time when the write needs fewer.
 * A grid not seen yet costs no call: the write is tried, and only a refusal (getRange throws
 * before anything is written) reads the grid, grows it and writes again.
 */
function rbPut_(sheet, row, col, values, step) {
  var lastRow = row + values.length - 1;
  var lastCol = col + values[0].length - 1;
  for (var attempt = 0; ; attempt += 1) {
    var id = sheet.getSheetId();
    var g = RB_GRID_[id];
    if (!g && attempt > 0) g = RB_GRID_[id] = { rows: sheet.getMaxRows(), cols: sheet.getMaxColumns() };
    g = g || { rows: Infinity, cols: Infinity };
    if (lastRow > g.rows) {
      var add = Math.max(lastRow - g.rows, step || 0);
      sheet.insertRowsAfter(g.rows, add);
      g.rows += add;
    }
    if (lastCol > g.cols) {
      sheet.insertColumnsAfter(g.cols, lastCol - g.cols);
      g.cols = lastCol;
    }
    try {
      sheet.getRange(row, col, values.length, values[0].length).setValues(values);
      return;
    } catch (e) {
      if (attempt > 0 || !/outside the dimensions/.test(String(e && e.message))) throw e;
      delete RB_GRID_[id];
    }
  }
}

/**
 * The first `width` columns under the header, as the core reads a ledger block: one read of an
 * open-ended range (`A2:E` runs to the sheet's last row), trailing blank rows dropped.
 */
function rbBlock_(sheet, width) {
  var rows;
  try {
    rows = sheet.getRange('A2:' + rbColumn_(width)).getValues();
    var g = RB_GRID_[sheet.getSheetId()];
    RB_GRID_[sheet.getSheetId()] = { rows: rows.length + 1, cols: g ? g.cols : Infinity };
  } catch (e) {
    rows = []; // a sheet of one row has no A2
  }
  var n = rows.length;
  while (n > 0 && rows[n - 1].every(function (v) { return v === ''; })) n -= 1;
  return { firstRow: 2, rows: rows.slice(0, n).map(function (r) { return r.map(function (v) { return v === '' ? null : v; }); }) };
}

/** The column's letters: 1 → A, 27 → AA. */
function rbColumn_(n) {
  var s = '';
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** Applies row writes to a block read earlier, so the next decision sees them without a read. */
function rbApply_(block, writes, width) {
  writes.forEach(function (w) {
    if (!w.values) return;
    var i = w.row - block.firstRow;
    while (block.rows.length <= i) block.rows.push(new Array(width).fill(null));
    block.rows[i] = (w.raw || w.values).slice(0, width).map(function (v) { return v === '' || v === undefined ? null : v; });
  });
}

/** One setValues over the rows from the first to the last written, from the up-to-date block. */
function rbWriteSpan_(sheet, block, writes, width) {
  if (writes.length === 0) return;
  var rows = writes.map(function (w) { return w.row; });
  var first = Math.min.apply(null, rows);
  var last = Math.max.apply(null, rows);
  var values = block.rows.slice(first - block.firstRow, last - block.firstRow + 1).map(function (r) {
    var v = r.map(function (c) { return c === null || c === undefined ? '' : rbSafe_(c); });
    while (v.length < width) v.push('');
    return v.slice(0, width);
  });
  rbPut_(sheet, first, 1, values, RB_STEP_);
}

/** Writes rows, one setValues per run of consecutive rows; a status mark writes one cell. */
function rbWriteRows_(rb, sheet, writes, width) {
  var status = rbWidth_(rb).status;
  writes.filter(function (w) { return !w.values; }).forEach(function (m) { rbPut_(sheet, m.row, status, [[m.status]], RB_STEP_); });
  var sorted = writes.filter(function (w) { return w.values; }).sort(function (a, b) { return a.row - b.row; });
  for (var i = 0; i < sorted.length;) {
    var j = i;
    while (j + 1 < sorted.length && sorted[j + 1].row === sorted[j].row + 1) j += 1;
    var block = sorted.slice(i, j + 1).map(function (w) {
      var v = w.values.map(function (c) { return c === null || c === undefined ? '' : c; });
      while (v.length < width) v.push('');
      return v.slice(0, width);
    });
    rbPut_(sheet, sorted[i].row, 1, block, RB_STEP_);
    i = j + 1;
  }
}

var RB_MONTHS_ = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Text as it must be written to stay this text: Sheets types what a script writes as if a
 * person typed it (numbers, 1,000, 12%, $5, TRUE, dates, times, formulas) and keeps text only
 * behind a leading apostrophe, which it does not show or return. The rule is the core's
 * `cell::sheet_text` (answer cells come from there ready); this one is for the ledger, log and
 * Batches cells the host writes. Numbers and booleans pass as they are.
 */
function rbSafe_(v) {
  if (typeof v !== 'string') return v;
  var t = v.replace(/^\s+/, '');
  if (t === '') return v;
  if (/^[0-9=+\-@'.$€£¥(]/.test(t)) return "'" + v;
  var word = /^[A-Za-z]*/.exec(t)[0].toLowerCase();
  var rest = t.slice(word.length);
  if ((word === 'true' || word === 'false') && rest.trim() === '') return "'" + v;
  var month = word.length >= 3 && RB_MONTHS_.some(function (m) { return word.indexOf(m) === 0; });
  return month && /^\.*[ ,]/.test(rest) && /\d/.test(rest) ? "'" + v : v;
}

/** One fetchAll for the wave; a failure of the whole call (no network) counts as no response. */
function rbFetchAll_(built, key) {
  var headers = {};
  built.endpoint.headers.forEach(function (h) { headers[h[0]] = h[1]; });
  if (built.endpoint.auth === 'bearer') headers.Authorization = 'Bearer ' + key;
  else headers['x-api-key'] = key;
  var requests = built.requests.map(function (r) {
    return { url: built.endpoint.url, method: 'post', contentType: 'application/json', headers: headers, payload: r.body, muteHttpExceptions: true };
  });
  try {
    return UrlFetchApp.fetchAll(requests).map(function (res) {
      return { status: res.getResponseCode(), headers: res.getAllHeaders(), body: res.getContentText() };
    });
  } catch (e) {
    return requests.map(function () { return { status: 0, headers: {}, body: String(e && e.message) }; });
  }
}

/** The snapshot the sidebar polls: Script Properties, a few hundred bytes, one write a wave. */
function rbReport_(plan, run, summary, extra) {
  var c = plan.counts;
  var p = {
    done: c.done, failed: c.failed, duplicates: c.duplicates, excluded: c.excluded, pending: c.due + c.waiting + c.inFlight,
    rows: c.rows, costUsd: run.costUsd, budgetUsd: extra && extra.budgetUsd, startedAt: run.startedAt, at: Date.now(),
    sent: summary.sent, finished: plan.finished, stop: (extra && extra.stop) || null, paused: null,
    alertProblem: PropertiesService.getScriptProperties().getProperty('ROWBATCH_ALERT_PROBLEM'),
    errors: plan.failed.slice(-8).map(function (f) { return { row: f.sheetRow, key: f.key, note: String(f.reason).slice(0, 200) }; }),
  };
  PropertiesService.getScriptProperties().setProperty('ROWBATCH_PROGRESS', JSON.stringify(p));
  console.log('rowbatch progress ' + JSON.stringify(p));
}

/** The scope MailApp needs; left out of the manifest so that nobody grants mail access unused. */
var RB_MAIL_SCOPE_ = 'https://www.googleapis.com/auth/script.send_mail';

/**
 * Email alerts, off unless the Script Property ROWBATCH_ALERT_EMAIL names a recipient: one
 * notice when the run finishes or stops, and one when more than a fifth of the first 20+
 * finished rows failed. The scope is checked first (a call without it throws "You do not
 * have permission to call MailApp.sendEmail"), and nothing about mail ever stops a slice:
 * what went wrong is kept in ROWBATCH_ALERT_PROBLEM for the sidebar.
 */
function rbAlerts_(props, spec, run, plan, stop) {
  var to = props.getProperty('ROWBATCH_ALERT_EMAIL');
  if (!to) return;
  var c = plan.counts;
  var sent = JSON.parse(props.getProperty('ROWBATCH_ALERTS') || '{}');
  if (sent.run !== run.id) sent = { run: run.id };
  var finished = c.done + c.failed;
  var line = c.done + ' done, ' + c.failed + ' failed, ' + (c.due + c.waiting + c.inFlight) + ' pending; $' + run.costUsd.toFixed(4) + ' spent';
  var due = [];
  if (!sent.failureRate && finished >= 20 && c.failed / finished > 0.2) {
    due.push({ flag: 'failureRate', subject: 'rowbatch: many rows are failing in ' + spec.name, body: line + '\nOpen the output sheet for the reasons (_note column).' });
  }
  if (!sent.done && (plan.finished || stop)) {
    due.push({ flag: 'done', subject: 'rowbatch: ' + spec.name + (stop ? ' stopped' : ' finished'), body: line + (stop ? '\nStopped: ' + stop : '') });
  }
  if (due.length === 0) return;
  var auth = ScriptApp.getAuthorizationInfo(ScriptApp.AuthMode.FULL, [RB_MAIL_SCOPE_]);
  if (auth.getAuthorizationStatus() === ScriptApp.AuthorizationStatus.REQUIRED) {
    props.setProperty('ROWBATCH_ALERT_PROBLEM', 'Alerts to ' + to + ' are on, but the project may not send mail: add "' + RB_MAIL_SCOPE_ +
      '" to oauthScopes in appsscript.json, push, and accept the new permission.');
    return;
  }
  due.forEach(function (a) {
    try {
      MailApp.sendEmail(to, a.subject, a.body);
      sent[a.flag] = true;
      props.deleteProperty('ROWBATCH_ALERT_PROBLEM');
    } catch (e) {
      props.setProperty('ROWBATCH_ALERT_PROBLEM', 'An alert to ' + to + ' was not sent: ' + String(e && e.message).slice(0, 300));
    }
  });
  props.setProperty('ROWBATCH_ALERTS', JSON.stringify(sent));
}

/** For the sidebar. */
function rowbatchProgress() {
  return JSON.parse(PropertiesService.getScriptProperties().getProperty('ROWBATCH_PROGRESS') || 'null');
}

/** Appends outcome lines to the Progress sheet, under the caller's lock: one read, one write. */
function rbAppendLog_(ss, log, sheet) {
  sheet = sheet || rbSheet_(ss, RB_LOG_SHEET_, RB_LOG_COLUMNS_, false);
  rbPut_(sheet, sheet.getLastRow() + 1, 1, log.map(function (r) { return r.map(rbSafe_); }), 0);
  return sheet;
}

/** Lines not yet appended when the slice ends (none, when every wave was reconciled). */
function rbWriteLog_(ss, log) {
  if (log.length === 0) return;
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  rbAppendLog_(ss, log, null);
  SpreadsheetApp.flush();
  lock.releaseLock();
}

/** The run's row in the Batches sheet, updated in place. */
function rbRecordBatch_(ss, rb, spec, run, plan, stop) {
  var rec = rb.batchRecord({ spec: spec, id: run.id, startedAt: run.startedAt, now: Date.now(), costUsd: run.costUsd, counts: plan.counts, finished: plan.finished, stopped: stop });
  rbWriteBatchRow_(ss, rec.header, rec.cells.map(function (c) { return c === null ? '' : c; }));
}

/** Writes a row of the Batches sheet in place (found by its id in column A), or appends it. */
function rbWriteBatchRow_(ss, header, cells) {
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  var sheet = rbSheet_(ss, RB_BATCH_SHEET_, header, false);
  var last = sheet.getLastRow();
  var ids = last >= 2 ? sheet.getRange(2, 1, last - 1, 1).getValues() : [];
  var at = ids.findIndex(function (r) { return String(r[0]) === String(cells[0]); });
  rbPut_(sheet, at >= 0 ? at + 2 : last + 1, 1, [cells.map(rbSafe_)], 0);
  SpreadsheetApp.flush();
  lock.releaseLock();
}

/**
 * Deletes the continuation triggers (fired ones stay listed until deleted); keeps one heartbeat
 * while the run goes on (`running`), none once it has ended.
 */
function rbTriggers_(running) {
  var beats = 0;
  ScriptApp.getProjectTriggers().forEach(function (t) {
    var fn = t.getHandlerFunction();
    if (fn === RB_CONTINUE_ || (fn === RB_HEARTBEAT_ && (!running || beats++ > 0))) ScriptApp.deleteTrigger(t);
  });
  if (running && beats === 0) ScriptApp.newTrigger(RB_HEARTBEAT_).timeBased().everyMinutes(10).create();
}

/** One continuation trigger at most; finished ones are deleted so they never pile up. */
function rbScheduleNext_(plan, stop) {
  var ended = !plan || plan.finished || !!stop;
  rbTriggers_(!ended);
  if (ended) return;
  var wait = plan.nextAt ? Math.max(1000, plan.nextAt - Date.now()) : 1000;
  ScriptApp.newTrigger(RB_CONTINUE_).timeBased().after(wait).create();
}
