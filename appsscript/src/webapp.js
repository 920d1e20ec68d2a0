/*
 * The web app, for the `rowbatch` CLI and other orchestrators: each action calls the runner, and
 * every answer is JSON. Deploy it as the user who owns the spreadsheet, access "Anyone" or
 * "Anyone with a Google account"; requests carry the secret.
 */

/**
 * The web app: POST {secret, action, ...} with an action of RB_ACTIONS_ (the `rowbatch` CLI's
 * calls: status, plan, run {rows}, dry-run {rows}, process-chunk, work (a worker slice, as the
 * run's own rounds of workers call it), retry-failed, report, batches,
 * submit-batch, poll-batches, cancel-batches, batch-file {id}, claim {id, ttlMs, release}, probe
 * {sleepMs, mark}: the platform measurement's calls).
 * The secret is the Script Property ROWBATCH_WEBAPP_SECRET. Answers and errors are JSON in the
 * body (a web app cannot set a status code). `/exec` answers a POST with a redirect to a GET
 * echo, so clients must not re-POST: process-chunk is idempotent by row key anyway.
 */
async function doPost(e) {
  var req;
  try {
    req = JSON.parse((e && e.postData && e.postData.contents) || '{}');
  } catch (err) {
    return rbJson_({ ok: false, error: { code: 'bad_json', message: 'the body is not JSON' } });
  }
  return rbWebApp_(req);
}

/** GET ?secret=…&action=status for monitors. */
async function doGet(e) {
  return rbWebApp_((e && e.parameter) || {});
}

async function rbWebApp_(req) {
  var secret = PropertiesService.getScriptProperties().getProperty('ROWBATCH_WEBAPP_SECRET');
  if (!secret) return rbJson_({ ok: false, error: { code: 'not_configured', message: 'set the Script Property ROWBATCH_WEBAPP_SECRET to use the web app' } });
  if (!rbSameSecret_(String(req.secret || ''), secret)) return rbJson_({ ok: false, error: { code: 'forbidden', message: 'wrong or missing secret' } });
  try {
    switch (req.action) {
      case 'status': return rbJson_({ ok: true, status: await rowbatchStatus() });
      case 'validate': {
        var rb = await rowbatchAsync_();
        var spec = rbSpec_(SpreadsheetApp.getActiveSpreadsheet());
        return rbJson_({ ok: true, report: rb.validateRows({ spec: spec, header: req.header, rows: req.rows }) });
      }
      case 'plan': return rbJson_({ ok: true, estimate: await rowbatchEstimate(), status: await rowbatchStatus() });
      case 'process-chunk': return rbJson_({ ok: true, result: await rbDrive_('continue', null, { alone: true }) });
      case 'work': {
        // The web app runs the deployed version; the orchestrator, the latest push.
        if (req.build !== ROWBATCH_BUILD_) {
          return rbJson_({ ok: false, error: { code: 'build', message: 'the web app runs build ' + ROWBATCH_BUILD_ + ' and the run build ' + String(req.build) + ': update the web app deployment to the latest push (clasp update-deployment) for workers' } });
        }
        return rbJson_({ ok: true, result: await rbDrive_('work') });
      }
      case 'report': return rbJson_({ ok: true, report: await rowbatchReport() });
      case 'retry-failed': return rbJson_({ ok: true, result: await rbDrive_('retryFailed', null, { alone: true }) });
      case 'run': return rbJson_({ ok: true, result: await rbDrive_('run', null, rbChosen_(req)) });
      case 'dry-run': return rbJson_({ ok: true, result: await rbDrive_('dryRun', null, rbChosen_(req)) });
      case 'batches': return rbJson_({ ok: true, batches: JSON.parse(PropertiesService.getScriptProperties().getProperty('ROWBATCH_BATCHES') || '[]') });
      case 'submit-batch': return rbJson_({ ok: true, result: await rowbatchSubmitBatch() });
      case 'poll-batches': return rbJson_({ ok: true, result: await rowbatchPollBatches() });
      case 'cancel-batches': return rbJson_({ ok: true, result: await rowbatchCancelBatches() });
      case 'batch-file': return rbJson_({ ok: true, result: await rbDrive_('batchFile', null, { batch: String(req.id || '') }) });
      case 'claim': return rbJson_(rbClaim_(String(req.id || ''), Number(req.ttlMs) || 60000, Boolean(req.release), String(req.takeOver || '')));
      case 'probe': return rbJson_(rbProbe_(req));
      default: return rbJson_({ ok: false, error: { code: 'unknown_action', message: 'action must be one of ' + RB_ACTIONS_.join(', ') } });
    }
  } catch (err) {
    return rbJson_({ ok: false, error: { code: err.code || 'failed', message: String(err.message), data: err.data || null } });
  }
}

/**
 * The rows a request chose: `rows` [first, last], `keys` […], `limit` n (the core checks them).
 * The caller orchestrates (the `rowbatch` CLI): this slice starts no workers of its own.
 */
function rbChosen_(req) {
  return { rows: req.rows || null, keys: req.keys || null, limit: req.limit === undefined ? null : req.limit, alone: true };
}

var RB_ACTIONS_ = ['status', 'validate', 'plan', 'process-chunk', 'work', 'report', 'retry-failed', 'run', 'dry-run', 'batches',
  'submit-batch', 'poll-batches', 'cancel-batches', 'batch-file', 'claim', 'probe'];

/**
 * A call of the platform measurement (measure.js): sleeps `sleepMs` (at most 90 s), says when it
 * ran by its own clock, and leaves ROWBATCH_PROBE_<mark> when it ends if asked.
 */
function rbProbe_(req) {
  var ms = Math.max(0, Math.min(90000, Number(req.sleepMs) || 0));
  var start = Date.now();
  Utilities.sleep(ms);
  var mark = String(req.mark || '').replace(/[^A-Za-z0-9]/g, '').slice(0, 40);
  if (mark) PropertiesService.getScriptProperties().setProperty('ROWBATCH_PROBE_' + mark, String(Date.now()));
  return { ok: true, start: start, end: Date.now() };
}

/**
 * One orchestrator per job: `claim` holds the job for `id` until `ttlMs` from now (renewed as it
 * works), refused while another's claim lasts; `release` gives it up. A claim left by an
 * orchestrator that died lapses on its own, or is taken over at once (`takeOver`, its id) by one
 * that knows it is dead (the CLI, for a CLI of its own machine whose process is gone).
 */
function rbClaim_(id, ttlMs, release, takeOver) {
  if (!id) return { ok: false, error: { code: 'bad_request', message: 'claim needs an id' } };
  var props = PropertiesService.getScriptProperties();
  var lock = LockService.getScriptLock();
  lock.waitLock(10000);
  try {
    var held = JSON.parse(props.getProperty('ROWBATCH_ORCHESTRATOR') || 'null');
    var now = Date.now();
    if (held && held.id !== id && held.until > now && held.id !== takeOver) {
      return { ok: false, error: { code: 'busy', message: 'another orchestrator (' + held.id + ') is running this job until ' + new Date(held.until).toISOString() + ' unless it renews its claim', data: { holder: held.id } } };
    }
    if (release) props.deleteProperty('ROWBATCH_ORCHESTRATOR');
    else props.setProperty('ROWBATCH_ORCHESTRATOR', JSON.stringify({ id: id, until: now + Math.min(ttlMs, 600000) }));
    return { ok: true };
  } finally {
    lock.releaseLock();
  }
}

function rbJson_(value) {
  return ContentService.createTextOutput(JSON.stringify(value)).setMimeType(ContentService.MimeType.JSON);
}

/** Compares without stopping at the first difference. */
function rbSameSecret_(a, b) {
  var diff = a.length ^ b.length;
  for (var i = 0; i < Math.max(a.length, b.length); i += 1) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}
