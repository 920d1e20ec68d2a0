// `npm run serve-webapp`: the Apps Script project (appsscript/build) in the local runtime, its web
// app served on 127.0.0.1 as a deployed `/exec` URL, over the example workbook (out/workbook, made
// from the clinical example if missing) and the fake provider, on the real clock. The secret is
// ROWBATCH_SECRET, or a new one written to out/webapp-secret (readable by you only); point the
// CLI at it with `ROWBATCH_WEB_APP=<url> rowbatch --secret-file out/webapp-secret status`.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../apps-script-runtime/runtime.mjs';
import { Workbook, enter } from '../apps-script-runtime/workbook.mjs';
import { serveWebApp } from '../apps-script-runtime/webapp.mjs';
import { createFakeProvider } from '../fake-provider/provider.mjs';
import { readSheet } from './start.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The clinical example as a workbook: its sheet and its spec, as `npm start` makes it. */
export function exampleWorkbook() {
  const wb = new Workbook('rowbatch example');
  const { header, rows } = readSheet(path.join(root, 'examples', 'clinical', 'scenarios.csv'));
  const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
  const input = wb.insert(spec.input.sheet);
  [header, ...rows].forEach((r, i) => r.forEach((v, j) => input.set(i, j, enter(v))));
  const hidden = wb.insert('_rowbatch_spec');
  hidden.hidden = true;
  hidden.set(0, 0, { value: JSON.stringify(spec) });
  return wb;
}

/** A runtime with its web app served; `faults` go to the fake provider. */
export async function startWebApp({ workbook = exampleWorkbook(), secret = crypto.randomBytes(18).toString('base64url'), faults = {}, port = 0, runtime = {} } = {}) {
  const fake = createFakeProvider({ latencyMedianMs: 300, latencyP95Ms: 900, ...faults });
  const rt = new Runtime({
    workbook, properties: { script: { ROWBATCH_WEBAPP_SECRET: secret, OPENAI_API_KEY: 'sk-local', ANTHROPIC_API_KEY: 'sk-ant-local' } },
    provider: (req) => fake.handle(req, Date.now()), ...runtime,
  });
  const served = await serveWebApp(rt, { port });
  return { ...served, rt, fake, secret };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = path.join(root, 'out', 'workbook');
  const workbook = fs.existsSync(path.join(dir, 'workbook.json')) ? Workbook.load(dir) : exampleWorkbook();
  const secret = process.env.ROWBATCH_SECRET || crypto.randomBytes(18).toString('base64url');
  const app = await startWebApp({ workbook, secret, port: Number(process.env.PORT) || 8788 });
  if (!process.env.ROWBATCH_SECRET) {
    fs.mkdirSync(path.join(root, 'out'), { recursive: true });
    fs.writeFileSync(path.join(root, 'out', 'webapp-secret'), `${secret}\n`, { mode: 0o600 });
  }
  console.log(`rowbatch web app on ${app.url} (secret ${process.env.ROWBATCH_SECRET ? 'from ROWBATCH_SECRET' : 'in out/webapp-secret'}); Ctrl-C saves the workbook to out/workbook/`);
  process.on('SIGINT', async () => {
    await app.close();
    app.rt.save(dir);
    process.exit(0);
  });
}
