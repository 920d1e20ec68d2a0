/*
 * Settings: provider, base URL, model, limits and budget go into the job spec (checked by the
 * core before they are saved); the API key goes to Properties and is never shown again.
 */

/** The settings dialog. */
function rowbatchSettings() {
  SpreadsheetApp.getUi().showModalDialog(HtmlService.createHtmlOutputFromFile('settings').setWidth(360).setHeight(460), 'rowbatch settings');
}

/** What the dialog shows: the spec's settings, and only whether a key is set. */
function rowbatchGetSettings() {
  var spec = rbSpec_(SpreadsheetApp.getActiveSpreadsheet());
  var keyName = rbKeyName_(spec.provider.kind);
  return {
    kind: spec.provider.kind, baseUrl: spec.provider.baseUrl || '', model: spec.provider.model,
    limits: spec.limits || {}, budgetUsd: spec.budget ? spec.budget.maxUsd : null,
    keySet: Boolean(PropertiesService.getUserProperties().getProperty(keyName) || PropertiesService.getScriptProperties().getProperty(keyName)),
  };
}

/**
 * Saves settings: the spec is changed only if the core accepts the result (every problem is
 * returned, at its path); a new key is stored in the user's own Properties.
 */
async function rowbatchSaveSettings(form) {
  var rb = await rowbatchAsync_();
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var spec = rbSpec_(ss);
  spec.provider = Object.assign({}, spec.provider, { kind: form.kind, model: form.model });
  if (form.baseUrl) spec.provider.baseUrl = form.baseUrl; else delete spec.provider.baseUrl;
  spec.limits = Object.assign({}, spec.limits, form.limits || {});
  if (form.budgetUsd === null || form.budgetUsd === '' || form.budgetUsd === undefined) delete spec.budget;
  else spec.budget = { maxUsd: Number(form.budgetUsd) };
  try {
    rb.checkSpec({ spec: spec });
  } catch (e) {
    return { ok: false, problems: rbProblems_(e) };
  }
  rbUpdateSelected_(ss, spec);
  if (form.apiKey) PropertiesService.getUserProperties().setProperty(rbKeyName_(spec.provider.kind), String(form.apiKey).trim());
  // The key and the model checked once, for nothing, before any row is sent.
  var keyCheck;
  try {
    keyCheck = (await rowbatchCheckKey()).keyCheck;
  } catch (e) {
    keyCheck = { ok: false, status: null, message: String(e && e.message) };
  }
  return { ok: true, settings: rowbatchGetSettings(), keyCheck: keyCheck };
}

function rbKeyName_(kind) {
  return kind === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
}

/** The job spec: JSON in A1 of the hidden `_rowbatch_spec` sheet. */
function rbSpec_(ss) {
  var sheet = ss.getSheetByName('_rowbatch_spec');
  if (!sheet) throw new Error('rowbatch: no job spec: put it as JSON in A1 of a sheet named _rowbatch_spec');
  return JSON.parse(String(sheet.getRange(1, 1).getValue()));
}
