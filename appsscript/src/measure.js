/*
 * Measures, on this account, what Google does not document and rowbatch must otherwise assume
 * (README, "Workers"): how many requests one fetchAll runs at once, how long UrlFetch waits for
 * an answer, and whether a web app execution goes on once its caller stopped waiting. It calls
 * this script's own web app (deployed, with its secret set), sends nothing to a provider, takes
 * about two minutes, and keeps its figures in the Script Property ROWBATCH_PLATFORM.
 */

/** Calls at once in the concurrency probe: with the measuring execution, under the 30 at once. */
var RB_PROBE_CALLS_ = 24;
/** What each of those calls sleeps: long enough that start-up jitter does not hide overlap. */
var RB_PROBE_SLEEP_MS_ = 4000;
/** What the timeout probe's call sleeps: past the ~60 s UrlFetch is reported to wait. */
var RB_PROBE_LONG_MS_ = 75000;

/** The figures, kept and returned: {at, fetchAllConcurrency, calls, refused, urlFetchTimeoutS, webAppOutlivesCaller, advice}. */
function rowbatchMeasure() {
  var props = PropertiesService.getScriptProperties();
  var url = ScriptApp.getService().getUrl();
  var secret = props.getProperty('ROWBATCH_WEBAPP_SECRET');
  if (!url) throw new Error('deploy the web app first (Deploy › New deployment › Web app): the measurement calls it');
  if (!secret) throw new Error('set the Script Property ROWBATCH_WEBAPP_SECRET first: the web app refuses calls without it');
  var call = function (body) {
    return { url: url, method: 'post', contentType: 'application/json', muteHttpExceptions: true,
      payload: JSON.stringify(Object.assign({ secret: secret, action: 'probe' }, body)) };
  };
  var requests = [];
  for (var i = 0; i < RB_PROBE_CALLS_; i += 1) requests.push(call({ sleepMs: RB_PROBE_SLEEP_MS_ }));
  var spans = [];
  var refused = 0;
  var answers = UrlFetchApp.fetchAll(requests).map(rbProbeAnswer_);
  answers.forEach(function (a) {
    if (a && a.ok) spans.push([a.start, a.end]);
    else refused += 1;
  });
  if (!spans.length) throw new Error('the web app answered no probe call: ' + rbProbeWhy_(answers[0]));
  var mark = Utilities.getUuid().replace(/-/g, '');
  var key = 'ROWBATCH_PROBE_' + mark;
  var sent = Date.now();
  var timeoutS = null;
  var answered = null;
  try {
    answered = rbProbeAnswer_(UrlFetchApp.fetch(url, call({ sleepMs: RB_PROBE_LONG_MS_, mark: mark })));
  } catch (e) {
    timeoutS = Math.round((Date.now() - sent) / 100) / 10;
  }
  // An answer that is not the probe's (an error page, a refusal) says nothing of the timeout.
  if (timeoutS === null && !(answered && answered.ok)) throw new Error('the web app answered the long probe call with ' + rbProbeWhy_(answered));
  // The long call's execution leaves its mark when it ends: after its caller gave up, if it
  // was let go on; never, if it was ended with the request.
  var until = sent + RB_PROBE_LONG_MS_ + 20000;
  while (!props.getProperty(key) && Date.now() < until) Utilities.sleep(5000);
  var outlives = timeoutS === null ? null : Boolean(props.getProperty(key));
  props.deleteProperty(key);
  var lanes = rbPeakOverlap_(spans);
  var figures = {
    at: new Date().toISOString(),
    fetchAllConcurrency: lanes,
    calls: RB_PROBE_CALLS_,
    refused: refused,
    urlFetchTimeoutS: timeoutS,
    webAppOutlivesCaller: outlives,
  };
  figures.advice = rbMeasureAdvice_(figures);
  props.setProperty('ROWBATCH_PLATFORM', JSON.stringify(figures));
  console.log('rowbatch platform ' + JSON.stringify(figures));
  return figures;
}

/** The menu's: measures and says what it found. */
function rowbatchMeasureMenu() {
  var ui = SpreadsheetApp.getUi();
  try {
    ui.alert('rowbatch: this Apps Script account', rowbatchMeasure().advice, ui.ButtonSet.OK);
  } catch (e) {
    ui.alert('rowbatch: nothing measured', String(e && e.message), ui.ButtonSet.OK);
  }
}

/** One probe call's answer, or null (an error page, a refusal past the simultaneous limit). */
function rbProbeAnswer_(res) {
  try {
    return JSON.parse(res.getContentText());
  } catch (e) {
    return null;
  }
}

/** What a probe call got instead of its answer. */
function rbProbeWhy_(a) {
  return a && a.error ? String(a.error.message || a.error) : 'no JSON (an error page, or the simultaneous-execution limit)';
}

/** The most spans [start, end] that were open at one moment. */
function rbPeakOverlap_(spans) {
  var edges = [];
  spans.forEach(function (s) { edges.push([s[0], 1], [s[1], -1]); });
  // An end before a start at the same millisecond: touching spans did not overlap.
  edges.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
  var open = 0;
  var peak = 0;
  edges.forEach(function (e) { open += e[1]; peak = Math.max(peak, open); });
  return peak;
}

/** What the figures mean for a job spec. */
function rbMeasureAdvice_(f) {
  var lines = ['fetchAll ran ' + f.fetchAllConcurrency + ' of ' + f.calls + ' requests at once' +
    (f.refused ? ' (' + f.refused + ' refused: other executions were running; measure again when none is)' : '') + '.'];
  lines.push(f.urlFetchTimeoutS === null
    ? 'UrlFetch waited ' + RB_PROBE_LONG_MS_ / 1000 + ' s and more for an answer.'
    : 'UrlFetch gave up on an answer after ' + f.urlFetchTimeoutS + ' s.');
  if (f.webAppOutlivesCaller !== null) {
    lines.push(f.webAppOutlivesCaller
      ? 'A web app execution went on after its caller gave up.'
      : 'A web app execution did not finish once its caller gave up.');
  }
  if (f.fetchAllConcurrency > 10 && !f.refused) {
    lines.push('Set "fetchAllConcurrency": ' + f.fetchAllConcurrency + ' in the job spec\'s limits: rowbatch assumes 10 unless told, and each worker and each round of workers would run that many at once.');
  } else {
    lines.push('Keep "fetchAllConcurrency" at 10 or below in the job spec\'s limits.');
  }
  return lines.join('\n');
}
