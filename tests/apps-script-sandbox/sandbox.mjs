// A model of Apps Script's global scope: a `node:vm` context holding only ECMAScript built-ins,
// WebAssembly, console and stand-ins for the few Apps Script services the loader touches — no
// Node or Web globals. The pushed files are evaluated unmodified, in push order. If the project
// loads here, it does not rely on anything Apps Script lacks.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = path.join(root, 'appsscript', 'build');

/** Globals Apps Script does not have; none may exist before the project's own polyfills run. */
export const FOREIGN_GLOBALS = [
  'process', 'require', 'module', 'Buffer', 'global', 'window', 'self', 'document', 'navigator',
  'fetch', 'URL', 'atob', 'btoa', 'setTimeout', 'setInterval', 'queueMicrotask', 'structuredClone',
  'TextEncoder', 'TextDecoder', 'crypto', 'performance',
];

/** The files `clasp push` sends, in the order Apps Script loads them (by name). */
export function pushedScripts(dir = BUILD_DIR) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
}

// The parts of Utilities and Logger the loader uses. They run outside the context, as the real
// ones run in Google's Java side, and hand back values made in the context's own realm.
function services(context, logs) {
  const inner = vm.runInContext('({ Array, Object })', context);
  return {
    Utilities: inner.Object.freeze({
      base64Decode(text) {
        // Apps Script returns Java bytes: signed, -128..127.
        const bytes = Buffer.from(String(text), 'base64');
        const out = new inner.Array(bytes.length);
        for (let i = 0; i < bytes.length; i += 1) out[i] = bytes[i] > 127 ? bytes[i] - 256 : bytes[i];
        return out;
      },
      getUuid: () => crypto.randomUUID(),
    }),
    Logger: inner.Object.freeze({ log: (...args) => logs.push(args.map(String).join(' ')) }),
    console: inner.Object.freeze({
      log: (...args) => logs.push(args.map(String).join(' ')),
      info: (...args) => logs.push(args.map(String).join(' ')),
      warn: (...args) => logs.push(args.map(String).join(' ')),
      error: (...args) => logs.push(args.map(String).join(' ')),
    }),
  };
}

/**
 * Evaluates the pushed files in a fresh context and loads the module through `loader`
 * ('async' or 'sync', the loader's two paths). Returns the context, what was foreign before
 * loading, the logs, and start-up time split into evaluating the files and loading the module.
 */
export async function openSandbox({ dir = BUILD_DIR, loader = 'async' } = {}) {
  const context = vm.createContext({});
  const foreignBefore = vm.runInContext(
    `${JSON.stringify(FOREIGN_GLOBALS)}.filter((n) => typeof globalThis[n] !== 'undefined')`, context);
  const logs = [];
  Object.assign(context, services(context, logs));

  const t0 = performance.now();
  for (const file of pushedScripts(dir)) {
    vm.runInContext(fs.readFileSync(path.join(dir, file), 'utf8'), context, { filename: file });
  }
  const t1 = performance.now();
  const entry = loader === 'async' ? 'rowbatchAsync_()' : 'rowbatchSync_()';
  await vm.runInContext(entry, context);
  const t2 = performance.now();

  // Calls go in and out as JSON so that every object the module sees was made in its own realm,
  // as in Apps Script; errors come back with their name, code, message and data.
  vm.runInContext(`
    function sandboxCall_(json) {
      const req = JSON.parse(json);
      try {
        return JSON.stringify({ ok: ROWBATCH_[req.fn](req.input) });
      } catch (e) {
        return JSON.stringify({ error: { name: e.name, code: e.code, message: e.message, data: e.data } });
      }
    }`, context);
  return {
    context,
    logs,
    foreignBefore: [...foreignBefore],
    startup: { evaluateMs: t1 - t0, loadMs: t2 - t1, totalMs: t2 - t0 },
    call(fn, input) {
      return JSON.parse(context.sandboxCall_(JSON.stringify({ fn, input })));
    },
    eval(code) {
      return vm.runInContext(code, context);
    },
  };
}
