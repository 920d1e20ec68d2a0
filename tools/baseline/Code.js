/*
 * The baseline for `npm run bench`: the loop the seed notes started from, as an Apps Script
 * project of its own. One row per UrlFetch call, in sheet order; an error is retried three times
 * after a sleep; every answer is appended with appendRow; a row-count checkpoint is saved every 10
 * rows; at 5 minutes the execution schedules a trigger to continue. No rate-limit handling, no
 * validation, no duplicate detection.
 */
function baselineRun() {
  var started = Date.now();
  var props = PropertiesService.getScriptProperties();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = JSON.parse(String(ss.getSheetByName('_rowbatch_spec').getRange(1, 1).getValue()));
  var input = ss.getSheetByName(spec.input.sheet);
  var out = ss.getSheetByName('Baseline') || ss.insertSheet('Baseline');
  var data = input.getDataRange().getValues();
  var next = Number(props.getProperty('BASELINE_ROW') || 1);
  for (; next < data.length; next += 1) {
    if (Date.now() - started > 5 * 60 * 1000) break;
    var row = data[next];
    var prompt = data[0].map(function (h, j) { return h + ': ' + row[j]; }).join('\n');
    var body = JSON.stringify({ model: spec.provider.model, max_completion_tokens: spec.provider.maxOutputTokens || 1024,
      messages: [{ role: 'system', content: spec.prompt.system }, { role: 'user', content: prompt }] });
    var answer = null;
    for (var attempt = 0; attempt < 3 && answer === null; attempt += 1) {
      try {
        var res = UrlFetchApp.fetch(spec.provider.baseUrl + '/chat/completions', { method: 'post', contentType: 'application/json',
          headers: { Authorization: 'Bearer ' + props.getProperty('OPENAI_API_KEY') }, payload: body });
        answer = JSON.parse(res.getContentText()).choices[0].message.content;
      } catch (e) {
        Utilities.sleep(2000);
      }
    }
    out.appendRow([row[0], answer === null ? 'ERROR' : answer]);
    if (next % 10 === 0) props.setProperty('BASELINE_ROW', String(next + 1));
  }
  props.setProperty('BASELINE_ROW', String(next));
  ScriptApp.getProjectTriggers().forEach(function (t) { ScriptApp.deleteTrigger(t); });
  if (next < data.length) ScriptApp.newTrigger('baselineRun').timeBased().after(1000).create();
  console.log('baseline progress ' + JSON.stringify({ done: next - 1, at: Date.now() }));
  return { done: next - 1, rows: data.length - 1 };
}
