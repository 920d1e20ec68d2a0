// The local Apps Script runtime: runs the pushed files of appsscript/build, unmodified, one
// worker per execution, against a workbook on disk, with Apps Script's service semantics and
// limits, real or simulated time, and counters for every service call.
import fs from 'node:fs';
import path from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { MessageChannel, Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { handlers } from './services.mjs';
import { webAppEvent, webAppOutput } from './webapp.mjs';
import { Workbook } from './workbook.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BUILD_DIR = process.env.ROWBATCH_BUILD_DIR ? path.resolve(process.env.ROWBATCH_BUILD_DIR) : path.resolve(here, '..', 'appsscript', 'build');

/** Apps Script's limits (see ../shared/PLATFORM.md); each can be set per runtime. */
export const LIMITS = {
  executionMs: 6 * 60_000,
  triggers: 20,
  propertyValueBytes: 9 * 1024,
  propertyStoreBytes: 500 * 1024,
  cacheValueBytes: 100 * 1024,
  urlFetchTimeoutMs: 60_000,
  /**
   * Whether a web app execution goes on once the UrlFetch call that started it gave up. Google
   * documents neither way (one report, dev.to "The 1-Second Timeout Hack", says it goes on), so
   * the default is the harder case for rowbatch: it ends at its next service call, its leases
   * left to lapse. `rowbatchMeasure` tells which on a real account.
   */
  webAppOutlivesCaller: false,
  /**
   * A time-driven trigger starts this long after it is due (`after(ms)` is only a minimum),
   * plus a random share of `triggerJitterMs` (seeded): start times drift, and by how much
   * is not documented.
   */
  triggerDelayMs: 0,
  triggerJitterMs: 0,
  /**
   * Requests one `fetchAll` runs at once. Undocumented; community reports put the effective
   * parallelism at 10–20 (PLATFORM.md), so the default is the conservative end: a wave of 100
   * takes ten request latencies, not one.
   */
  fetchAllConcurrency: 10,
  /**
   * What Sheets calls cost on the simulated clock. Google's best-practice page: 10,000
   * single-cell writes take about 70 s and one batched write of them about 1 s, so a call
   * costs ~7 ms and a written cell ~0.1 ms; a read cannot be batched behind earlier writes
   * (getLastRow in a loop turned 1 s into 160 s), so it pays a round trip; reading a cell is
   * taken as a tenth of writing one (community timings of getValues on 100k cells: 1–2 s).
   */
  sheets: { readMs: 25, writeMs: 7, readCellMs: 0.01, writeCellMs: 0.1, flushMs: 25 },
};

/**
 * Daily quotas per account type (Google's "Quotas for Google Services" page): URL Fetch calls
 * (each request of a fetchAll is a call), total trigger runtime, email recipients, Properties
 * reads and writes; executions at once per user. They apply over a rolling 24 hours here
 * (PLATFORM.md; some reports say they reset at midnight Pacific: a product that pauses and
 * retries copes with either).
 */
export const QUOTAS = {
  consumer: { urlfetch: 20_000, triggerRuntimeMs: 90 * 60_000, email: 100, properties: 50_000, simultaneous: 30 },
  workspace: { urlfetch: 100_000, triggerRuntimeMs: 6 * 3_600_000, email: 1_500, properties: 500_000, simultaneous: 30 },
};
export const DAY_MS = 24 * 3_600_000;

/**
 * The OAuth scope each service needs, checked against the manifest's `oauthScopes` (a script
 * with an explicit list gets nothing else). The message is Apps Script's:
 * "You do not have permission to call MailApp.sendEmail. Required permissions: …".
 */
const SCOPES = {
  spreadsheet: [['SpreadsheetApp', 'https://www.googleapis.com/auth/spreadsheets.currentonly', 'https://www.googleapis.com/auth/spreadsheets']],
  sheet: [['SpreadsheetApp', 'https://www.googleapis.com/auth/spreadsheets.currentonly', 'https://www.googleapis.com/auth/spreadsheets']],
  range: [['SpreadsheetApp', 'https://www.googleapis.com/auth/spreadsheets.currentonly', 'https://www.googleapis.com/auth/spreadsheets']],
  urlfetch: [['UrlFetchApp', 'https://www.googleapis.com/auth/script.external_request']],
  triggers: [['ScriptApp', 'https://www.googleapis.com/auth/script.scriptapp']],
  mail: [['MailApp', 'https://www.googleapis.com/auth/script.send_mail']],
  ui: [['Ui', 'https://www.googleapis.com/auth/script.container.ui']],
  'ui.toast': [['Spreadsheet', 'https://www.googleapis.com/auth/spreadsheets.currentonly', 'https://www.googleapis.com/auth/spreadsheets']],
  // Without the scope, Apps Script may return "" rather than throw (the docs leave it open);
  // throwing is the stricter of the two.
  'session.user': [['Session', 'https://www.googleapis.com/auth/userinfo.email']],
};
const METHOD_NAMES = { 'urlfetch.fetchAll': 'UrlFetchApp.fetchAll', 'mail.send': 'MailApp.sendEmail', 'mail.quota': 'MailApp.getRemainingDailyQuota',
  'triggers.create': 'ScriptApp.newTrigger', 'triggers.list': 'ScriptApp.getProjectTriggers', 'triggers.delete': 'ScriptApp.deleteTrigger',
  'session.user': 'Session.getActiveUser', 'ui.showSidebar': 'Ui.showSidebar', 'ui.alert': 'Ui.alert', 'ui.menu': 'Ui.createMenu' };

export class ExecutionError extends Error {}

/** The execution whose service call is being handled (simulated time: each has its own clock). */
const serving = new AsyncLocalStorage();

/** A seeded stream of numbers in [0, 1) (mulberry32), so trigger jitter replays. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

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
    this.limits = { ...LIMITS, ...o.limits, sheets: { ...LIMITS.sheets, ...o.limits?.sheets } };
    /** `consumer` (the default: the stricter quotas) or `workspace`. */
    this.account = o.account ?? 'consumer';
    this.quotas = { ...QUOTAS[this.account], ...o.quotas };
    /** What each daily quota has spent: [time, amount] pairs, dropped once a day old. */
    this.usage = { urlfetch: [], triggerRuntimeMs: [], email: [], properties: [] };
    this.running = 0;
    this.random = seeded(o.seed ?? 1);
    this.user = o.user ?? 'user@example.com';
    /**
     * The deployed web app's `/exec` URL (ScriptApp.getService().getUrl()), or null: not deployed.
     * Requests the script makes to it run as executions here (serveWebApp sets it too).
     */
    this.webAppUrl = o.webAppUrl ?? null;
    this.properties = { script: {}, user: {}, document: {}, ...o.properties };
    this.cache = { script: new Map(), user: new Map(), document: new Map() };
    this.locks = { script: null, user: null, document: null };
    this.lockWaiters = [];
    /**
     * Simulated time is a discrete-event simulation: each execution has its own clock, moved by
     * its own service calls, and the runtime handles the earliest pending call of all live
     * executions first, once no execution still computing could make an earlier one. So
     * executions overlap in simulated time as they do in Apps Script (workers in parallel take
     * the time of one, not the sum), and what they share — locks, sheets, quotas, the provider —
     * sees their calls in time order. `clock` is the time of the last event handled.
     */
    this.live = new Map();
    this.lastEnd = 0;
    this.timers = [];
    this.pumpQueued = false;
    /** Called when a trigger is made or deleted, or an execution ends (runTriggers waits on them). */
    this.listeners = new Set();
    this.triggers = [];
    this.logs = [];
    this.onLog = o.onLog ?? null;
    /** `(execution, service, method) => boolean`: kill the execution before that call (crash tests). */
    this.crashAt = o.crashAt ?? null;
    this.ui = { toasts: [], sidebars: [], alerts: [], menus: [] };
    this.mail = [];
    this.counters = Object.fromEntries(['executions', 'executionMs', 'webAppExecutions', 'peakRunning', 'kills', 'sheetsReads', 'sheetsWrites', 'sheetsFlushes', 'urlFetchCalls',
      'urlFetchRequests', 'propertiesReads', 'propertiesWrites', 'cacheCalls', 'lockCalls', 'lockWaitMs',
      'triggerRuns', 'triggerRuntimeMs', 'sleepMs', 'sheetsMs', 'quotaRefusals', 'scopeRefusals', 'busyRefusals'].map((k) => [k, 0]));
    /** Sheets calls by service method, e.g. `range.getValues`: where the round trips go. */
    this.sheetsCalls = new Map();
    this.nextExec = 1;
    this.nextTrigger = 1;
    this.shim = fs.readFileSync(path.join(here, 'shim.js'), 'utf8');
    const manifest = path.join(this.buildDir, 'appsscript.json');
    /** The manifest's oauthScopes; null when it lists none (then Apps Script infers them). */
    this.scopes = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')).oauthScopes ?? null : null;
    /** `scopes`: the manifest as a user edited it (a scope added after a prompt). */
    if (o.scopes) this.scopes = o.scopes;
  }

  /** The quota spent in the last 24 hours. */
  used(kind) {
    const since = this.now() - DAY_MS;
    const list = this.usage[kind];
    while (list.length && list[0][0] <= since) list.shift();
    return list.reduce((n, [, amount]) => n + amount, 0);
  }

  /** Spends `amount` of a daily quota, or throws Apps Script's message when it would pass it. */
  spend(kind, amount = 1) {
    if (this.used(kind) + amount > this.quotas[kind]) {
      this.counters.quotaRefusals += 1;
      throw new Error(`Service invoked too many times for one day: ${kind}.`);
    }
    this.usage[kind].push([this.now(), amount]);
  }

  /** Moves the simulated clock of the execution being served (Sheets calls, fetches, sleeps). */
  advance(ms) {
    if (!this.simulated) return;
    const e = serving.getStore();
    if (e) e.clock += ms;
    else this.clock += ms;
  }

  /** Real time; or the simulated time of the execution being served, else of the last event. */
  now() {
    if (!this.simulated) return Date.now();
    return serving.getStore()?.clock ?? this.clock;
  }

  /**
   * Simulated time: `fn` runs when the simulation reaches `at`. Returns a function that cancels it.
   */
  timer(at, fn) {
    const t = { at, fn };
    this.timers.push(t);
    this.wake();
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
      this.wake();
    };
  }

  wake() {
    if (!this.simulated || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /**
   * Handles the next event: the earliest pending service call or timer, unless an execution
   * still computing (between calls) sits at an earlier time and may yet call. One event per
   * turn of the event loop, so a call's handler and its reply finish before the next is chosen.
   */
  pump() {
    let floor = Infinity;
    let best = null;
    for (const e of this.live.values()) {
      if (e.state === 'computing') floor = Math.min(floor, e.clock);
      else if (e.state === 'pending' && (!best || e.clock < best.at)) best = { at: e.clock, exec: e };
    }
    for (const t of this.timers) if (!best || t.at < best.at) best = { at: t.at, timer: t };
    if (!best || best.at > floor) return;
    this.clock = Math.max(this.clock, best.at);
    if (best.timer) {
      this.timers = this.timers.filter((x) => x !== best.timer);
      best.timer.fn();
    } else {
      best.exec.state = 'serving';
      best.exec.serve();
    }
    this.wake();
  }

  /**
   * Runs one execution of `fn(...args)`; resolves when it returns, throws or is killed.
   * `at`: simulated time, when it starts (a web app request made later in a `fetchAll` lane).
   */
  run(fn, args = [], { trigger = null, at = null, handle = null } = {}) {
    const id = this.nextExec;
    this.nextExec += 1;
    this.counters.executions += 1;
    const started = this.simulated && at !== null ? Math.max(at, this.clock) : this.now();
    // Refused before the script starts: no worker, no service call, nothing written.
    const refuse = (message) => Promise.resolve({ execution: id, ms: 0, ok: false, refused: true, error: { name: 'Exception', message } });
    if (this.running >= this.quotas.simultaneous) {
      this.counters.busyRefusals += 1;
      return refuse('There are too many scripts running.'); // wording unconfirmed
    }
    if (trigger && this.used('triggerRuntimeMs') >= this.quotas.triggerRuntimeMs) {
      this.counters.quotaRefusals += 1;
      return refuse(TOO_MUCH_TIME);
    }
    this.running += 1;
    this.counters.peakRunning = Math.max(this.counters.peakRunning, this.running);
    const signal = new SharedArrayBuffer(8);
    const flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    const files = fs.readdirSync(this.buildDir).filter((f) => f.endsWith('.js')).sort();
    const worker = new Worker(path.join(here, 'worker.mjs'), {
      workerData: { buildDir: this.buildDir, files, shim: this.shim, fn, args, signal, simulated: this.simulated, now: started, port: port2 },
      transferList: [port2],
    });
    // `state` (simulated time): computing between calls, pending with a call to handle, serving
    // while its handler runs (a lock wait or a web app request can take simulated time).
    const exec = { id, started, clock: started, state: 'computing', req: null, worker, killed: false, doomed: null };
    if (handle) handle.exec = exec;
    if (this.simulated) this.live.set(id, exec);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running -= 1;
        this.live.delete(id);
        // A dead execution waits for no lock: it must never be handed one.
        for (const w of this.lockWaiters.filter((x) => x.exec.id === id)) w.cancel?.();
        this.lockWaiters = this.lockWaiters.filter((w) => w.exec.id !== id);
        if (this.simulated) {
          // Once no execution is left, the clock stands where the last one ended.
          this.lastEnd = Math.max(this.lastEnd, exec.clock);
          if (this.live.size === 0) this.clock = Math.max(this.clock, this.lastEnd);
        }
        this.releaseAll(id, this.simulated ? exec.clock : this.now());
        port1.close();
        const ms = (this.simulated ? exec.clock : this.now()) - started;
        this.counters.executionMs += ms;
        if (trigger) {
          this.counters.triggerRuns += 1;
          this.counters.triggerRuntimeMs += ms;
          this.usage.triggerRuntimeMs.push([started, ms]);
        }
        this.wake();
        resolve({ execution: id, started, ms, ...result });
        this.changed();
      };
      const kill = (message = 'Exceeded maximum execution time') => {
        exec.killed = true;
        this.counters.kills += 1;
        worker.terminate();
        finish({ ok: false, killed: true, error: { name: message, message } });
      };
      const timer = this.simulated ? null : setTimeout(kill, this.limits.executionMs);
      exec.serve = () => serving.run(exec, async () => {
        const req = exec.req;
        // Crash injection (tests): the execution dies before this call reaches the service.
        if (this.crashAt?.(exec, req.service, req.method)) return kill();
        // A web app execution whose caller gave up (webAppOutlivesCaller false).
        if (exec.doomed) return kill(exec.doomed);
        // A trigger's execution stops when the day's trigger runtime is spent.
        if (trigger && this.used('triggerRuntimeMs') + (this.now() - started) > this.quotas.triggerRuntimeMs) {
          this.counters.quotaRefusals += 1;
          return kill(TOO_MUCH_TIME);
        }
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
        exec.state = 'computing';
        this.wake();
        port1.postMessage(JSON.stringify(reply));
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      });
      port1.on('message', (req) => {
        exec.req = req;
        if (!this.simulated) return exec.serve();
        exec.state = 'pending';
        this.wake();
      });
      worker.on('message', (m) => {
        if (m.done) finish(m.error ? { ok: false, error: m.error } : { ok: true, value: m.value });
      });
      worker.on('error', (e) => finish({ ok: false, error: { name: e.name, message: e.message } }));
      worker.on('exit', () => finish({ ok: false, error: { name: 'Exit', message: 'the execution ended without a result' } }));
    });
  }

  /**
   * Runs every trigger that is due, in time order. In simulated time each starts when the
   * simulation reaches its time, alongside executions still running (as Apps Script starts a
   * trigger whatever else runs); in real time one after another, waiting for each.
   * Resolves, once every execution it started has ended, to their results in start order.
   */
  async runTriggers({ maxRuns = Infinity } = {}) {
    const started = [];
    while (started.length < maxRuns) {
      const pending = this.triggers.filter((t) => !t.fired).sort((a, b) => a.at - b.at);
      if (pending.length === 0) {
        if (!this.simulated || started.every((s) => s.ended)) break;
        // A running execution may yet make a trigger: wait for one of them to end, or for a trigger.
        await this.nextChange(started.filter((s) => !s.ended).map((s) => s.promise));
        continue;
      }
      const t = pending[0];
      if (t.at > this.now()) {
        if (!this.simulated) await new Promise((r) => setTimeout(r, t.at - this.now()));
        else if (!(await this.reached(t.at))) continue;
      }
      // An `after(ms)` trigger fires once and stays in the project's list until deleted.
      t.fired = !t.every;
      if (t.every) t.at += t.every + this.triggerLate();
      const entry = { trigger: t.id, fn: t.fn, ended: false };
      entry.promise = this.run(t.fn, [{ triggerUid: t.id }], { trigger: t, at: this.simulated ? this.clock : null })
        .then((r) => { entry.ended = true; entry.result = r; return r; });
      started.push(entry);
      if (!this.simulated) await entry.promise;
    }
    await Promise.all(started.map((s) => s.promise));
    return started.map((s) => ({ trigger: s.trigger, fn: s.fn, ...s.result }));
  }

  /**
   * Simulated time: true when the simulation reaches `at`; false sooner if a trigger is made or
   * deleted meanwhile (then the earliest may be another).
   */
  reached(at) {
    return new Promise((resolve) => {
      const done = (ok) => {
        this.listeners.delete(changed);
        cancel();
        resolve(ok);
      };
      const changed = () => done(false);
      this.listeners.add(changed);
      const cancel = this.timer(at, () => done(true));
    });
  }

  /** Resolves at the next change (a trigger made or deleted, an execution ended) or when one of `promises` does. */
  nextChange(promises = []) {
    return new Promise((resolve) => {
      const changed = () => {
        this.listeners.delete(changed);
        resolve();
      };
      this.listeners.add(changed);
      for (const p of promises) p.then(changed);
    });
  }

  changed() {
    for (const f of [...this.listeners]) f();
  }

  /** How late a time-driven trigger starts: the fixed delay plus seeded jitter. */
  triggerLate() {
    return this.limits.triggerDelayMs + Math.round(this.random() * this.limits.triggerJitterMs);
  }

  /**
   * A request of the script to its own web app, starting at `at`: `doPost` or `doGet` as an
   * execution of its own (refused past the simultaneous limit like any), answered as `/exec`
   * answers once UrlFetchApp has followed its redirect (status 200; a script error is an HTML
   * page). UrlFetch gives up after `urlFetchTimeoutMs` ({timeout}); the execution then goes on
   * or ends at its next service call, as `webAppOutlivesCaller` says.
   */
  async callWebApp(url, method, contents, type, at) {
    const fn = method === 'POST' ? 'doPost' : 'doGet';
    this.counters.webAppExecutions += 1;
    const handle = {};
    const exec = this.run(fn, [webAppEvent(new URL(url), method, contents, type)], { at, handle });
    const timeout = this.limits.urlFetchTimeoutMs;
    let cancel = () => {};
    const late = new Promise((resolve) => {
      if (this.simulated) cancel = this.timer(at + timeout, () => resolve(null));
      else {
        const t = setTimeout(() => resolve(null), timeout);
        cancel = () => clearTimeout(t);
      }
    });
    const out = await Promise.race([exec, late]);
    cancel();
    if (!out) {
      // Nothing reaches the script when Apps Script ends it: the wording is the runtime's own.
      if (!this.limits.webAppOutlivesCaller && handle.exec) handle.exec.doomed = 'the request that started this execution timed out';
      return { networkError: true, timeout: true, latencyMs: timeout };
    }
    const o = webAppOutput(out);
    const ended = this.simulated ? (out.started ?? at) + out.ms : Date.now();
    return { status: o.status, headers: { 'Content-Type': `${o.type}; charset=utf-8` }, body: o.text, latencyMs: Math.max(0, ended - at) };
  }

  /** What the user has selected, as Sheets' getActiveRange() reports it. */
  select(sheet, a1) {
    this.selection = { sheet, a1 };
  }

  save(dir = this.workbookDir) {
    if (dir) this.workbook.save(dir);
  }

  /** An execution's locks, released when it ends (at `at`, its clock). */
  releaseAll(execId, at) {
    for (const kind of Object.keys(this.locks)) if (this.locks[kind] === execId) this.unlock(kind, at);
  }

  /** Frees a lock; in simulated time the first execution waiting for it takes it at `at`. */
  unlock(kind, at) {
    this.locks[kind] = null;
    const w = this.lockWaiters.find((x) => x.kind === kind);
    if (!w) return;
    this.lockWaiters = this.lockWaiters.filter((x) => x !== w);
    this.locks[kind] = w.exec.id;
    w.exec.clock = Math.max(w.exec.clock, at);
    w.grant();
  }

  async handle(exec, service, method, args) {
    const h = handlers[service]?.[method];
    if (!h) throw new Error(`${service}.${method} is not available in the local runtime`);
    this.checkScope(service, method);
    // Every Properties call counts toward the day's Properties quota.
    if (service === 'properties') this.spend('properties');
    if (service === 'spreadsheet' || service === 'sheet' || service === 'range') {
      const k = `${service}.${method}`;
      this.sheetsCalls.set(k, (this.sheetsCalls.get(k) ?? 0) + 1);
    }
    return h.call(this, exec, ...args);
  }

  /** Throws Apps Script's permission error when the manifest lacks the service's scope. */
  checkScope(service, method) {
    const need = SCOPES[`${service}.${method}`] ?? SCOPES[service];
    if (!need || !this.scopes) return;
    for (const [name, ...accepted] of need) {
      if (accepted.some((sc) => this.scopes.includes(sc))) continue;
      this.counters.scopeRefusals += 1;
      const call = METHOD_NAMES[`${service}.${method}`] ?? `${name}.${method}`;
      throw new Error(`You do not have permission to call ${call}. Required permissions: ${accepted[0]}`);
    }
  }

  /** Whether the manifest grants a scope (ScriptApp.getAuthorizationInfo). */
  granted(scopes) {
    return !this.scopes || scopes.every((s) => this.scopes.includes(s));
  }
}

const TOO_MUCH_TIME = 'Service using too much computer time for one day';
