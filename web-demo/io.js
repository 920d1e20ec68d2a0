// Rows in (pasted TSV, CSV, XLSX) and files out (CSV, JSONL, JSON), with clear messages for
// malformed input. Parsing is papaparse's and read-excel-file's, loaded as classic scripts.

/**
 * A pasted cell as Google Sheets would hold it: numbers and TRUE/FALSE typed, everything else
 * text (so `'007` stays text and `58` is the number a sheet would give the script).
 */
export function typed(v) {
  if (typeof v !== 'string') return v;
  if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim()) && !/^-?0\d/.test(v.trim())) return Number(v);
  if (/^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  if (v.startsWith("'")) return v.slice(1);
  return v;
}

/** Tab-separated text as Google Sheets copies it (quoted cells may hold tabs and newlines). */
export function parseDelimited(text, delimiter) {
  const result = globalThis.Papa.parse(text.replace(/\r\n?/g, '\n').replace(/\n+$/, ''), { delimiter, skipEmptyLines: false });
  return result.data;
}

/** The first sheet of an XLSX file as rows of cells. */
export async function parseXlsx(file) {
  const read = await globalThis.readXlsxFile(file);
  const sheets = Array.isArray(read) && read[0] && Array.isArray(read[0].data) ? read : [{ sheet: 'Sheet1', data: read }];
  return sheets[0].data.map((r) => r.map((v) => (v instanceof Date ? v.toISOString() : v)));
}

/**
 * A block with a header: the header must be there and have the spec's columns, and every row
 * the header's width (a trailing empty cell is forgiven). Returns {header, rows} or {problem}.
 */
export function shape(table, columns) {
  const lines = table.filter((r) => r.some((c) => String(c ?? '').trim() !== ''));
  if (lines.length < 2) return { problem: 'Paste a header line and at least one row (copy the cells from Google Sheets, header included).' };
  const header = lines[0].map((h) => String(h ?? '').trim());
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length === columns.length) {
    return { problem: `The first line is not the header: expected the columns ${columns.join(', ')}, found ${header.slice(0, 6).join(', ')}${header.length > 6 ? ', …' : ''}.` };
  }
  const ragged = [];
  const rows = table.slice(table.indexOf(lines[0]) + 1).map((r, i) => {
    const cells = r.slice();
    while (cells.length > header.length && String(cells.at(-1) ?? '') === '') cells.pop();
    if (cells.length > header.length) ragged.push(`row ${i + 2} has ${cells.length} cells`);
    while (cells.length < header.length) cells.push('');
    return cells.map((c) => (c === '' || c === null || c === undefined ? null : typed(c)));
  });
  if (ragged.length) {
    return { problem: `Rows are wider than the header (${header.length} columns): ${ragged.slice(0, 5).join('; ')}${ragged.length > 5 ? `; and ${ragged.length - 5} more` : ''}. Copy whole rows, header included.` };
  }
  return { header, rows, missing };
}

/** RFC 4180; text a spreadsheet would run as a formula is quoted with an apostrophe. */
export function toCsv(header, rows) {
  const field = (v) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@]/.test(s) && typeof v === 'string') s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** Offers text as a download. */
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
