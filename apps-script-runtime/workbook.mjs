// A spreadsheet on disk with Google Sheets' cell semantics: one CSV per sheet plus
// workbook.json (sheet order, ids, hidden flags, which cells hold formulas). Values are typed
// as Sheets types them: numbers, text, booleans, dates; writing text that starts with `=` makes
// a formula, a leading apostrophe keeps anything text.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/** Sheets' limits. */
export const MAX_CELLS = 10_000_000;
export const MAX_CELL_CHARS = 50_000;

/** A date cell crosses into the script as {$date: ms} and becomes a Date there. */
const isDate = (v) => v !== null && typeof v === 'object' && typeof v.$date === 'number';

/**
 * What Sheets stores when a script writes `value` with setValue(s): user-entered semantics.
 * Returns { value, formula }.
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
  if (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)) return { value: Number(text) };
  if (/^(true|false)$/i.test(text.trim())) return { value: text.trim().toLowerCase() === 'true' };
  return { value: text };
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

  cellCount() {
    return this.rows.reduce((n, row) => n + row.length, 0);
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
      const file = path.join(dir, `${m.file ?? m.name}.csv`);
      const rows = fs.existsSync(file) ? parse(fs.readFileSync(file, 'utf8'), { relax_column_count: true }) : [];
      const dates = new Set(m.dates ?? []);
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
      meta.sheets.push({ name: s.name, file, hidden: s.hidden, dates, text });
    }
    fs.writeFileSync(path.join(dir, 'workbook.json'), JSON.stringify(meta, null, 2) + '\n');
  }
}

function csvField(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
