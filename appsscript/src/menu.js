/*
 * The Sheets menu and its dialogs. They only call the
 * runner and the core; none of them decides anything.
 */

/** Adds the rowbatch menu when the spreadsheet opens. */
function onOpen() {
  SpreadsheetApp.getUi().createMenu('rowbatch')
    .addItem('Open sidebar', 'rowbatchOpenSidebar')
    .addItem('Validate selection', 'rowbatchValidateMenu')
    .addItem('Apply fixes to the input', 'rowbatchApplyFixesMenu')
    .addItem('Estimate cost', 'rowbatchEstimateMenu')
    .addItem('Dry run', 'rowbatchDryRunMenu')
    .addSeparator()
    .addItem('Start', 'rowbatchStartMenu')
    .addItem('Run selected rows', 'rowbatchRunSelectionMenu')
    .addItem('Stop', 'rowbatchStop')
    .addItem('Resume', 'rowbatchResume')
    .addItem('Retry failed rows', 'rowbatchRetryFailed')
    .addSeparator()
    .addItem('Submit as batch', 'rowbatchSubmitBatchMenu')
    .addItem('Cancel batches', 'rowbatchCancelBatches')
    .addSeparator()
    .addItem('Report', 'rowbatchReportMenu')
    .addItem('Settings', 'rowbatchSettings')
    .addItem('Measure Apps Script', 'rowbatchMeasureMenu')
    .addToUi();
}

function rowbatchOpenSidebar() {
  SpreadsheetApp.getUi().showSidebar(HtmlService.createHtmlOutputFromFile('sidebar').setTitle('rowbatch'));
}

/** Selects an input row (the sidebar's error links). */
function rowbatchShowRow(row) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  var sheet = spec.input.sheet ? ss.getSheetByName(spec.input.sheet) : ss.getSheets()[0];
  var n = Math.floor(Number(row));
  if (!sheet || !(n >= 1)) throw new Error('rowbatch: no such row: ' + row);
  sheet.getRange(n, 1, 1, Math.max(1, sheet.getLastColumn())).activate();
  return n;
}

/** The sidebar, validating the selection as it opens (in the browser, like its button). */
function rowbatchValidateMenu() {
  SpreadsheetApp.getUi().showSidebar(HtmlService.createHtmlOutputFromFile('sidebar').setTitle('rowbatch')
    .append('<script>document.getElementById("validate").click();</script>'));
}

/** The selected rows of the input sheet, with its header and the spec, for the sidebar to check. */
function rowbatchSelection() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  var range = ss.getActiveRange();
  var sheet = range.getSheet();
  var headerRow = spec.input.headerRow || 1;
  var header = sheet.getRange(headerRow, 1, 1, Math.max(1, sheet.getLastColumn())).getValues()[0].map(String);
  var first = Math.max(range.getRow(), headerRow + 1);
  var last = range.getLastRow();
  var rows = last >= first ? sheet.getRange(first, 1, last - first + 1, header.length).getValues() : [];
  return { spec: spec, header: header, firstRow: first, rows: rows.map(rbCells_) };
}

/**
 * The selection checked here, with the same core, for a sidebar whose frame could not start the
 * module. The cells are read again on the server: nothing the page sends is trusted.
 */
async function rowbatchValidateOnServer() {
  var rb = await rowbatchAsync_();
  var sel = rowbatchSelection();
  return rb.validateRows({ spec: sel.spec, header: sel.header, rows: sel.rows, firstRow: sel.firstRow });
}

/** Runs the rows selected in the input sheet, first to last (the selection's own rows only). */
async function rowbatchRunSelectionMenu() {
  var range = SpreadsheetApp.getActiveSpreadsheet().getActiveRange();
  return rowbatchRunRows(range.getRow(), range.getLastRow());
}

/** The job's estimate as a dialog: rows, cost realtime and with the Batch API, ETA. */
async function rowbatchEstimateMenu() {
  var e = await rowbatchEstimate();
  var lines = [e.rows + ' rows to send'];
  if (e.cost) {
    lines.push('Realtime: $' + e.cost.realtime.toFixed(4) + ' ($' + e.cost.realtimeCached.toFixed(4) + ' with caching)');
    lines.push('Batch API: $' + e.cost.batch.toFixed(4) + ' (prices of ' + e.cost.priceDate + ')');
  }
  lines.push('About ' + e.eta.minutes + ' minutes (' + e.eta.executions + ' executions)');
  SpreadsheetApp.getUi().alert(lines.concat(e.warnings).join('\n'));
  return e;
}

/** Dry run from the menu: the core's lines (rows, cost, the first request's endpoint). */
async function rowbatchDryRunMenu() {
  var r = await rowbatchDryRun();
  SpreadsheetApp.getUi().alert(r.dryRun.lines.join('\n'));
  return r;
}

async function rowbatchEstimate() {
  var rb = await rowbatchAsync_();
  var job = rbJobInput_(SpreadsheetApp.getActiveSpreadsheet());
  return rb.estimateJob({ spec: job.spec, header: job.input.header, rows: job.input.rows });
}

/** The selected job's spec and its input block (one read), or an error naming the sheet. */
function rbJobInput_(ss) {
  var spec = rbSpec_(ss);
  var input = rbInput_(ss, spec.input.sheet, spec.input.headerRow || 1);
  if (!input) throw new Error('rowbatch: the input sheet "' + spec.input.sheet + '" does not exist');
  return { spec: spec, input: input };
}

/**
 * Start from the menu: a job that needs more than one day of the account's Apps Script quotas
 * says so first and offers the Batch API (half the price, a few UrlFetch calls); started
 * anyway, it pauses when a quota is spent and resumes when it frees.
 */
async function rowbatchStartMenu() {
  var e = await rowbatchEstimate();
  if (e.quotaDays > 1) {
    var ui = SpreadsheetApp.getUi();
    var answer = ui.alert('rowbatch: about ' + e.quotaDays + ' days of Apps Script quotas',
      e.warnings.join('\n') + '\n\nYes: start now; the run pauses when a daily quota is used and resumes when it frees.\n' +
      'No: submit the job to the provider\'s Batch API instead.', ui.ButtonSet.YES_NO_CANCEL);
    if (answer === ui.Button.NO) return rowbatchSubmitBatchMenu();
    if (answer !== ui.Button.YES) return { cancelled: true };
  }
  return rowbatchRun();
}

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

/** The report as a dialog; the Report sheet is rewritten too. */
async function rowbatchReportMenu() {
  var r = await rowbatchReport();
  var name = 'rowbatch-report';
  var link = function (file, type, text) {
    return '<a download="' + file + '" href="data:' + type + ';charset=utf-8,' + encodeURIComponent(text) + '">' + file + '</a>';
  };
  var html = '<div style="font:13px sans-serif">' +
    link(name + '.csv', 'text/csv', r.csv) + ' · ' + link(name + '.json', 'application/json', JSON.stringify(r.summary, null, 2)) +
    ' · ' + link(name + '.md', 'text/markdown', r.markdown) + '</div><pre style="white-space:pre-wrap">' + rbEscapeHtml_(r.markdown) + '</pre>';
  SpreadsheetApp.getUi().showModalDialog(HtmlService.createHtmlOutput(html).setWidth(720).setHeight(560), 'rowbatch report');
  return r.summary;
}

function rbEscapeHtml_(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}

/**
 * For the sidebar: the snapshot the run keeps in Script Properties (a few hundred bytes), with
 * its last round of workers while the run is on (ROWBATCH_WORKERS, written by the core's `fan`).
 */
function rowbatchProgress() {
  var all = PropertiesService.getScriptProperties().getProperties();
  var p = JSON.parse(all.ROWBATCH_PROGRESS || 'null');
  var round = JSON.parse(all.ROWBATCH_WORKERS || 'null');
  // A round older than an orchestrating slice can live belongs to a run gone by.
  if (p && round && !p.finished && round.at >= p.startedAt && p.at - round.at < 10 * 60000) p.workers = round;
  return p;
}
