/*
 * Saved jobs, for the sidebar's new-job form. Each job the form saves is one row (name, spec) of
 * the hidden sheet `_rowbatch_jobs`; the selected job's spec is also in A1 of `_rowbatch_spec`,
 * where the runner reads it. A spec is stored only once the core has accepted it, and the
 * selected job does not change under a run that is still going.
 */

var RB_JOBS_ = '_rowbatch_jobs';
/** Google's limit for one cell (PLATFORM.md: "50,000 characters in a single cell"). */
var RB_CELL_CHARS_ = 50000;

/** What the form starts from: the active sheet's header and selected row, and the saved jobs. */
function rowbatchFormContext() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var range = ss.getActiveRange();
  var sheet = range ? range.getSheet() : ss.getActiveSheet();
  var lastCol = Math.max(1, sheet.getLastColumn());
  var lastRow = sheet.getLastRow();
  var header = sheet.getRange(1, 1, 1, lastCol).getValues()[0].map(String);
  while (header.length > 0 && header[header.length - 1] === '') header.pop();
  var row = Math.max(2, range ? range.getRow() : 2);
  var values = row <= lastRow && header.length > 0 ? rbCells_(sheet.getRange(row, 1, 1, header.length).getValues()[0]) : null;
  var current = rbCurrent_(ss); // none yet: the form starts blank
  return { sheet: sheet.getName(), header: header, rows: Math.max(0, lastRow - 1), row: row, values: values,
    jobs: rbJobs_(ss, current).map(function (j) { return j.name; }), current: current, running: rbRunGoing_() };
}

/**
 * The new-job form's core calls, made here for a sidebar whose page cannot start the module:
 * the same functions, answered as data (google.script.run keeps only an error's message).
 */
async function rowbatchCore(name, arg) {
  if (['formFromSpec', 'reviewJob', 'priceTable'].indexOf(name) < 0) throw new Error('rowbatch: not a form call: ' + name);
  var rb = await rowbatchAsync_();
  try {
    return { ok: true, value: name === 'priceTable' ? rb.priceTable() : rb[name](arg) };
  } catch (e) {
    return { ok: false, error: { message: String(e && e.message), data: (e && e.data) || null } };
  }
}

/** A saved job's spec, by name. */
function rowbatchJob(name) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var job = rbJobs_(ss, rbCurrent_(ss)).filter(function (j) { return j.name === name; })[0];
  if (!job) throw new Error('rowbatch: no saved job named ' + JSON.stringify(String(name)));
  return job.spec;
}

/**
 * Saves a spec under its name (replacing a job of that name) and, with `select`, makes it the
 * job the runner reads. Returns the core's problems instead when it does not accept the spec.
 */
async function rowbatchSaveJob(spec, select) {
  var rb = await rowbatchAsync_();
  try {
    rb.checkSpec({ spec: spec });
  } catch (e) {
    return { ok: false, problems: rbProblems_(e) };
  }
  var text = JSON.stringify(spec);
  if (text.length + 1 > RB_CELL_CHARS_) {
    return { ok: false, problems: ['(spec): expected at most ' + (RB_CELL_CHARS_ - 1) + ' characters (a cell holds ' + RB_CELL_CHARS_ + '), found ' + text.length] };
  }
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var lock = LockService.getScriptLock();
  lock.waitLock(10000);
  try {
    var current = rbCurrent_(ss);
    var selecting = select || Boolean(current && current.name === spec.name);
    if (selecting && rbRunGoing_()) return { ok: false, problems: [rbRunGoingMessage_()] };
    var sheet = rbHiddenSheet_(ss, RB_JOBS_);
    rbPut_(sheet, rbJobRow_(sheet, spec.name) || sheet.getLastRow() + 1, 1, [["'" + spec.name, "'" + text]], 0);
    if (selecting) rbHiddenSheet_(ss, '_rowbatch_spec').getRange(1, 1).setValue("'" + text);
  } finally {
    lock.releaseLock();
  }
  return { ok: true, selected: selecting, context: rowbatchFormContext() };
}

/** Makes a saved job the one the runner reads (refused while a run is going). */
function rowbatchSelectJob(name) {
  var spec = rowbatchJob(name);
  var lock = LockService.getScriptLock();
  lock.waitLock(10000);
  try {
    if (rbRunGoing_()) return { ok: false, problems: [rbRunGoingMessage_()] };
    rbHiddenSheet_(SpreadsheetApp.getActiveSpreadsheet(), '_rowbatch_spec').getRange(1, 1).setValue("'" + JSON.stringify(spec));
  } finally {
    lock.releaseLock();
  }
  return { ok: true, context: rowbatchFormContext() };
}

/** Saves the API key for the selected job's provider (user Properties) and checks it for nothing. */
async function rowbatchSaveKey(key) {
  var spec = rbSpec_(SpreadsheetApp.getActiveSpreadsheet());
  if (key) PropertiesService.getUserProperties().setProperty(rbKeyName_(spec.provider.kind), String(key).trim());
  try {
    return (await rowbatchCheckKey()).keyCheck;
  } catch (e) {
    return { ok: false, status: null, message: String(e && e.message) };
  }
}

/**
 * The selected job's spec changed in place (the settings dialog): where the runner reads it, and
 * in its saved row, so choosing another job and back does not undo the change.
 */
function rbUpdateSelected_(ss, spec) {
  var text = "'" + JSON.stringify(spec);
  rbHiddenSheet_(ss, '_rowbatch_spec').getRange(1, 1).setValue(text);
  var sheet = ss.getSheetByName(RB_JOBS_);
  var row = sheet ? rbJobRow_(sheet, spec.name) : 0;
  if (row) sheet.getRange(row, 2).setValue(text);
}

/** The row of the job named `name` in the saved jobs' sheet; 0 when it has none. */
function rbJobRow_(sheet, name) {
  if (sheet.getLastRow() === 0) return 0;
  var names = sheet.getRange(1, 1, sheet.getLastRow(), 1).getValues().map(function (r) { return String(r[0]); });
  return names.indexOf(name) + 1;
}

/**
 * The saved jobs; the selected spec (`current`, from `_rowbatch_spec`) is one too even if it was
 * never saved through the form.
 */
function rbJobs_(ss, current) {
  var sheet = ss.getSheetByName(RB_JOBS_);
  var jobs = [];
  if (sheet && sheet.getLastRow() > 0) {
    sheet.getRange(1, 1, sheet.getLastRow(), 2).getValues().forEach(function (r) {
      if (r[0] !== '') jobs.push({ name: String(r[0]), spec: JSON.parse(String(r[1])) });
    });
  }
  if (current && !jobs.some(function (j) { return j.name === current.name; })) jobs.unshift({ name: current.name, spec: current });
  return jobs;
}

/** The selected job's spec, or null when there is none yet. */
function rbCurrent_(ss) {
  try {
    return rbSpec_(ss);
  } catch (e) {
    return null;
  }
}

/**
 * Whether a run has started and neither finished nor been asked to stop (a paused run is going).
 * The progress snapshot learns of a Stop at the next slice; the stop request is there at once.
 */
function rbRunGoing_() {
  var p = rowbatchProgress();
  return Boolean(p && !p.finished && !p.stop && !PropertiesService.getScriptProperties().getProperty('ROWBATCH_STOP'));
}

function rbRunGoingMessage_() {
  return 'a run of the selected job is going: stop it (Stop) or let it finish before changing the selected job';
}

function rbHiddenSheet_(ss, name) {
  var sheet = ss.getSheetByName(name);
  if (!sheet) {
    sheet = ss.insertSheet(name);
    sheet.hideSheet();
  }
  return sheet;
}

/** The core's error as `path: expected …, found …` lines. */
function rbProblems_(e) {
  var data = (e && e.data) || [];
  if (data.length === 0) return [String(e && e.message)];
  return data.map(function (p) { return p.path + ': expected ' + p.expected + (p.found ? ', found ' + p.found : ''); });
}
