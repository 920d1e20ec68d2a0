// The web preview: the same core as every other host. The page loads it for quick checks (the
// spec as it is typed) and a module worker runs the heavy ones (thousands of rows).
import init, * as rowbatch from './pkg/rowbatch.js';
import { parseDelimited, parseXlsx, shape, toCsv, download } from './io.js';
import { rowsView, renderTable, renderList, renderEstimate, renderPrompt } from './results.js';

const $ = (id) => document.getElementById(id);
const PAGE = 100;
const state = { spec: null, job: null, table: null, result: null, view: null, page: 0 };

// One worker, request ids matched to answers.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const waiting = new Map();
let nextId = 1;
worker.onmessage = ({ data }) => {
  const w = waiting.get(data.id);
  waiting.delete(data.id);
  if (data.error) w.reject(Object.assign(new Error(data.error.message), data.error));
  else w.resolve(data.ok);
};
const call = (op, input) => new Promise((resolve, reject) => {
  const id = nextId++;
  waiting.set(id, { resolve, reject });
  worker.postMessage({ id, op, input });
});

/** A problem list from a RowbatchError: each at its JSON path. */
const problems = (e) => (e.data?.length ? e.data.map((p) => `${p.path}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`) : [e.message]);

function readSpec() {
  const text = $('spec').value;
  try {
    const spec = JSON.parse(text);
    state.job = rowbatch.checkSpec({ spec });
    state.spec = spec;
    renderList($('spec-problems'), state.job.prompt.warning ? [`prompt: ${state.job.prompt.warning}`] : []);
    return true;
  } catch (e) {
    state.job = null;
    const where = /position (\d+)/.exec(e.message);
    const line = where ? ` (line ${text.slice(0, Number(where[1])).split('\n').length})` : '';
    renderList($('spec-problems'), e instanceof SyntaxError ? [`The spec is not JSON${line}: ${e.message}`] : problems(e));
    return false;
  }
}

async function loadExample(name, withRows) {
  const [spec, csv] = await Promise.all([
    fetch(`examples/${name}/job.json`).then((r) => r.text()),
    fetch(`examples/${name}/rows.csv`).then((r) => r.text()),
  ]);
  $('spec').value = spec;
  readSpec();
  if (withRows) $('rows').value = globalThis.Papa.unparse(parseDelimited(csv, ','), { delimiter: '\t', newline: '\n' });
}

function message(text) {
  $('rows-message').textContent = text;
}

async function check() {
  message('');
  if (!readSpec()) return message('Fix the job spec first (see the problems under it).');
  const table = parseDelimited($('rows').value, '\t');
  const shaped = shape(table, state.job.columns);
  if (shaped.problem) {
    $('results').hidden = true;
    return message(shaped.problem);
  }
  $('check').disabled = true;
  $('summary').textContent = `Checking ${shaped.rows.length} rows…`;
  $('results').hidden = false;
  try {
    state.table = shaped;
    state.result = await call('check', { spec: state.spec, header: shaped.header, rows: shaped.rows });
    state.view = rowsView(shaped.header, shaped.rows, state.result);
    state.page = 0;
    render();
  } catch (e) {
    message(problems(e).join('\n'));
    $('results').hidden = true;
  } finally {
    $('check').disabled = false;
  }
}

function render() {
  const { result, table } = state;
  const s = result.fixed.report.summary;
  $('summary').textContent = `${s.rows} rows validated in ${result.validateMs.toFixed(1)} ms (all checks ${result.totalMs.toFixed(0)} ms): ` +
    `${s.valid} valid, ${s.withErrors} with errors, ${s.warnings} warnings, ${result.fixed.applied.length} fixes proposed; ` +
    `${result.keyed.excluded.length} excluded, ${result.keyed.duplicateGroups.length} duplicate groups.`;
  renderList($('header-problems'), result.fixed.report.header.map((f) => `header: ${f.message}`));
  renderPage();
  renderList($('duplicates'), result.keyed.duplicateGroups.map((g) => `rows ${g.sheetRows.join(', ')} (${g.keys.filter(Boolean).join(', ') || 'no key'}): the same content; only row ${g.sheetRows[0]} is sent`));
  $('apply-fixes').disabled = result.fixed.applied.length === 0;
  $('prompt-row').min = String(result.keyed.firstRow);
  $('prompt-row').max = String(result.keyed.firstRow + table.rows.length - 1);
  $('prompt-section').hidden = false;
  $('estimate-section').hidden = false;
  $('export-section').hidden = false;
  const e = result.estimate;
  const prices = renderEstimate($('estimate'), e);
  $('eta').textContent = `${prices}about ${e.eta.minutes} minutes realtime (${e.eta.rowsPerMinute.toFixed(0)} rows/min, limited by ${e.eta.limitedBy}; ${e.eta.executions} Apps Script executions).`;
  renderList($('estimate-warnings'), e.warnings);
  preview();
}

function renderPage() {
  const rows = $('only-problems').checked ? state.view.filter((v) => v.findings.length || v.status !== 'ok') : state.view;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  renderTable($('table'), state.table.header, rows.slice(state.page * PAGE, (state.page + 1) * PAGE));
  $('page').textContent = `rows ${rows.length ? state.page * PAGE + 1 : 0}–${Math.min(rows.length, (state.page + 1) * PAGE)} of ${rows.length}`;
  $('prev').disabled = state.page === 0;
  $('next').disabled = state.page >= pages - 1;
}

async function preview() {
  const n = Number($('prompt-row').value) - state.result.keyed.firstRow;
  const row = state.table.rows[n];
  if (!row) {
    $('prompt-tokens').textContent = `No sheet row ${$('prompt-row').value} in the pasted rows.`;
    return;
  }
  try {
    const p = await call('prompt', { spec: state.spec, header: state.table.header, row });
    $('prompt-tokens').textContent = `About ${p.promptTokens} prompt tokens, ${p.prefix.tokens} of them the static prefix.`;
    renderPrompt($('prompt'), state.spec.provider.kind, p);
  } catch (e) {
    $('prompt-tokens').textContent = problems(e).join('; ');
  }
}

function applyFixes() {
  const { header } = state.table;
  $('rows').value = globalThis.Papa.unparse([header, ...state.result.fixed.rows.map((r) => r.map((c) => c ?? ''))], { delimiter: '\t', newline: '\n' });
  return check();
}

async function exportBatch() {
  const { keyed } = state.result;
  // What the runner would send: not excluded, one row per duplicate group.
  const later = new Set([...keyed.duplicateGroups.flatMap((g) => g.sheetRows.slice(1)), ...keyed.excluded.map((e) => e.sheetRow)]);
  const items = state.table.rows.map((row, i) => ({ key: keyed.keys[i], signature: keyed.signatures[i], row, sheetRow: keyed.firstRow + i }))
    .filter((it) => it.key && !later.has(it.sheetRow)).map(({ key, signature, row }) => ({ key, signature, row }));
  try {
    const files = await call('batchFiles', { spec: state.spec, header: state.table.header, items });
    const openai = state.spec.provider.kind === 'openai';
    files.parts.forEach((p, i) => download(`rowbatch-batch-${i + 1}.${openai ? 'jsonl' : 'json'}`, openai ? 'application/jsonl' : 'application/json', p.body));
    $('export-message').textContent = `${items.length} requests in ${files.parts.length} file(s), each under ${(files.maxBytes / 1e6).toFixed(0)} MB.`;
  } catch (e) {
    $('export-message').textContent = problems(e).join('; ');
  }
}

async function openFile(file) {
  message('');
  try {
    const table = /\.xlsx$/i.test(file.name) ? await parseXlsx(file) : parseDelimited(await file.text(), /\.tsv$/i.test(file.name) ? '\t' : ',');
    $('rows').value = globalThis.Papa.unparse(table.map((r) => r.map((c) => c ?? '')), { delimiter: '\t', newline: '\n' });
    await check();
  } catch (e) {
    message(`${file.name} could not be read: ${e.message}`);
  }
}

const started = performance.now();
await init();
window.rowbatch = rowbatch;
const v = rowbatch.version();
$('status').textContent = `rowbatch core ${v.core} loaded in ${(performance.now() - started).toFixed(0)} ms (signatures v${v.signatureVersion}).`;
await loadExample('clinical', false);
$('example').addEventListener('change', () => loadExample($('example').value, true));
$('spec').addEventListener('input', () => { clearTimeout(state.timer); state.timer = setTimeout(readSpec, 300); });
$('load-example').addEventListener('click', async () => { await loadExample($('example').value, true); await check(); });
$('check').addEventListener('click', check);
$('file').addEventListener('change', (e) => e.target.files[0] && openFile(e.target.files[0]));
$('only-problems').addEventListener('change', () => { state.page = 0; renderPage(); });
$('prev').addEventListener('click', () => { state.page -= 1; renderPage(); });
$('next').addEventListener('click', () => { state.page += 1; renderPage(); });
$('apply-fixes').addEventListener('click', applyFixes);
$('prompt-row').addEventListener('change', preview);
$('export-csv').addEventListener('click', () => download('rowbatch-fixed-rows.csv', 'text/csv', toCsv(state.table.header, state.result.fixed.rows)));
$('export-batch').addEventListener('click', exportBatch);
$('export-spec').addEventListener('click', () => download('rowbatch-job.json', 'application/json', `${JSON.stringify(state.spec, null, 2)}\n`));
$('check').disabled = false;
document.documentElement.dataset.ready = 'true';
