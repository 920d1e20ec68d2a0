// Workbooks for runs in the local runtime: the clinical example job over n generated rows, the
// spec in its hidden sheet, ready for the runner.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../apps-script-runtime/runtime.mjs';
import { Workbook, enter } from '../../apps-script-runtime/workbook.mjs';
import { createFakeProvider } from '../../fake-provider/provider.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function clinicalSpec(limits = {}) {
  const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
  spec.input.schema.properties.Case_ID.pattern = '^SIM-[0-9]+$';
  spec.provider.baseUrl = 'http://fake.local/v1';
  spec.limits = { ...spec.limits, ...limits };
  spec.budget = { maxUsd: 50 };
  return spec;
}

export function row(i) {
  return [`SIM-${String(i).padStart(5, '0')}`, `Scenario ${i}`, 20 + (i % 70), `Presentation ${i}: chest pain and breathlessness for ${i % 12} hours`];
}

export function clinicalWorkbook(n, spec) {
  const wb = new Workbook('job');
  const input = wb.insert(spec.input.sheet);
  ['Case_ID', 'Title', 'Age', 'Presentation'].forEach((h, j) => input.set(0, j, enter(h)));
  for (let i = 1; i <= n; i += 1) row(i).forEach((v, j) => input.set(i, j, enter(v)));
  const hidden = wb.insert('_rowbatch_spec');
  hidden.hidden = true;
  hidden.set(0, 0, { value: JSON.stringify(spec) });
  return wb;
}

/** The web app's URL and secret when a job's script is deployed as one (`webApp`): it can start workers. */
export const WEB_APP = { url: 'https://script.google.com/macros/s/local/exec', secret: 'local-webapp-secret' };

/**
 * A runtime on a virtual clock with the fake provider in process; `sent` counts requests per key.
 * `webApp`: the script is deployed as a web app with its secret set (runs start workers).
 */
export function simulatedJob({ rows, limits = {}, faults = {}, runtime = {}, webApp = false }) {
  const spec = clinicalSpec(limits);
  const fake = createFakeProvider({ latencyMedianMs: 2000, latencyP95Ms: 6000, ...faults });
  const sent = new Map();
  let rt = null;
  rt = new Runtime({
    workbook: clinicalWorkbook(rows, spec), simulated: true, start: Date.UTC(2026, 10, 22, 9),
    properties: { script: { OPENAI_API_KEY: 'sk-test', ...(webApp ? { ROWBATCH_WEBAPP_SECRET: WEB_APP.secret } : {}) } },
    webAppUrl: webApp ? WEB_APP.url : null, ...runtime,
    provider: (req, at) => {
      const chat = /\/(chat\/completions|messages)$/.test(new URL(req.url).pathname);
      const key = chat && /Case (SIM-\d+)/.exec(JSON.parse(req.body).messages.at(1)?.content ?? '')?.[1];
      if (key) sent.set(key, (sent.get(key) ?? 0) + 1);
      return fake.handle(req, at ?? rt.now());
    },
  });
  return { rt, fake, sent, spec };
}

/** The output sheet's rows by key. */
export function outputs(rt, spec) {
  const s = rt.workbook.sheet(spec.output.sheet);
  const byKey = new Map();
  if (!s) return byKey; // not made yet
  for (let r = 1; r < s.rows.length; r += 1) {
    const key = s.get(r, 0);
    if (key === '') continue;
    byKey.set(key, [...(byKey.get(key) ?? []), { row: r + 1, status: s.get(r, 3) }]);
  }
  return byKey;
}
