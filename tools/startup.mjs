#!/usr/bin/env node
// What a build's module costs a user, for one build or two side by side (run in turn, so both
// see the same machine load):
//   - Apps Script start-up per execution: the local runtime's rowbatchSelfTest (evaluate the
//     files, decode the base64, compile, instantiate), each execution in a fresh V8 context;
//   - the sidebar's time to ready in Chromium: the page as Apps Script serves it, loaded until
//     the progress shows, then "Validate selection" until its first result (decode, compile and
//     instantiate in the browser, then validate 25 rows), and the bytes a browser downloads
//     (the HTML, gzip-compressed as Google serves it).
// Usage: node tools/startup.mjs [--build DIR]... [--rounds N]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '5' },
    child: { type: 'boolean', default: false },
  },
});

if (values.child) {
  // One round of start-ups against ROWBATCH_BUILD_DIR, printed as JSON.
  const { Runtime } = await import('../apps-script-runtime/runtime.mjs');
  const rt = new Runtime();
  const times = [];
  for (let i = 0; i < 3; i += 1) {
    const r = await rt.run('rowbatchSelfTest');
    if (!r.ok || !r.value.ok) throw new Error(JSON.stringify(r.error || r.value));
    times.push(r.value.startupMs);
  }
  console.log(JSON.stringify(times));
  process.exit(0);
}

const builds = (values.build || [path.join(root, 'appsscript', 'build')]).map((b) => path.resolve(b));
const rounds = Number(values.rounds);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const startup = new Map(builds.map((b) => [b, []]));
for (let r = 0; r < rounds; r += 1) {
  for (const b of builds) {
    const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
      env: { ...process.env, ROWBATCH_BUILD_DIR: b }, encoding: 'utf8',
    });
    if (out.status !== 0) throw new Error(out.stderr);
    startup.get(b).push(...JSON.parse(out.stdout.trim().split('\n').pop()));
  }
}

const SHIM = `window.google = { script: { run: (function make(ok, fail) {
  return new Proxy({}, { get(_, name) {
    if (name === 'withSuccessHandler') return (f) => make(f, fail);
    if (name === 'withFailureHandler') return (f) => make(ok, f);
    return () => Promise.resolve(window.__answer(name)).then((v) => ok && ok(v));
  } });
})(null, null) } };`;

const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
const csv = fs.readFileSync(path.join(root, 'examples', 'clinical', 'scenarios.csv'), 'utf8');
const { parse } = await import('csv-parse/sync');
const table = parse(csv);
const answers = {
  rowbatchProgress: null,
  rowbatchSelection: { spec, header: table[0], rows: table.slice(1, 26), firstRow: 2 },
};

const { chromium } = await import('playwright-core');
const { chromiumPath } = await import('./setup.mjs');
const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const sidebar = new Map(builds.map((b) => [b, { loaded: [], validated: [] }]));
try {
  for (let r = 0; r < rounds; r += 1) {
    for (const b of builds) {
      const html = fs.readFileSync(path.join(b, 'sidebar.html'), 'utf8').replace('<head>', `<head><script>${SHIM}</script>`);
      const page = await browser.newPage();
      await page.exposeFunction('__answer', (name) => answers[name] ?? null);
      await page.route('https://sidebar.test/', (route) => route.fulfill({ contentType: 'text/html', body: html }));
      const t0 = Date.now();
      await page.goto('https://sidebar.test/');
      await page.waitForFunction(() => document.getElementById('state').textContent !== '');
      const loaded = Date.now() - t0;
      const t1 = Date.now();
      await page.click('#validate');
      await page.waitForFunction(() => /rows checked|error/.test(document.getElementById('validation').textContent));
      const text = await page.textContent('#validation');
      if (!/rows checked/.test(text)) throw new Error(text);
      sidebar.get(b).loaded.push(loaded);
      sidebar.get(b).validated.push(Date.now() - t1);
      await page.close();
    }
  }
} finally {
  await browser.close();
}

for (const b of builds) {
  const base64 = /ROWBATCH_WASM_BASE64_ = '([^']*)'/.exec(fs.readFileSync(path.join(b, 'rowbatch_wasm.js'), 'utf8'))[1];
  const wasm = Buffer.from(base64, 'base64').length;
  const html = fs.readFileSync(path.join(b, 'sidebar.html'));
  const gz = zlib.gzipSync(html).length;
  const s = sidebar.get(b);
  console.log(`${path.relative(process.cwd(), b) || '.'}: module ${wasm.toLocaleString('en')} B; ` +
    `Apps Script start-up median ${median(startup.get(b))} ms (${startup.get(b).length} executions); ` +
    `sidebar ${html.length.toLocaleString('en')} B (${gz.toLocaleString('en')} B gzip, ` +
    `${((gz * 8) / 10e6 * 1000).toFixed(0)} ms at 10 Mbit/s), shown in ${median(s.loaded)} ms, ` +
    `first validation in ${median(s.validated)} ms (medians of ${rounds})`);
}
