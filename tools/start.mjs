#!/usr/bin/env node
// `npm start`: the main job on the bundled example. First the preflight a user sees in the
// sidebar (spec checked, every row validated with findings at their cells, duplicates found);
// then the real batch: the Apps Script project (appsscript/build, as `clasp push` sends it) runs
// in the local runtime against the example workbook in out/workbook and the fake provider — or a
// real endpoint when OPENAI_BASE_URL/OPENAI_API_KEY or ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY are
// set — continuing by trigger until the job is finished. Running it again resumes: nothing
// already written is sent again.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { Runtime } from '../apps-script-runtime/runtime.mjs';
import { Workbook, enter } from '../apps-script-runtime/workbook.mjs';
import { startFakeProvider } from '../fake-provider/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const EXAMPLE = {
  sheet: path.join(root, 'examples', 'clinical', 'scenarios.csv'),
  spec: path.join(root, 'examples', 'clinical', 'job.json'),
};

/**
 * Reads a CSV as Sheets imports one: numbers become numbers (but not "007", which Sheets
 * would also keep only as text if the column were formatted so), everything else is text.
 */
export function readSheet(file) {
  const [header, ...rows] = parse(fs.readFileSync(file, 'utf8'), { relax_column_count: true });
  const typed = rows.map((r) => r.map((v) => (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(v) ? Number(v) : v)));
  return { header, rows: typed };
}

function preflight() {
  const rowbatch = require(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const { header, rows } = readSheet(EXAMPLE.sheet);
  const spec = JSON.parse(fs.readFileSync(EXAMPLE.spec, 'utf8'));
  const job = rowbatch.checkSpec({ spec });
  const name = path.relative(root, EXAMPLE.sheet);
  console.log(`${job.name}: spec ok (key ${job.key}; identity ${job.identity.join(', ')})`);

  let started = performance.now();
  const checked = rowbatch.validateRows({ spec, header, rows });
  const s = checked.summary;
  console.log(`${name}: ${s.rows} rows validated in ${(performance.now() - started).toFixed(1)} ms: ` +
    `${s.valid} valid, ${s.withErrors} with errors, ${s.blank} blank; ${s.errors} errors, ${s.warnings} warnings, ${s.fixable} fixable`);
  for (const f of checked.header) console.log(`  header: ${f.message}`);
  for (const row of checked.rows) {
    for (const f of row.findings) {
      const fix = f.fix ? ` (fix: ${JSON.stringify(f.fix.from)} → ${JSON.stringify(f.fix.to)})` : '';
      console.log(`  ${f.cell} ${f.severity} ${f.code}: ${f.message}${fix}`);
    }
  }

  started = performance.now();
  const report = rowbatch.signRows({ header, rows, columns: job.identity });
  const ms = performance.now() - started;
  const keyAt = header.indexOf(job.key);
  console.log(`${name}: ${rows.length} rows signed in ${ms.toFixed(1)} ms`);
  for (const r of report.blankRows) console.log(`  sheet row ${r + 2}: blank, skipped`);
  if (report.duplicateGroups.length === 0) console.log('  no duplicate rows');
  for (const g of report.duplicateGroups) {
    const who = g.indices.map((i, k) => `row ${g.sheetRows[k]} (${rows[i][keyAt]})`);
    console.log(`  duplicates ${g.signature}: ${who.join(', ')} — only the first will be sent`);
  }
  const invalid = new Set(checked.rows.filter((r) => r.findings.some((f) => f.severity === 'error')).map((r) => r.index));
  const duplicates = new Set(report.duplicateGroups.flatMap((g) => g.indices.slice(1)));
  const blank = new Set(report.blankRows);
  const unique = rows.filter((_, i) => !invalid.has(i) && !duplicates.has(i) && !blank.has(i)).length;
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  const outFile = path.join(root, 'out', 'signatures.json');
  fs.writeFileSync(outFile, JSON.stringify({ sheet: name, versions: rowbatch.version(), validation: checked, ...report }, null, 2) + '\n');
  console.log(`${unique} rows to process; validation and signatures written to ${path.relative(root, outFile)}`);
  return { spec, header, rows };
}

const WORKBOOK = path.join(root, 'out', 'workbook');

/** The example workbook: the scenarios sheet and the job spec in its hidden sheet. */
function exampleWorkbook(spec, header, rows, provider) {
  const wb = new Workbook('rowbatch example');
  const input = wb.insert(spec.input.sheet);
  [header, ...rows].forEach((r, i) => r.forEach((v, j) => input.set(i, j, enter(v))));
  const hidden = wb.insert('_rowbatch_spec');
  hidden.hidden = true;
  hidden.set(0, 0, { value: JSON.stringify(withProvider(spec, provider)) });
  return wb;
}

function withProvider(spec, provider) {
  const p = { ...spec.provider, kind: provider.kind };
  if (provider.baseUrl) p.baseUrl = provider.baseUrl;
  else delete p.baseUrl;
  if (provider.model) p.model = provider.model;
  return { ...spec, provider: p };
}

function bar(p, budget) {
  const total = Math.max(1, p.rows - p.excluded - p.duplicates);
  const done = p.done + p.failed;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const elapsed = (Date.now() - p.startedAt) / 1000;
  const eta = done > 0 && done < total ? `${Math.ceil((elapsed / done) * (total - done))} s` : '—';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} (${p.done} done, ${p.failed} failed) ` +
    `ETA ${eta}  $${p.costUsd.toFixed(4)} of $${budget}`;
}

async function runJob(spec, header, rows) {
  // A real endpoint when its key is set: OpenAI's if both are. The example's model is an OpenAI
  // one; for Anthropic it becomes ANTHROPIC_MODEL (default claude-haiku-4-5).
  const env = process.env;
  const real = env.OPENAI_API_KEY ? 'openai' : env.ANTHROPIC_API_KEY ? 'anthropic' : null;
  let fake = null;
  let provider;
  if (real === 'openai') {
    provider = { kind: 'openai', baseUrl: env.OPENAI_BASE_URL, key: env.OPENAI_API_KEY, model: env.OPENAI_MODEL };
  } else if (real === 'anthropic') {
    provider = { kind: 'anthropic', baseUrl: env.ANTHROPIC_BASE_URL && `${env.ANTHROPIC_BASE_URL.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1`,
      key: env.ANTHROPIC_API_KEY, model: env.ANTHROPIC_MODEL ?? 'claude-haiku-4-5' };
  }
  else {
    // A realistic day at the provider: some rate limiting and server errors, a few answers out
    // of range, fenced or broken; all deterministic.
    fake = await startFakeProvider({ rate429: 0.05, rate500: 0.03, outOfRange: 0.05, slips: 0.1, fenced: 0.1, malformed: 0.03, latencyMedianMs: 150, latencyP95Ms: 600 });
    provider = { kind: spec.provider.kind, baseUrl: `${fake.url}/v1`, key: 'sk-local-fake-provider' };
  }
  const fresh = !fs.existsSync(path.join(WORKBOOK, 'workbook.json'));
  const workbook = fresh ? exampleWorkbook(spec, header, rows, provider) : Workbook.load(WORKBOOK);
  if (!fresh) {
    // Same workbook, same job; only the endpoint may differ from the last run (a new fake port).
    const s = workbook.sheet('_rowbatch_spec');
    s.set(0, 0, { value: JSON.stringify(withProvider(JSON.parse(String(s.get(0, 0))), provider)) });
  }
  const propsFile = path.join(WORKBOOK, 'properties.json');
  const properties = fs.existsSync(propsFile) ? JSON.parse(fs.readFileSync(propsFile, 'utf8')) : {};
  const script = { ...(properties.script ?? {}), [provider.kind === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY']: provider.key };
  let last = null;
  const rt = new Runtime({
    workbook, workbookDir: WORKBOOK, properties: { ...properties, script },
    onLog(line) {
      if (line.startsWith('rowbatch progress ')) {
        last = JSON.parse(line.slice(18));
        process.stdout.write(`\r${bar(last, spec.budget?.maxUsd ?? '∞')}`);
      }
    },
  });
  console.log(`\nrunning ${spec.name} on ${path.relative(root, WORKBOOK)} against ${real ? provider.baseUrl ?? real : `the fake provider (${fake.url})`}`);
  const t0 = performance.now();
  const executions = [await rt.run('rowbatchRun')];
  executions.push(...(await rt.runTriggers({ maxRuns: 50 })));
  process.stdout.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  await fake?.close();
  // The core's report from the sheets as they now are (it also rewrites the Report sheet).
  const made = await rt.run('rowbatchReport');
  if (!made.ok) throw new Error(`the report failed: ${made.error.message}`);
  rt.save();
  // Keys stay out of the saved properties, as they stay out of cells.
  const saved = { ...rt.properties, script: Object.fromEntries(Object.entries(rt.properties.script).filter(([k]) => !/API_KEY/.test(k))) };
  fs.writeFileSync(propsFile, JSON.stringify(saved, null, 2) + '\n');
  const failedExec = executions.find((e) => !e.ok);
  if (failedExec) throw new Error(`execution ${failedExec.execution} failed: ${failedExec.error.message}`);
  const final = executions.at(-1).value;
  const report = {
    job: spec.name, workbook: path.relative(root, WORKBOOK), endpoint: real ? provider.baseUrl ?? real : 'fake provider',
    finished: final.finished, stop: final.stop, counts: final.counts,
    sent: executions.reduce((n, e) => n + (e.value?.summary?.sent ?? 0), 0),
    costUsd: JSON.parse(rt.properties.script.ROWBATCH_RUN ?? '{}').costUsd ?? 0,
    executions: executions.length, seconds: Math.round(seconds * 10) / 10, counters: rt.counters,
    provider: fake ? { requests: fake.stats.requests, byStatus: fake.stats.byStatus, cachedTokens: fake.stats.cachedTokens } : null,
    report: made.value.summary,
  };
  // What the rule packs mended, as each row records it in `_warnings`.
  const out = rt.workbook.sheet(spec.output.sheet)?.rows ?? [];
  const at = (out[0] ?? []).indexOf('_warnings');
  const fixed = out.slice(1).map((r, i) => [i + 2, String(r[at] ?? '')]).filter(([, w]) => w.startsWith('fixed '));
  report.fixedRows = fixed.length;
  fs.writeFileSync(path.join(root, 'out', 'report.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(root, 'out', 'report.md'), made.value.markdown);
  fs.writeFileSync(path.join(root, 'out', 'report.csv'), made.value.csv);
  const c = final.counts;
  console.log(report.sent === 0 ? `nothing to send: every row is already done, failed for good, a duplicate or excluded`
    : `sent ${report.sent} requests in ${report.executions} executions, ${report.seconds} s`);
  console.log(`${c.done} done, ${c.failed} failed, ${c.duplicates} duplicates, ${c.excluded} excluded; ` +
    `$${report.costUsd.toFixed(4)} spent; ${final.finished ? 'finished' : `not finished (${final.stop ?? 'continues'})`}`);
  if (fixed.length) console.log(`${fixed.length} rows mended by the rule packs, e.g. row ${fixed[0][0]}: ${fixed[0][1].split('; ')[0]}`);
  console.log(`workbook in ${report.workbook}; report in out/report.md, out/report.csv and out/report.json`);
  return report;
}

async function main() {
  const { spec, header, rows } = preflight();
  await runJob(spec, header, rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(`rowbatch: ${e.message}`); process.exit(1); });
}
