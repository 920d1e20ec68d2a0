/*
 * The run report, made by the core from the sheets (the driver's `report` flow): the Report sheet, a dialog with the Markdown
 * and the CSV/JSON/Markdown files to download, and the web app's `report` action.
 */
/** Where the job stands, from the sheets: the report's summary, Markdown and CSV (the Report sheet rewritten). */
async function rowbatchReport() { return rbDrive_('report'); }

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
