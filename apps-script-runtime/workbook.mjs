// A spreadsheet on disk with Google Sheets' cell semantics: one CSV per sheet plus
// workbook.json (sheet order, ids, hidden flags, which cells hold formulas). Values are typed
// as Sheets types them: numbers, text, booleans, dates; writing text that starts with `=` makes
// a formula, a leading apostrophe keeps anything text.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/**
 * Sheets' limits: 10 million cells per spreadsheet, counted over every sheet's grid (empty
 * cells too: deleting unused rows frees room), and 50,000 characters per cell (Google's
 * "Files you can store in Google Drive" page). `insertSheet()` makes a grid of 1,000 rows by
 * 26 columns; nothing grows it but insertRows…/insertColumns… and appendRow.
 */
export const MAX_CELLS = 10_000_000;
export const MAX_CELL_CHARS = 50_000;
export const NEW_SHEET_ROWS = 1000;
export const NEW_SHEET_COLUMNS = 26;
export const OUTSIDE = 'The coordinates of the range are outside the dimensions of the sheet.';
export const TOO_MANY_CELLS = `This action would increase the number of cells in the workbook above the limit of ${MAX_CELLS} cells.`;

/** A date cell crosses into the script as {$date: ms} and becomes a Date there. */
const isDate = (v) => v !== null && typeof v === 'object' && typeof v.$date === 'number';

/**
 * What Sheets stores when a script writes `value` with setValue(s): user-entered semantics, as
 * the Sheets API's USER_ENTERED documents it ("parsed as if the user typed them into the UI …
 * strings may be converted to numbers, dates, etc."), in the en_US locale of a new spreadsheet:
 * numbers (with thousands separators), percentages, dollar amounts, booleans, dates (ISO and
 * M/D/YYYY, with or without a time, month names), times, and formulas. A leading apostrophe
 * keeps anything text. Returns { value, formula }.
 */
export function enter(value) {
  if (value === null || value === undefined) return { value: '' };
  if (typeof value === 'number') return { value: Number.isFinite(value) ? value : '#NUM!' };
  if (typeof value === 'boolean' || isDate(value)) return { value };
  const text = String(value);
  if (text.length > MAX_CELL_CHARS) {
    throw new Error(`Your input contains more than the maximum of ${MAX_CELL_CHARS} characters in a single cell.`);
  }
  if (text.startsWith("'")) return { value: text.slice(1) };
  if (text.startsWith('=') && text.length > 1) return { value: evaluate(text), formula: text };
  const typed = parseTyped(text.trim());
  return { value: typed === undefined ? text : typed };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** A date cell, if (y, m, d) is a real day: Sheets leaves "2/30/2026" as text. */
function day(y, m, d, hh = 0, mm = 0, ss = 0) {
  const ms = Date.UTC(y, m - 1, d, hh, mm, ss);
  const t = new Date(ms);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d || hh > 23 || mm > 59 || ss > 59) return undefined;
  return { $date: ms };
}

/** What Sheets makes of typed text other than a formula, or undefined when it stays text. */
function parseTyped(t) {
  if (t === '') return undefined;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number.isFinite(Number(t)) ? Number(t) : undefined;
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) return Number(t.replace(/,/g, ''));
  let m = /^([-+]?(\d+\.?\d*|\.\d+))\s*%$/.exec(t);
  if (m) return Number(m[1]) / 100;
  m = /^(-)?\$\s?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/.exec(t) ?? /^\((\$)?\s?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\)$/.exec(t);
  if (m) return (m[0].startsWith('-') || m[0].startsWith('(') ? -1 : 1) * Number((m[2] + (m[4] ?? '')).replace(/,/g, ''));
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
  const time = (h, mi, se) => [Number(h ?? 0), Number(mi ?? 0), Number(se ?? 0)];
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (m) return day(Number(m[1]), Number(m[2]), Number(m[3]), ...time(m[4], m[5], m[6]));
  m = /^(\d{1,2})\/(\d{1,2})(?:\/(\d{2}|\d{4}))?(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (m) {
    const y = m[3] === undefined ? new Date().getUTCFullYear() : m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
    return day(y, Number(m[1]), Number(m[2]), ...time(m[4], m[5], m[6]));
  }
  m = /^([a-z]{3})[a-z]*\.? (\d{1,2}),? (\d{4})$/i.exec(t) ?? /^(\d{1,2}) ([a-z]{3})[a-z]*\.? (\d{4})$/i.exec(t);
  if (m) {
    const [mon, d] = /^\d/.test(m[1]) ? [m[2], m[1]] : [m[1], m[2]];
    const i = MONTHS.indexOf(mon.toLowerCase());
    if (i >= 0) return day(Number(m[3]), i + 1, Number(d));
  }
  m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?( ?[ap]m)?$/i.exec(t);
  if (m) {
    let h = Number(m[1]);
    if (m[4]) h = (h % 12) + (/p/i.test(m[4]) ? 12 : 0);
    // A time is a date on Sheets' epoch, 30 December 1899.
    return day(1899, 12, 30, h, Number(m[2]), Number(m[3] ?? 0));
  }
  return undefined;
}

/** Arithmetic formulas get their value; anything else is what Sheets shows for an unknown name. */
function evaluate(formula) {
  const expr = formula.slice(1);
  if (/^[\d\s+\-*/().]+$/.test(expr)) {
    try {
      const v = Function(`"use strict"; return (${expr});`)();
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    } catch { /* falls through */ }
    return '#ERROR!';
  }
  return '#NAME?';
}

export class Sheet {
  constructor(name, id) {
    this.name = name;
    this.id = id;
    this.hidden = false;
    this.rows = []; // arrays of values ('' for empty)
    this.formulas = new Map(); // "r,c" (0-based) -> formula text
    this.notes = new Map(); // "r,c" (0-based) -> note text (a cell's note moves with it)
    this.gridRows = NEW_SHEET_ROWS;
    this.gridColumns = NEW_SHEET_COLUMNS;
  }

  /**
   * The grid. A script can only change it through the services, which check bounds first;
   * a test that edits `rows` directly acts as a person typing past the edge (Sheets adds
   * rows for a paste), so the grid always covers the data.
   */
  get maxRows() {
    return Math.max(this.gridRows, this.rows.length);
  }

  get maxColumns() {
    let wide = this.gridColumns;
    for (const row of this.rows) if (row.length > wide) wide = row.length;
    return wide;
  }

  /** Throws Sheets' message unless rows r..r+n-1 and columns c..c+m-1 (1-based) are in the grid. */
  within(r, c, n, m) {
    if (r + n - 1 > this.maxRows || c + m - 1 > this.maxColumns) throw new Error(OUTSIDE);
  }

  /** insertRowsAfter/insertRowsBefore: `n` empty rows before 0-based row `at`. */
  insertRows(at, n) {
    const grid = this.maxRows;
    if (at < this.rows.length) this.rows.splice(at, 0, ...Array.from({ length: n }, () => []));
    this.shiftFormulas((r, c) => (r >= at ? [r + n, c] : [r, c]));
    this.gridRows = grid + n;
  }

  insertColumns(at, n) {
    const grid = this.maxColumns;
    for (const row of this.rows) if (at < row.length) row.splice(at, 0, ...new Array(n).fill(''));
    this.shiftFormulas((r, c) => (c >= at ? [r, c + n] : [r, c]));
    this.gridColumns = grid + n;
  }

  deleteRows(at, n) {
    const grid = this.maxRows;
    if (n >= grid) throw new Error('Sorry, it is not possible to delete all non-frozen rows.');
    this.rows.splice(at, n);
    this.shiftFormulas((r, c) => (r >= at + n ? [r - n, c] : r >= at ? null : [r, c]));
    this.gridRows = grid - n;
  }

  shiftFormulas(move) {
    const shift = (map) => {
      const next = new Map();
      for (const [k, f] of map) {
        const to = move(...k.split(',').map(Number));
        if (to) next.set(to.join(','), f);
      }
      return next;
    };
    this.formulas = shift(this.formulas);
    this.notes = shift(this.notes);
  }

  get lastRow() {
    for (let r = this.rows.length - 1; r >= 0; r -= 1) {
      if (this.rows[r].some((v) => v !== '')) return r + 1;
    }
    return 0;
  }

  get lastColumn() {
    let last = 0;
    for (const row of this.rows) {
      for (let c = row.length - 1; c >= last; c -= 1) if (row[c] !== '') { last = c + 1; break; }
    }
    return last;
  }

  get(r, c) {
    return this.rows[r]?.[c] ?? '';
  }

  set(r, c, entered) {
    while (this.rows.length <= r) this.rows.push([]);
    const row = this.rows[r];
    while (row.length <= c) row.push('');
    row[c] = entered.value;
    if (entered.formula) this.formulas.set(`${r},${c}`, entered.formula);
    else this.formulas.delete(`${r},${c}`);
  }

  formula(r, c) {
    return this.formulas.get(`${r},${c}`) ?? '';
  }

  note(r, c) {
    return this.notes.get(`${r},${c}`) ?? '';
  }

  setNote(r, c, text) {
    if (text === '') this.notes.delete(`${r},${c}`);
    else this.notes.set(`${r},${c}`, text);
  }

  /** The grid's cells, empty or not: what the 10-million-cell limit counts. */
  cellCount() {
    return this.maxRows * this.maxColumns;
  }
}

export class Workbook {
  constructor(name = 'Workbook') {
    this.name = name;
    this.sheets = [];
    this.nextId = 1;
  }

  sheet(name) {
    return this.sheets.find((s) => s.name === name) ?? null;
  }

  insert(name, index = this.sheets.length) {
    if (this.sheet(name)) {
      throw new Error(`A sheet with the name "${name}" already exists. Please enter another name.`);
    }
    if (this.cellCount() + NEW_SHEET_ROWS * NEW_SHEET_COLUMNS > MAX_CELLS) throw new Error(TOO_MANY_CELLS);
    const s = new Sheet(name, this.nextId);
    this.nextId += 1;
    this.sheets.splice(Math.min(index, this.sheets.length), 0, s);
    return s;
  }

  cellCount() {
    return this.sheets.reduce((n, s) => n + s.cellCount(), 0);
  }

  /** Reads a workbook folder; a folder of plain CSVs (no workbook.json) imports like Sheets. */
  static load(dir) {
    const meta = fs.existsSync(path.join(dir, 'workbook.json'))
      ? JSON.parse(fs.readFileSync(path.join(dir, 'workbook.json'), 'utf8'))
      : { name: path.basename(dir), sheets: fs.readdirSync(dir).filter((f) => f.endsWith('.csv')).sort().map((f) => ({ name: f.slice(0, -4) })) };
    const wb = new Workbook(meta.name);
    for (const m of meta.sheets) {
      const s = wb.insert(m.name);
      s.hidden = Boolean(m.hidden);
      if (m.maxRows) s.gridRows = m.maxRows;
      if (m.maxColumns) s.gridColumns = m.maxColumns;
      const file = path.join(dir, `${m.file ?? m.name}.csv`);
      const rows = fs.existsSync(file) ? parse(fs.readFileSync(file, 'utf8'), { relax_column_count: true }) : [];
      const dates = new Set(m.dates ?? []);
      for (const [k, v] of Object.entries(m.notes ?? {})) s.notes.set(k, v);
      rows.forEach((row, r) => row.forEach((text, c) => {
        if (text === '') return;
        if (dates.has(`${r},${c}`)) s.set(r, c, { value: { $date: Date.parse(text) } });
        else if (m.text?.includes(`${r},${c}`)) s.set(r, c, { value: text });
        else s.set(r, c, enter(text));
      }));
    }
    return wb;
  }

  /** Writes the folder: CSV per sheet (formulas as their text) and workbook.json. */
  save(dir) {
    fs.mkdirSync(dir, { recursive: true });
    const meta = { name: this.name, sheets: [] };
    for (const s of this.sheets) {
      const file = s.name.replace(/[^\w.-]+/g, '_');
      const dates = [];
      const text = [];
      const lines = s.rows.map((row, r) => row.map((v, c) => {
        const f = s.formula(r, c);
        if (f) return csvField(f);
        if (isDate(v)) { dates.push(`${r},${c}`); return csvField(new Date(v.$date).toISOString()); }
        // Text that would read back as a number, a boolean or a formula is marked as text.
        if (typeof v === 'string' && v !== '' && enter(v).value !== v) text.push(`${r},${c}`);
        return csvField(typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : String(v));
      }).join(','));
      fs.writeFileSync(path.join(dir, `${file}.csv`), lines.join('\n') + (lines.length ? '\n' : ''));
      const notes = s.notes.size ? { notes: Object.fromEntries(s.notes) } : {};
      meta.sheets.push({ name: s.name, file, hidden: s.hidden, maxRows: s.maxRows, maxColumns: s.maxColumns, dates, text, ...notes });
    }
    fs.writeFileSync(path.join(dir, 'workbook.json'), JSON.stringify(meta, null, 2) + '\n');
  }
}

function csvField(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
