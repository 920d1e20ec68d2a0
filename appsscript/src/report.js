/*
 * The run report, made by the core from the sheets: a Report sheet, a dialog with the Markdown
 * and the CSV/JSON/Markdown files to download, and the web app's `report` action.
 */
var RB_REPORT_SHEET_ = 'Report';

/** Where the job stands, read from the sheets: the report's summary, Markdown and CSV. */
async function rowbatchReport() {
  var rb = await rowbatchAsync_();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  var report = rbMakeReport_(rb, ss, spec);
  rbWriteReport_(ss, report);
  return report;
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

/**
 * The report from the input, the whole output sheet and the progress ledger; `known` passes
 * what the runner has read already ({keyed, out, progress}).
 */
function rbMakeReport_(rb, ss, spec, known) {
  var props = PropertiesService.getScriptProperties();
  var keyed = known && known.keyed;
  if (!keyed) {
    var input = rbInput_(ss, spec);
    keyed = rb.keyRows({ spec: spec, header: input.header, rows: input.rows, firstRow: input.firstRow });
  }
  var out = known ? known.out : ss.getSheetByName(spec.output.sheet || 'Output');
  var progress = known ? known.progress : ss.getSheetByName(RB_PROGRESS_SHEET_);
  var run = JSON.parse(props.getProperty('ROWBATCH_RUN') || 'null');
  return rb.report({
    spec: spec, inputs: keyed, now: Date.now(),
    outputs: out ? rbBlock_(out, rb.checkSpec({ spec: spec }).outputColumns.length) : { rows: [] },
    progress: progress ? rbBlock_(progress, rbWidth_(rb).progress) : { rows: [] },
    run: run && { id: run.id, startedAt: run.startedAt, costUsd: run.costUsd, budgetUsd: spec.budget ? spec.budget.maxUsd : null,
      stopped: props.getProperty('ROWBATCH_STOP'), pauses: run.pauses || [],
      earlierPauses: run.earlierPauses || 0, earlierPausedMs: run.earlierPausedMs || 0 },
  });
}

/** The Report sheet: cleared and written in one block. */
function rbWriteReport_(ss, report) {
  var sheet = ss.getSheetByName(RB_REPORT_SHEET_) || ss.insertSheet(RB_REPORT_SHEET_);
  sheet.clear();
  rbPut_(sheet, 1, 1, report.table.map(function (r) {
    return r.map(function (c) { return c === null ? '' : c; });
  }), 0);
}

function rbEscapeHtml_(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}
