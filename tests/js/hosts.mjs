// One JS suite, every build: ROWBATCH_HOST picks the host the suite runs against.
//   node     - the Node build (wasm/pkg/nodejs)
//   sandbox  - the Apps Script build (appsscript/build) in the bare-V8 sandbox
//   browser  - the browser build (web-demo) in Debian's Chromium, driven by playwright-core
// Each host offers call(fn, input) → output, and throws a HostError carrying the module's
// RowbatchError fields (name, code, message, data).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST = process.env.ROWBATCH_HOST || 'node';

export class HostError extends Error {
  constructor(fields) {
    super(fields.message);
    this.name = fields.name;
    this.code = fields.code;
    this.data = fields.data;
  }
}

function unwrap(res) {
  if (res.error) throw new HostError(res.error);
  return res.ok;
}

async function nodeHost() {
  const api = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  return {
    api,
    async call(fn, input) {
      try {
        return api[fn](input);
      } catch (e) {
        throw new HostError(e);
      }
    },
    async close() {},
  };
}

async function sandboxHost() {
  const { openSandbox } = await import('../apps-script-sandbox/sandbox.mjs');
  const sandbox = await openSandbox();
  return {
    sandbox,
    async call(fn, input) {
      return unwrap(sandbox.call(fn, input));
    },
    async close() {},
  };
}

async function browserHost() {
  const { chromium } = await import('playwright-core');
  const { serve } = await import('../../tools/serve.mjs');
  const { chromiumPath } = await import('../../tools/setup.mjs');
  const server = await serve(path.join(root, 'web-demo'));
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e));
  await page.goto(server.url);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 20000 });
  return {
    page,
    pageErrors,
    url: server.url,
    async call(fn, input) {
      return unwrap(await page.evaluate(([f, arg]) => {
        try {
          return { ok: window.rowbatch[f](arg) };
        } catch (e) {
          return { error: { name: e.name, code: e.code, message: e.message, data: e.data } };
        }
      }, [fn, input]));
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export async function openHost(name = HOST) {
  const open = { node: nodeHost, sandbox: sandboxHost, browser: browserHost }[name];
  if (!open) throw new Error(`ROWBATCH_HOST must be node, sandbox or browser, not ${name}`);
  return { name, ...(await open()) };
}
