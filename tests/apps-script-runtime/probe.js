// Functions the runtime's tests call inside executions, next to the project's own files.
function probeGlobals(names) {
  return names.filter(function (n) { return typeof globalThis[n] !== 'undefined'; });
}

function probeSheets() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var s = ss.insertSheet('Probe');
  s.getRange('A1:C2').setValues([['=1+1', "'=2+2", '42'], ['=IMPORTXML("http://x","//a")', 'TRUE', new Date(Date.UTC(2026, 0, 2))]]);
  s.appendRow(['x', 1.5]);
  var hidden = ss.insertSheet('Hidden');
  hidden.hideSheet();
  var errors = [];
  try { s.getRange(1, 1, 2, 2).setValues([[1, 2]]); } catch (e) { errors.push(e.message); }
  try { s.getRange(1, 1, 1, 2).setValues([[1, 2, 3]]); } catch (e) { errors.push(e.message); }
  try { ss.insertSheet('Probe'); } catch (e) { errors.push(e.message); }
  var values = s.getRange(1, 1, 3, 3).getValues();
  return {
    values: values.map(function (r) { return r.map(function (v) { return v instanceof Date ? 'date:' + v.toISOString() : v; }); }),
    formulas: s.getRange('A1:B2').getFormulas(),
    types: values[0].map(function (v) { return typeof v; }),
    lastRow: s.getLastRow(), lastColumn: s.getLastColumn(), a1: s.getRange(2, 2, 2, 2).getA1Notation(),
    hidden: hidden.isSheetHidden(), sheets: ss.getSheets().map(function (x) { return x.getName(); }),
    errors: errors,
  };
}

function probeProperties(valueBytes, count) {
  var p = PropertiesService.getScriptProperties();
  var errors = [];
  try { p.setProperty('big', new Array(valueBytes + 1).join('x')); } catch (e) { errors.push(e.message); }
  try { for (var i = 0; i < count; i += 1) p.setProperty('k' + i, new Array(8001).join('y')); } catch (e) { errors.push(e.message); }
  p.setProperty('small', 'v');
  PropertiesService.getUserProperties().setProperty('u', '1');
  return { errors: errors, small: p.getProperty('small'), user: PropertiesService.getUserProperties().getProperty('u'), doc: PropertiesService.getDocumentProperties().getProperty('u') };
}

/** Holds the script lock for `ms`, recording when it had it. */
function probeLock(name, ms, wait) {
  var lock = LockService.getScriptLock();
  var got = wait ? (lock.waitLock(wait), true) : lock.tryLock(0);
  if (!got) return { name: name, got: false };
  var from = Date.now();
  Utilities.sleep(ms);
  var until = Date.now();
  lock.releaseLock();
  return { name: name, got: true, from: from, until: until };
}

function probeTriggers(n) {
  var made = 0;
  var error = null;
  try { for (var i = 0; i < n; i += 1) { ScriptApp.newTrigger('probeFired').timeBased().after(1000 * (i + 1)).create(); made += 1; } } catch (e) { error = e.message; }
  return { made: made, error: error, listed: ScriptApp.getProjectTriggers().length };
}

function probeFired(e) {
  var p = PropertiesService.getScriptProperties();
  p.setProperty('fired', String(Number(p.getProperty('fired') || 0) + 1));
  return e.triggerUid;
}

function probeDeleteTriggers() {
  ScriptApp.getProjectTriggers().forEach(function (t) { ScriptApp.deleteTrigger(t); });
  return ScriptApp.getProjectTriggers().length;
}

/** Writes a row every second, forever: only the 6-minute kill stops it. */
function probeForever() {
  LockService.getScriptLock().waitLock(1000);
  var s = SpreadsheetApp.getActiveSpreadsheet().insertSheet('Forever');
  for (var i = 1; ; i += 1) {
    s.getRange(i, 1).setValue(i);
    Utilities.sleep(1000);
  }
}

function probeClock() {
  var t0 = Date.now();
  Utilities.sleep(200 * 1000);
  var c = CacheService.getScriptCache();
  c.put('k', 'v', 60);
  var before = c.get('k');
  Utilities.sleep(61 * 1000);
  return { slept: Date.now() - t0, before: before, after: c.get('k'), date: new Date().getTime() === Date.now() };
}

function probeFetch(url, mute) {
  try {
    var r = UrlFetchApp.fetch(url, { method: 'post', contentType: 'application/json', payload: '{}', headers: { Authorization: 'Bearer invalid' }, muteHttpExceptions: mute });
    return { code: r.getResponseCode(), body: r.getContentText().slice(0, 60) };
  } catch (e) {
    return { thrown: e.message };
  }
}

function probeUtilities() {
  var bytes = Utilities.base64Decode(Utilities.base64Encode('héllo'));
  var digest = Utilities.computeDigest(Utilities.DigestAlgorithm.SHA_256, 'abc');
  return { signed: bytes.some(function (b) { return b < 0; }), length: bytes.length, digest0: digest[0], uuid: Utilities.getUuid().length, user: Session.getActiveUser().getEmail() };
}

/** A new sheet's grid, the exceptions past it, and the calls that grow it. */
function probeGrid() {
  var s = SpreadsheetApp.getActiveSpreadsheet().insertSheet('Grid');
  var out = { size: [s.getMaxRows(), s.getMaxColumns()], errors: [] };
  function attempt(f) {
    try { f(); out.errors.push(null); } catch (e) { out.errors.push(e.message); }
  }
  attempt(function () { s.getRange(1001, 1, 1, 1); });
  attempt(function () { s.getRange(1, 27); });
  attempt(function () { s.getRange(999, 1, 5, 2).setValues([[1, 2], [1, 2], [1, 2], [1, 2], [1, 2]]); });
  attempt(function () { s.getRange('A1001'); });
  attempt(function () { s.insertRowsAfter(1, 400000); });
  s.getRange(1000, 1).setValue('last');
  s.appendRow(['appended']);
  out.afterAppend = [s.getMaxRows(), s.getRange(1001, 1).getValue()];
  s.insertRowsAfter(s.getMaxRows(), 500);
  s.insertColumnsAfter(26, 4);
  out.grown = [s.getMaxRows(), s.getMaxColumns()];
  s.getRange(1501, 30).setValue('corner');
  out.corner = s.getRange('AD1501').getValue();
  out.open = s.getRange('A2:B').getNumRows();
  s.insertRowsBefore(1, 1);
  out.shifted = [s.getRange(1001, 1).getValue(), s.getRange(1002, 1).getValue(), s.getMaxRows()];
  return out;
}

/** `n` fetchAll calls of `size` requests each; stops at the first refusal and says why. */
function probeFetchQuota(url, n, size) {
  var done = 0;
  try {
    for (var i = 0; i < n; i += 1) {
      var reqs = [];
      for (var j = 0; j < size; j += 1) reqs.push({ url: url, method: 'post', contentType: 'application/json', payload: '{}', muteHttpExceptions: true });
      UrlFetchApp.fetchAll(reqs);
      done += size;
    }
  } catch (e) {
    return { done: done, error: e.message };
  }
  return { done: done, error: null };
}

/** A wave of `n` requests, timed on the (simulated) clock. */
function probeWave(url, n) {
  var reqs = [];
  for (var j = 0; j < n; j += 1) {
    reqs.push({ url: url, method: 'post', contentType: 'application/json', muteHttpExceptions: true,
      payload: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'row ' + j }] }) });
  }
  var t0 = Date.now();
  UrlFetchApp.fetchAll(reqs);
  return Date.now() - t0;
}

function probeMail(to) {
  try {
    MailApp.sendEmail(to, 'subject', 'body');
    return { sent: true, remaining: MailApp.getRemainingDailyQuota() };
  } catch (e) {
    return { error: e.message };
  }
}

function probeScope() {
  return ScriptApp.getAuthorizationInfo(ScriptApp.AuthMode.FULL, ['https://www.googleapis.com/auth/script.send_mail']).getAuthorizationStatus();
}

/** Sheets calls on the simulated clock: one 1,000-cell write, one 1,000-cell read, a flush. */
function probeSheetsCost() {
  var s = SpreadsheetApp.getActiveSpreadsheet().insertSheet('Cost');
  var rows = [];
  for (var i = 0; i < 100; i += 1) rows.push([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  var t0 = Date.now();
  s.getRange(1, 1, 100, 10).setValues(rows);
  var t1 = Date.now();
  s.getRange(1, 1, 100, 10).getValues();
  var t2 = Date.now();
  SpreadsheetApp.flush();
  var t3 = Date.now();
  for (var j = 1; j <= 100; j += 1) s.getRange(j, 1).setValue(j);
  var t4 = Date.now();
  return { write: t1 - t0, read: t2 - t1, flush: t3 - t2, single: t4 - t3 };
}

function probeSleep(ms) {
  Utilities.sleep(ms);
  return Date.now();
}

/** Writes each text as the run writes cells (the core's sheetText) and as it is; reads both back. */
function probeTyping(samples) {
  var rb = rowbatchSync_();
  var s = SpreadsheetApp.getActiveSpreadsheet().insertSheet('Typing');
  s.getRange(1, 1, samples.length, 2).setValues(samples.map(function (t) { return [t, rb.sheetText(t)]; }));
  return s.getRange(1, 1, samples.length, 2).getValues().map(function (r) {
    return r.map(function (v) { return v instanceof Date ? 'date:' + v.toISOString() : v; });
  });
}

function probeNotes() {
  var s = SpreadsheetApp.getActiveSpreadsheet().insertSheet('Notes');
  s.getRange('A1:B2').setNotes([['a1', ''], [null, 'b2']]);
  s.insertRowsBefore(1, 2);
  s.insertColumnsBefore(1, 1);
  var errors = [];
  try { s.getRange(1, 1, 2, 2).setNotes([['x']]); } catch (e) { errors.push(e.message); }
  return { moved: s.getRange('B3:C4').getNotes(), top: s.getRange('A1:C2').getNotes(), errors: errors };
}
