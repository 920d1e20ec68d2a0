/*
 * The job runner: an executor of the core's commands. Every entry point makes a driver
 * (`rb.Driver`) and performs what it asks — Sheets reads and writes, Properties, the script
 * lock, fetchAll, triggers, mail — reporting back what each returned, until it is done. What to
 * send, when to retry, what to write, what money to reserve and when to stop are decided in the
 * core (core/src/run); nothing here is policy. API keys stay in Properties: a fetch names the
 * Property, and only this file reads it.
 */

/** Starts a run (menu item, web app, `npm start`): a new run id, then the first slice. */
async function rowbatchRun() { return rbDrive_('run'); }

/** One time slice of the run; `e` is a trigger's event when a trigger started it. */
async function rowbatchContinue(e) { return rbDrive_('continue', e); }

/** Resumes a stopped or interrupted run where the sheets say it is. */
async function rowbatchResume() { return rbDrive_('resume'); }

/** Asks the run to stop: the running slice stops before its next wave, and no slice follows. */
async function rowbatchStop() { return rbDrive_('stop'); }

/** Continues a run whose last slice went silent; gone once the run ends. */
async function rowbatchHeartbeat(e) { return rbDrive_('heartbeat', e); }

/** "Retry failed rows" (menu, sidebar, web app): failed rows re-opened in place, then a slice. */
async function rowbatchRetryFailed() { return rbDrive_('retryFailed'); }

/** Where the job stands, from the sheets (no request is sent). */
async function rowbatchStatus() { return rbDrive_('status'); }

/** The run report from the sheets: summary, Markdown and CSV; the Report sheet rewritten. */
async function rowbatchReport() { return rbDrive_('report'); }

/** Submits every due row the budget allows as provider batches; returns the batches made. */
async function rowbatchSubmitBatch() { return rbDrive_('submitBatch'); }

/** The poll trigger: one state step for every pending batch, then ingestion of ended ones. */
async function rowbatchPollBatches() { return rbDrive_('pollBatches'); }

/** Cancels every pending batch; the next poll ingests what they had finished. */
async function rowbatchCancelBatches() { return rbDrive_('cancelBatches'); }

/** Asks the provider, for nothing, whether the key and the model will do (settings' Save). */
async function rowbatchCheckKey() { return rbDrive_('checkKey'); }

/** What a run would send now and what it would cost; nothing is sent, leased or written. */
async function rowbatchDryRun() { return rbDrive_('dryRun'); }

/** A run of the sheet rows `first` to `last` only (the run keeps to them in every slice). */
async function rowbatchRunRows(first, last) { return rbDrive_('run', null, { rows: [Number(first), Number(last)] }); }

/**
 * Runs one flow of the driver to its end. A trap in the module (a panic) loses the driver's
 * memory, not the run: the sheets are the source of truth, and a fresh driver continues from
 * them once.
 */
async function rbDrive_(flow, e, chosen) {
  var rb = await rowbatchAsync_();
  var x = { ss: SpreadsheetApp.getActiveSpreadsheet(), props: PropertiesService.getScriptProperties(), lock: null, sheets: {} };
  var start = { flow: flow, now: Date.now(), seed: rb.newSeed(), trigger: Boolean(e && e.triggerUid) };
  // Which rows (`run`, `dryRun`): a sheet range, keys, a count; the core checks them.
  if (chosen && chosen.rows) start.rows = chosen.rows;
  if (chosen && chosen.keys) start.keys = chosen.keys;
  if (chosen && chosen.limit !== undefined && chosen.limit !== null) start.limit = chosen.limit;
  if (chosen && chosen.batch) start.batch = chosen.batch;
  // Deployed as a web app (getUrl() is null until then): the run may start workers, unless an
  // orchestrator outside (the `rowbatch` CLI) runs this slice as one of its own.
  if (RB_CHAIN_FLOWS_.indexOf(flow) >= 0 && !(chosen && chosen.alone)) start.fanOut = Boolean(ScriptApp.getService().getUrl());
  for (var recovered = 0; ; recovered += 1) {
    var driver = new rb.Driver(start);
    try {
      var result = rbPerform_(driver, x);
      if (result && typeof result.run === 'string') result.startupMs = ROWBATCH_STARTUP_MS_;
      return result;
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError) || recovered > 0) throw err;
      if (x.lock) x.lock.releaseLock();
      x.lock = null;
      rowbatchRecover_(err, 'the run');
      start = { flow: 'continue', now: Date.now(), seed: rb.newSeed(), trigger: start.trigger };
    } finally {
      try { driver.free(); } catch (ignored) { /* a trapped instance is gone already */ }
    }
  }
}

/** The flows that may start workers: the run's chain of slices. */
var RB_CHAIN_FLOWS_ = ['run', 'continue', 'resume', 'retryFailed', 'heartbeat'];

/** The command loop: each step's commands in order, then their results back to the driver. */
function rbPerform_(driver, x) {
  var cmds = driver.begin();
  for (;;) {
    var results = [];
    for (var i = 0; i < cmds.length; i += 1) {
      var c = cmds[i];
      if (c.op === 'done') return c.result;
      if (c.op === 'fail') throw new Error(c.message);
      results.push(RB_OPS_[c.op](c, x));
    }
    cmds = driver.step({ now: Date.now(), results: results });
  }
}

/** What each command does in Apps Script; each returns the command's result (or null). */
var RB_OPS_ = {
  getProps: function (c, x) {
    var all = x.props.getProperties();
    var out = {};
    c.keys.forEach(function (k) { out[k] = k in all ? all[k] : null; });
    return out;
  },
  setProps: function (c, x) {
    var set = {};
    Object.keys(c.set).forEach(function (k) {
      if (c.set[k] === null) x.props.deleteProperty(k);
      else set[k] = c.set[k];
    });
    if (Object.keys(set).length > 0) x.props.setProperties(set);
    return null;
  },
  lock: function (c, x) {
    x.lock = LockService.getScriptLock();
    x.lock.waitLock(c.waitMs);
    return null;
  },
  unlock: function (c, x) {
    x.lock.releaseLock();
    x.lock = null;
    return null;
  },
  flush: function () { SpreadsheetApp.flush(); return null; },
  readCell: function (c, x) {
    var sheet = rbSheetOf_(x, c.sheet);
    return sheet ? String(sheet.getRange(1, 1).getValue()) : null;
  },
  readInput: function (c, x) { return rbInput_(x.ss, c.sheet, c.headerRow); },
  sheet: function (c, x) {
    x.sheets[c.name] = rbSheet_(x.ss, c.name, c.header, c.hidden);
    return null;
  },
  read: function (c, x) {
    var sheet = rbSheetOf_(x, c.sheet);
    return sheet ? rbBlock_(sheet, c.range, c.firstRow) : null;
  },
  write: function (c, x) {
    rbPut_(rbSheetOf_(x, c.sheet), c.row, c.col, c.values, c.step);
    return null;
  },
  append: function (c, x) {
    var sheet = rbSheetOf_(x, c.sheet) || (x.sheets[c.sheet] = rbSheet_(x.ss, c.sheet, c.header, false));
    rbPut_(sheet, sheet.getLastRow() + 1, 1, c.values, 0);
    return null;
  },
  replace: function (c, x) {
    var sheet = rbSheetOf_(x, c.sheet) || (x.sheets[c.sheet] = x.ss.insertSheet(c.sheet));
    sheet.clear();
    rbPut_(sheet, 1, 1, c.values, 0);
    return null;
  },
  hasKey: function (c) { return Boolean(rbKeyOf_(c.name)); },
  fetch: function (c) {
    var headers = Object.assign({}, c.headers);
    var key = rbKeyOf_(c.key);
    if (c.auth === 'bearer') headers.Authorization = 'Bearer ' + key;
    else headers['x-api-key'] = key;
    var requests = c.bodies.map(function (body) {
      return { url: c.url, method: 'post', contentType: 'application/json', headers: headers, payload: body, muteHttpExceptions: true };
    });
    try {
      return UrlFetchApp.fetchAll(requests).map(function (res) {
        return { status: res.getResponseCode(), headers: res.getAllHeaders(), body: res.getContentText() };
      });
    } catch (e) {
      // The whole call failed (no network, a quota): no response for any of them.
      return requests.map(function () { return { status: 0, headers: {}, body: String(e && e.message) }; });
    }
  },
  call: function (c) {
    var headers = Object.assign({}, c.headers);
    var key = rbKeyOf_(c.key);
    if (c.auth === 'bearer') headers.Authorization = 'Bearer ' + key;
    else headers['x-api-key'] = key;
    var params = { method: c.method.toLowerCase(), headers: headers, muteHttpExceptions: true };
    if (c.form) {
      params.payload = Object.assign({}, c.form);
      params.payload.file = Utilities.newBlob(c.file, 'application/jsonl', c.fileName);
    } else if (c.body !== null) {
      params.contentType = 'application/json';
      params.payload = c.body;
    }
    try {
      var res = UrlFetchApp.fetch(c.url, params);
      return { status: res.getResponseCode(), body: res.getContentText() };
    } catch (e) {
      return { status: 0, body: String(e && e.message) };
    }
  },
  triggers: function (c) {
    var kept = 0;
    ScriptApp.getProjectTriggers().forEach(function (t) {
      var fn = t.getHandlerFunction();
      if (c.delete.indexOf(fn) >= 0 || (c.every && fn === c.every.handler && kept++ > 0)) ScriptApp.deleteTrigger(t);
    });
    if (c.every && kept === 0) ScriptApp.newTrigger(c.every.handler).timeBased().everyMinutes(c.every.minutes).create();
    c.after.forEach(function (a) { ScriptApp.newTrigger(a.handler).timeBased().after(a.ms).create(); });
    return null;
  },
  /** A round of workers: `count` POSTs at once to this script's own web app (`work`). */
  workers: function (c, x) {
    // The secret goes in the body, to this script's own URL, and nowhere else.
    var payload = JSON.stringify({ secret: x.props.getProperty(c.secret), action: 'work', build: ROWBATCH_BUILD_ });
    var url = ScriptApp.getService().getUrl();
    var requests = [];
    for (var i = 0; i < c.count; i += 1) {
      requests.push({ url: url, method: 'post', contentType: 'application/json', payload: payload, muteHttpExceptions: true });
    }
    try {
      return UrlFetchApp.fetchAll(requests).map(function (res) {
        try {
          return JSON.parse(res.getContentText());
        } catch (e) {
          return { ok: false, status: res.getResponseCode() };
        }
      });
    } catch (e) {
      // A timeout throws the whole fetchAll: the workers may still be at work.
      return requests.map(function () { return { ok: false, error: String(e && e.message) }; });
    }
  },
  sleep: function (c) { Utilities.sleep(c.ms); return null; },
  mayUse: function (c) {
    var auth = ScriptApp.getAuthorizationInfo(ScriptApp.AuthMode.FULL, [c.scope]);
    return auth.getAuthorizationStatus() !== ScriptApp.AuthorizationStatus.REQUIRED;
  },
  mail: function (c) {
    try {
      MailApp.sendEmail(c.to, c.subject, c.body);
      return null;
    } catch (e) {
      return String(e && e.message);
    }
  },
  user: function () {
    try {
      return Session.getActiveUser().getEmail();
    } catch (e) {
      return '';
    }
  },
  log: function (c) { console.log(c.text); return null; },
};

/** A sheet by name, looked up once per execution (each lookup is a Sheets call). */
function rbSheetOf_(x, name) {
  if (!x.sheets[name]) x.sheets[name] = x.ss.getSheetByName(name);
  return x.sheets[name];
}

/** The API key from the user's or the script's Properties; never from a cell, never logged. */
function rbKeyOf_(name) {
  return PropertiesService.getUserProperties().getProperty(name) || PropertiesService.getScriptProperties().getProperty(name);
}
