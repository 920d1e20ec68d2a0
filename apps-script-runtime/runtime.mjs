// The local Apps Script runtime: runs the pushed files of appsscript/build, unmodified, one
// worker per execution, against a workbook on disk, with Apps Script's service semantics and
// limits, real or simulated time, and counters for every service call.
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { handlers } from './services.mjs';
import { Workbook } from './workbook.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BUILD_DIR = path.resolve(here, '..', 'appsscript', 'build');

/** Apps Script's limits (see ../shared/PLATFORM.md); each can be set per runtime. */
export const LIMITS = {
  executionMs: 6 * 60_000,
  triggers: 20,
  propertyValueBytes: 9 * 1024,
  propertyStoreBytes: 500 * 1024,
  cacheValueBytes: 100 * 1024,
  urlFetchTimeoutMs: 60_000,
  /** A time-driven trigger starts this long after it is due (`after(ms)` is only a minimum). */
  triggerDelayMs: 0,
};

export class ExecutionError extends Error {}

export class Runtime {
  /**
   * @param {object} o
   * @param {string} [o.buildDir] the pushed files
   * @param {Workbook} [o.workbook] or {string} [o.workbookDir] to load (and save to)
   * @param {boolean} [o.simulated] a virtual clock starting at `start`
   * @param {(req) => Promise<{status, headers, body, latencyMs}>} [o.provider] in-process HTTP
   *   handler used instead of the network (the fake provider); its latency moves the clock.
   */
  constructor(o = {}) {
    this.buildDir = o.buildDir ?? BUILD_DIR;
    this.workbookDir = o.workbookDir ?? null;
    this.workbook = o.workbook ?? (this.workbookDir ? Workbook.load(this.workbookDir) : new Workbook());
    this.simulated = Boolean(o.simulated);
    this.clock = o.start ?? Date.now();
    this.provider = o.provider ?? null;
    this.limits = { ...LIMITS, ...o.limits };
    this.user = o.user ?? 'user@example.com';
    this.properties = { script: {}, user: {}, document: {}, ...o.properties };
    this.cache = { script: new Map(), user: new Map(), document: new Map() };
    this.locks = { script: null, user: null, document: null };
    this.lockWaiters = [];
    this.triggers = [];
    this.logs = [];
    this.onLog = o.onLog ?? null;
    /** `(execution, service, method) => boolean`: kill the execution before that call (crash tests). */
    this.crashAt = o.crashAt ?? null;
    this.ui = { toasts: [], sidebars: [], alerts: [], menus: [] };
    this.mail = [];
    this.counters = Object.fromEntries(['executions', 'kills', 'sheetsReads', 'sheetsWrites', 'sheetsFlushes', 'urlFetchCalls',
      'urlFetchRequests', 'propertiesReads', 'propertiesWrites', 'cacheCalls', 'lockCalls', 'lockWaitMs',
      'triggerRuns', 'triggerRuntimeMs', 'sleepMs'].map((k) => [k, 0]));
    /** Sheets calls by service method, e.g. `range.getValues`: where the round trips go. */
    this.sheetsCalls = new Map();
    this.nextExec = 1;
    this.nextTrigger = 1;
    this.shim = fs.readFileSync(path.join(here, 'shim.js'), 'utf8');
  }

  now() {
    return this.simulated ? this.clock : Date.now();
  }

  /** Runs one execution of `fn(...args)`; resolves when it returns, throws or is killed. */
  run(fn, args = [], { trigger = null } = {}) {
    const id = this.nextExec;
    this.nextExec += 1;
    this.counters.executions += 1;
    const started = this.now();
    const signal = new SharedArrayBuffer(8);
    const flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    const files = fs.readdirSync(this.buildDir).filter((f) => f.endsWith('.js')).sort();
    const worker = new Worker(path.join(here, 'worker.mjs'), {
      workerData: { buildDir: this.buildDir, files, shim: this.shim, fn, args, signal, simulated: this.simulated, now: this.now(), port: port2 },
      transferList: [port2],
    });
    const exec = { id, started, worker, killed: false };
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.releaseAll(id);
        port1.close();
        const ms = this.now() - started;
        if (trigger) { this.counters.triggerRuns += 1; this.counters.triggerRuntimeMs += ms; }
        resolve({ execution: id, ms, ...result });
      };
      const kill = () => {
        exec.killed = true;
        this.counters.kills += 1;
        worker.terminate();
        finish({ ok: false, killed: true, error: { name: 'Exceeded maximum execution time', message: 'Exceeded maximum execution time' } });
      };
      const timer = this.simulated ? null : setTimeout(kill, this.limits.executionMs);
      port1.on('message', async (req) => {
        // Crash injection (tests): the execution dies before this call reaches the service.
        if (this.crashAt?.(exec, req.service, req.method)) return kill();
        let reply;
        try {
          const value = await this.handle(exec, req.service, req.method, JSON.parse(req.args));
          reply = { value: value === undefined ? null : value };
        } catch (e) {
          reply = { error: e.message, name: e.name === 'Error' ? 'Exception' : e.name };
        }
        if (this.simulated && this.now() - started > this.limits.executionMs) return kill();
        if (settled) return;
        reply.clock = this.now();
        port1.postMessage(JSON.stringify(reply));
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      });
      worker.on('message', (m) => {
        if (m.done) finish(m.error ? { ok: false, error: m.error } : { ok: true, value: m.value });
      });
      worker.on('error', (e) => finish({ ok: false, error: { name: e.name, message: e.message } }));
      worker.on('exit', () => finish({ ok: false, error: { name: 'Exit', message: 'the execution ended without a result' } }));
    });
  }

  /** Runs every trigger that is due, in time order; in simulated time, waits are skipped. */
  async runTriggers({ maxRuns = Infinity } = {}) {
    const results = [];
    while (results.length < maxRuns) {
      const pending = this.triggers.filter((t) => !t.fired).sort((a, b) => a.at - b.at);
      if (pending.length === 0) break;
      const t = pending[0];
      if (t.at > this.now()) {
        if (!this.simulated) await new Promise((r) => setTimeout(r, t.at - this.now()));
        else this.clock = t.at;
      }
      // An `after(ms)` trigger fires once and stays in the project's list until deleted.
      t.fired = !t.every;
      if (t.every) t.at += t.every;
      results.push({ trigger: t.id, fn: t.fn, ...(await this.run(t.fn, [{ triggerUid: t.id }], { trigger: t })) });
    }
    return results;
  }

  /** What the user has selected, as Sheets' getActiveRange() reports it. */
  select(sheet, a1) {
    this.selection = { sheet, a1 };
  }

  save(dir = this.workbookDir) {
    if (dir) this.workbook.save(dir);
  }

  releaseAll(execId) {
    for (const kind of Object.keys(this.locks)) if (this.locks[kind] === execId) this.locks[kind] = null;
  }

  async handle(exec, service, method, args) {
    const h = handlers[service]?.[method];
    if (!h) throw new Error(`${service}.${method} is not available in the local runtime`);
    if (service === 'spreadsheet' || service === 'sheet' || service === 'range') {
      const k = `${service}.${method}`;
      this.sheetsCalls.set(k, (this.sheetsCalls.get(k) ?? 0) + 1);
    }
    return h.call(this, exec, ...args);
  }
}
