// The services an execution calls, run in the runtime (outside the execution's context), each
// with Apps Script's semantics and limits. `this` is the Runtime; the first argument is the
// calling execution.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { enter, MAX_CELLS, TOO_MANY_CELLS } from './workbook.mjs';


function sheetHandle(s) {
  return { id: s.id, name: s.name };
}

function sheetById(rt, id) {
  const s = rt.workbook.sheets.find((x) => x.id === id);
  if (!s) throw new Error('The sheet was deleted.');
  return s;
}

function a1Col(c) {
  let s = '';
  for (let n = c; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** A1 notation; `A2:E` runs to the sheet's last row (`maxRows`), as in Sheets. */
function parseA1(a1, maxRows = 1000) {

  const m = /^\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d*))?$/i.exec(a1.trim());
  if (!m) throw new Error(`Range not found: ${a1}`);
  const col = (s) => [...s.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0);
  const r1 = Number(m[2]);
  const c1 = col(m[1]);
  if (m[3] && m[4] === '' && r1 > maxRows) throw new Error(`Range not found: ${a1}`);
  const r2 = m[4] ? Number(m[4]) : m[3] ? maxRows : r1;
  const c2 = m[3] ? col(m[3]) : c1;
  return { row: Math.min(r1, r2), col: Math.min(c1, c2), rows: Math.abs(r2 - r1) + 1, cols: Math.abs(c2 - c1) + 1 };
}

/** Growing a sheet by `cells` must keep the spreadsheet within 10 million cells. */
function grow(rt, cells) {
  if (rt.workbook.cellCount() + cells > MAX_CELLS) throw new Error(TOO_MANY_CELLS);
}

/**
 * insertRowsAfter/Before and insertColumnsAfter/Before: `n` new rows (columns) after the 1-based
 * position, or before it (`shift` -1), the grid grown in one call within the cell limit.
 */
function insert(what, shift) {
  return function (_e, id, at, n) {
    this.counters.sheetsWrites += 1;
    cost(this, 'write');
    const s = sheetById(this, id);
    const rows = what === 'rows';
    position(at, rows ? s.maxRows : s.maxColumns, what);
    grow(this, n * (rows ? s.maxColumns : s.maxRows));
    if (rows) s.insertRows(at + shift, n);
    else s.insertColumns(at + shift, n);
  };
}

/** The 1-based position arguments of insertRows…/deleteRows: whole numbers inside the grid. */
function position(n, max, what) {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`Those ${what} are out of bounds.`);
}

function checkShape(h, values, method = 'setValues') {
  if (!Array.isArray(values) || values.some((r) => !Array.isArray(r))) {
    throw new Error(`The parameters (String) don't match the method signature for SpreadsheetApp.Range.${method}.`);
  }
  if (values.length !== h.rows) {
    throw new Error(`The number of rows in the data does not match the number of rows in the range. The data has ${values.length} but the range has ${h.rows}.`);
  }
  const bad = values.find((r) => r.length !== h.cols);
  if (bad) {
    throw new Error(`The number of columns in the data does not match the number of columns in the range. The data has ${bad.length} but the range has ${h.cols}.`);
  }
}

/**
 * A Sheets call's cost on the simulated clock: a round trip for a read (or flush), a smaller
 * one for a write, plus a share per cell (LIMITS.sheets in runtime.mjs, with its sources).
 */
function cost(rt, kind, cells = 0) {
  const c = rt.limits.sheets;
  const ms = kind === 'read' ? c.readMs + cells * c.readCellMs : kind === 'write' ? c.writeMs + cells * c.writeCellMs : c.flushMs;
  rt.counters.sheetsMs += ms;
  rt.advance(ms);
}

function bytes(s) {
  return Buffer.byteLength(s, 'utf8');
}

function signed(buf) {
  return [...buf].map((b) => (b > 127 ? b - 256 : b));
}

export const handlers = {
  spreadsheet: {
    getName() { this.counters.sheetsReads += 1; cost(this, 'read'); return this.workbook.name; },
    getId() { return `local-${this.workbook.name}`; },
    getSheetByName(_e, name) { this.counters.sheetsReads += 1; cost(this, 'read'); const s = this.workbook.sheet(name); return s ? sheetHandle(s) : null; },
    getSheets() { this.counters.sheetsReads += 1; cost(this, 'read'); return this.workbook.sheets.map(sheetHandle); },
    insertSheet(_e, name, index) {
      this.counters.sheetsWrites += 1;
      cost(this, 'read'); // answers with the new sheet: a round trip
      return sheetHandle(this.workbook.insert(String(name ?? `Sheet${this.workbook.sheets.length + 1}`), index ?? undefined));
    },
    flush() { this.counters.sheetsFlushes += 1; cost(this, 'flush'); },
    // The user's selection: set by tests with runtime.select(sheet, a1); the first sheet's A1 otherwise.
    getActiveSheet() { return sheetHandle(this.workbook.sheet(this.selection?.sheet) ?? this.workbook.sheets[0]); },
    getActiveRange() {
      const s = this.workbook.sheet(this.selection?.sheet) ?? this.workbook.sheets[0];
      return { sheet: s.id, ...parseA1(this.selection?.a1 ?? 'A1') };
    },
  },
  sheet: {
    byId(_e, id) { return sheetHandle(sheetById(this, id)); },
    getLastRow(_e, id) { this.counters.sheetsReads += 1; cost(this, 'read'); return sheetById(this, id).lastRow; },
    getLastColumn(_e, id) { this.counters.sheetsReads += 1; cost(this, 'read'); return sheetById(this, id).lastColumn; },
    getMaxRows(_e, id) { this.counters.sheetsReads += 1; cost(this, 'read'); return sheetById(this, id).maxRows; },
    getMaxColumns(_e, id) { this.counters.sheetsReads += 1; cost(this, 'read'); return sheetById(this, id).maxColumns; },
    getRange(_e, id, a, b, c, d) {
      const s = sheetById(this, id);
      const h = typeof a === 'string' ? parseA1(a, s.maxRows) : { row: a, col: b, rows: c ?? 1, cols: d ?? 1 };
      for (const [k, v] of Object.entries(h)) {
        if (!Number.isInteger(v) || v < 1) {
          throw new Error(k === 'rows' ? 'The number of rows in the range must be at least 1.'
            : k === 'cols' ? 'The number of columns in the range must be at least 1.' : 'Those rows are out of bounds.');
        }
      }
      s.within(h.row, h.col, h.rows, h.cols);
      return { sheet: s.id, ...h };
    },
    // The grid grows only here (and by appendRow), one call for any number of rows.
    insertRowsAfter: insert('rows', 0),
    insertRowsBefore: insert('rows', -1),
    insertColumnsAfter: insert('columns', 0),
    insertColumnsBefore: insert('columns', -1),
    deleteRows(_e, id, at, n) {
      this.counters.sheetsWrites += 1;
      cost(this, 'write');
      const s = sheetById(this, id);
      position(at, s.maxRows, 'rows');
      position(at + n - 1, s.maxRows, 'rows');
      s.deleteRows(at - 1, n);
    },
    getDataRange(_e, id) {
      this.counters.sheetsReads += 1; // it has to learn the data's extent
      cost(this, 'read');
      const s = sheetById(this, id);
      return { sheet: s.id, row: 1, col: 1, rows: Math.max(1, s.lastRow), cols: Math.max(1, s.lastColumn) };
    },
    // Appends after the last row with content, adding a row (and columns) when the grid is full.
    appendRow(_e, id, values) {
      this.counters.sheetsWrites += 1;
      cost(this, 'read', values.length); // it has to find the last row first
      const s = sheetById(this, id);
      const r = s.lastRow;
      const entered = values.map(enter);
      const rows = r + 1 > s.maxRows ? 1 : 0;
      const cols = Math.max(0, values.length - s.maxColumns);
      grow(this, rows * s.maxColumns + cols * (s.maxRows + rows));
      if (rows) s.gridRows = s.maxRows + 1;
      if (cols) s.gridColumns = values.length;
      entered.forEach((v, c) => s.set(r, c, v));
    },
    clear(_e, id) { this.counters.sheetsWrites += 1; cost(this, 'write'); const s = sheetById(this, id); s.rows = []; s.formulas.clear(); },
    setHidden(_e, id, hidden) { this.counters.sheetsWrites += 1; cost(this, 'write'); sheetById(this, id).hidden = hidden; },
    isHidden(_e, id) { return sheetById(this, id).hidden; },
  },
  range: {
    getValues(_e, h) {
      this.counters.sheetsReads += 1;
      cost(this, 'read', h.rows * h.cols);
      const s = sheetById(this, h.sheet);
      return Array.from({ length: h.rows }, (_, i) => Array.from({ length: h.cols }, (_, j) => s.get(h.row - 1 + i, h.col - 1 + j)));
    },
    getDisplayValues(e, h) {
      return handlers.range.getValues.call(this, e, h).map((r) => r.map((v) => (v?.$date ? new Date(v.$date).toISOString() : String(v))));
    },
    getFormulas(_e, h) {
      this.counters.sheetsReads += 1;
      cost(this, 'read', h.rows * h.cols);
      const s = sheetById(this, h.sheet);
      return Array.from({ length: h.rows }, (_, i) => Array.from({ length: h.cols }, (_, j) => s.formula(h.row - 1 + i, h.col - 1 + j)));
    },
    getNotes(_e, h) {
      this.counters.sheetsReads += 1;
      cost(this, 'read', h.rows * h.cols);
      const s = sheetById(this, h.sheet);
      return Array.from({ length: h.rows }, (_, i) => Array.from({ length: h.cols }, (_, j) => s.note(h.row - 1 + i, h.col - 1 + j)));
    },
    // Range.getNotes/setNotes (Apps Script's Range reference): a grid of notes, shape-checked as
    // setValues is. '' clears a note (as setNote('') does, reported); null is not documented and
    // is taken as '' here; rowbatch writes only strings. Google documents no note length limit.
    setNotes(_e, h, notes) {
      this.counters.sheetsWrites += 1;
      cost(this, 'write', h.rows * h.cols);
      checkShape(h, notes, 'setNotes');
      const s = sheetById(this, h.sheet);
      s.within(h.row, h.col, h.rows, h.cols);
      notes.forEach((r, i) => r.forEach((v, j) => s.setNote(h.row - 1 + i, h.col - 1 + j, v === null || v === undefined ? '' : String(v))));
    },
    setValues(_e, h, values) {
      this.counters.sheetsWrites += 1;
      cost(this, 'write', h.rows * h.cols);
      checkShape(h, values);
      const s = sheetById(this, h.sheet);
      s.within(h.row, h.col, h.rows, h.cols); // rows may have been deleted since getRange
      const entered = values.map((r) => r.map(enter)); // all or nothing
      entered.forEach((r, i) => r.forEach((v, j) => s.set(h.row - 1 + i, h.col - 1 + j, v)));
    },
    setValue(_e, h, value) {
      this.counters.sheetsWrites += 1;
      cost(this, 'write', 1);
      const s = sheetById(this, h.sheet);
      s.within(h.row, h.col, 1, 1);
      s.set(h.row - 1, h.col - 1, enter(value));
    },
    clearContent(_e, h) {
      this.counters.sheetsWrites += 1;
      cost(this, 'write', h.rows * h.cols);
      const s = sheetById(this, h.sheet);
      for (let i = 0; i < h.rows; i += 1) for (let j = 0; j < h.cols; j += 1) s.set(h.row - 1 + i, h.col - 1 + j, { value: '' });
    },
    a1(_e, h) {
      const start = `${a1Col(h.col)}${h.row}`;
      return h.rows === 1 && h.cols === 1 ? start : `${start}:${a1Col(h.col + h.cols - 1)}${h.row + h.rows - 1}`;
    },
    // Selects the range (and shows its sheet), as the user's selection.
    activate(e, h) { this.selection = { sheet: sheetById(this, h.sheet).name, a1: handlers.range.a1.call(this, e, h) }; },
  },
  ui: {
    toast(_e, msg, title) { this.ui.toasts.push({ msg, title }); },
    showSidebar(_e, html, title) { this.ui.sidebars.push({ html, title }); },
    // `onAlert`: what the person does while the dialog is open (a test's hook).
    alert(_e, msg, buttons = 'OK') {
      this.ui.alerts.push(msg);
      this.onAlert?.(msg);
      return buttons === 'OK' ? 'OK' : this.uiAnswer ?? (buttons === 'OK_CANCEL' ? 'OK' : 'YES');
    },
    menu(_e, name, items) { this.ui.menus.push({ name, items }); },
  },
  properties: {
    get(_e, kind, k) { this.counters.propertiesReads += 1; return this.properties[kind][k] ?? null; },
    all(_e, kind) { this.counters.propertiesReads += 1; return { ...this.properties[kind] }; },
    set(e, kind, k, v) { return handlers.properties.setAll.call(this, e, kind, { [k]: v }, false); },
    setAll(_e, kind, obj, deleteOthers) {
      this.counters.propertiesWrites += 1;
      const next = { ...(deleteOthers ? {} : this.properties[kind]) };
      for (const [k, v] of Object.entries(obj)) {
        const value = String(v);
        if (bytes(value) > this.limits.propertyValueBytes) throw new Error('Argument too large: value');
        next[k] = value;
      }
      const total = Object.entries(next).reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0);
      if (total > this.limits.propertyStoreBytes) {
        throw new Error('You have exceeded the property storage quota. Please remove some properties and try again.');
      }
      this.properties[kind] = next;
    },
    delete(_e, kind, k) { this.counters.propertiesWrites += 1; delete this.properties[kind][k]; },
    deleteAll(_e, kind) { this.counters.propertiesWrites += 1; this.properties[kind] = {}; },
  },
  cache: {
    get(_e, kind, k) {
      this.counters.cacheCalls += 1;
      const hit = this.cache[kind].get(k);
      if (!hit || hit.until <= this.now()) { this.cache[kind].delete(k); return null; }
      return hit.value;
    },
    put(_e, kind, k, v, ttl) {
      this.counters.cacheCalls += 1;
      if (bytes(v) > this.limits.cacheValueBytes) throw new Error('Argument too large: value');
      this.cache[kind].set(k, { value: v, until: this.now() + Math.min(21_600, ttl) * 1000 });
    },
    remove(_e, kind, k) { this.counters.cacheCalls += 1; this.cache[kind].delete(k); },
  },
  lock: {
    // Real mutual exclusion between executions (workers): the holder is an execution id.
    async try(e, kind, ms) {
      this.counters.lockCalls += 1;
      if (this.locks[kind] === null || this.locks[kind] === e.id) {
        this.locks[kind] = e.id;
        return true;
      }
      if (this.simulated) {
        // Waits in simulated time: the lock comes when its holder releases it (or ends), or
        // the wait ends at the deadline.
        const t0 = e.clock;
        const got = await new Promise((resolve) => {
          const w = { exec: e, kind, grant: () => { cancel(); resolve(true); } };
          this.lockWaiters.push(w);
          const cancel = this.timer(t0 + Math.max(0, Number(ms) || 0), () => {
            this.lockWaiters = this.lockWaiters.filter((x) => x !== w);
            e.clock = Math.max(e.clock, t0 + Math.max(0, Number(ms) || 0));
            resolve(false);
          });
          w.cancel = cancel;
        });
        this.counters.lockWaitMs += e.clock - t0;
        return got;
      }
      const deadline = Date.now() + Math.max(0, Number(ms) || 0);
      const t0 = Date.now();
      while (this.locks[kind] !== null && this.locks[kind] !== e.id) {
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
      this.counters.lockWaitMs += Date.now() - t0;
      this.locks[kind] = e.id;
      return true;
    },
    release(e, kind) { if (this.locks[kind] === e.id) this.unlock(kind, this.now()); },
    has(e, kind) { return this.locks[kind] === e.id; },
  },
  triggers: {
    create(_e, spec) {
      if (this.triggers.length >= this.limits.triggers) {
        throw new Error('This script has too many triggers. Triggers must be deleted from the script before more can be added.');
      }
      const at = (spec.at ? new Date(spec.at).getTime() : this.now() + (spec.after ?? spec.every ?? 0)) + this.triggerLate();
      const t = { id: String(this.nextTrigger), fn: spec.fn, at, every: spec.every ?? null, fired: false };
      this.nextTrigger += 1;
      this.triggers.push(t);
      this.changed();
      return { id: t.id, fn: t.fn };
    },
    list() { return this.triggers.map((t) => ({ id: t.id, fn: t.fn })); },
    delete(_e, id) {
      this.triggers = this.triggers.filter((t) => t.id !== id);
      this.changed();
    },
  },
  urlfetch: {
    async fetchAll(_e, requests) {
      this.counters.urlFetchCalls += 1;
      // Each request is one URL Fetch call of the day's quota; a fetchAll past it sends nothing.
      this.spend('urlfetch', requests.length);
      this.counters.urlFetchRequests += requests.length;
      const start = this.now();
      // At most `fetchAllConcurrency` requests in flight: each starts when a slot frees, so a
      // wave takes as long as its slowest lane.
      const lanes = new Array(Math.max(1, Math.min(this.limits.fetchAllConcurrency, requests.length))).fill(0);
      const results = new Array(requests.length);
      let next = 0;
      await Promise.all(lanes.map(async (_, lane) => {
        while (next < requests.length) {
          const i = next;
          next += 1;
          const r = await fetchOne(this, requests[i], start + lanes[lane]);
          lanes[lane] += r.latencyMs ?? 0;
          results[i] = r;
        }
      }));
      this.advance(Math.max(...lanes));
      for (const [i, r] of results.entries()) {
        // A request with no answer inside the ~60 s timeout (reported, not documented: PLATFORM.md;
        // about 50 s observed in qiita.com/khsk "UrlFetchApp" notes) throws, and with it the whole
        // fetchAll. Google documents no wording for it: "Timeout: URL" is the runtime's own, and
        // rowbatch reads no meaning into the text (the executor turns any throw into status 0).
        if (r.timeout) throw new Error(`Timeout: ${requests[i].url}`);
        if (r.networkError) throw new Error(`Address unavailable: ${requests[i].url}`);
        if (r.status >= 400 && !requests[i].muteHttpExceptions) {
          throw new Error(`Request failed for ${requests[i].url} returned code ${r.status}. Truncated server response: ${r.body.slice(0, 100)} (use muteHttpExceptions option to examine full response)`);
        }
      }
      return results.map(({ status, headers, body }) => ({ status, headers, body }));
    },
  },
  utilities: {
    async sleep(_e, ms) {
      this.counters.sleepMs += ms;
      if (this.simulated) this.advance(ms);
      else await new Promise((r) => setTimeout(r, ms));
    },
    uuid() { return crypto.randomUUID(); },
    base64Encode(_e, data) {
      return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.map((b) => b & 255))).toString('base64');
    },
    digest(_e, alg, value) {
      const input = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.map((b) => b & 255));
      return signed(crypto.createHash(alg).update(input).digest());
    },
    formatDate(_e, d, _tz, _fmt) { return new Date(d?.$date ?? d).toISOString(); },
  },
  mail: {
    // Each recipient counts toward the day's email quota (100 consumer, 1,500 Workspace).
    send(_e, to, subject, body) {
      const recipients = String(to).split(',').map((x) => x.trim()).filter(Boolean);
      const bad = recipients.find((x) => !/^[^@\s]+@[^@\s]+$/.test(x));
      if (bad || recipients.length === 0) throw new Error(`Invalid email: ${to}`);
      this.spend('email', recipients.length);
      this.mail.push({ to, subject, body });
    },
    quota() { return Math.max(0, this.quotas.email - this.used('email')); },
  },
  session: {
    /** ScriptApp.getAuthorizationInfo(mode, scopes): REQUIRED unless every scope is granted. */
    authorization(_e, scopes) { return this.granted(scopes ?? []) ? 'NOT_REQUIRED' : 'REQUIRED'; },
    user() { return this.user; },
    scriptId() { return 'local-script'; },
    /** ScriptApp.getService().getUrl(): the web app's URL, null when it is not deployed (Google's reference). */
    webAppUrl() { return this.webAppUrl; },
  },
  html: {
    file(_e, name) {
      const file = path.join(this.buildDir, name.endsWith('.html') ? name : `${name}.html`);
      if (!fs.existsSync(file)) throw new Error(`No HTML file named ${name} was found.`);
      return fs.readFileSync(file, 'utf8');
    },
  },
  log: {
    line(_e, text) { this.logs.push(text); this.onLog?.(text); },
  },
};

/** UrlFetch refuses requests and responses over 50 MB. */
const URLFETCH_BYTES = 50 * 1024 * 1024;

/**
 * A payload as UrlFetchApp sends it: text as is; an object as a form, multipart/form-data when
 * one of its values is a blob.
 */
function encodePayload(payload, headers) {
  if (payload === undefined || typeof payload === 'string') return payload;
  const entries = Object.entries(payload);
  if (entries.some(([, v]) => v?.__blob)) {
    const boundary = `----rowbatchLocal${crypto.randomBytes(8).toString('hex')}`;
    headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    return entries.map(([k, v]) => v?.__blob
      ? `--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${v.name ?? k}"\r\nContent-Type: ${v.contentType}\r\n\r\n${v.data}\r\n`
      : `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + `--${boundary}--\r\n`;
  }
  headers['content-type'] ??= 'application/x-www-form-urlencoded';
  return new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();
}

/** One request, as UrlFetchApp makes it (starting at `at` on the simulated clock): the provider in process, or real HTTP. */
async function fetchOne(rt, r, at) {
  const method = (r.method ?? 'get').toUpperCase();
  const headers = { ...(r.headers ?? {}) };
  if (r.contentType) headers['content-type'] = r.contentType;
  const body = encodePayload(r.payload, headers);
  if (body !== undefined && bytes(body) > URLFETCH_BYTES) {
    throw new Error(`UrlFetch failed because too much upload bandwidth was used: ${bytes(body)} bytes to ${r.url}`);
  }
  // `.invalid` never resolves (RFC 2606): an endpoint that does not answer, for tests. Google does
  // not document the exact text UrlFetchApp throws for a name that does not resolve; the runtime
  // throws its "Address unavailable" wording for every request with no answer, and rowbatch
  // reads no meaning into the text (the executor turns any throw into status 0).
  if (new URL(r.url).hostname.endsWith('.invalid')) return { networkError: true };
  // The script's own web app (a worker): an execution of this runtime, as Apps Script runs one.
  if (rt.webAppUrl && r.url.split('?')[0] === rt.webAppUrl) return rt.callWebApp(r.url, method, body ?? '', headers['content-type'], at);
  if (rt.provider) {
    const res = await rt.provider({ method, url: r.url, headers, body }, at);
    if (res.networkError) return { networkError: true };
    if (bytes(res.body ?? '') > URLFETCH_BYTES) throw new Error(`UrlFetch failed: the response from ${r.url} is over 50 MB`);
    return { status: res.status, headers: res.headers ?? {}, body: res.body ?? '', latencyMs: res.latencyMs ?? 0 };
  }
  try {
    const t0 = Date.now();
    const res = await fetch(r.url, { method, headers, body, signal: AbortSignal.timeout(rt.limits.urlFetchTimeoutMs) });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text(), latencyMs: Date.now() - t0 };
  } catch {
    return { networkError: true };
  }
}
