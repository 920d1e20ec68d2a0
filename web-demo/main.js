// The web preview: the same core as every other host, loaded as an ES module with async init.
// Everything a user typed is shown through textContent, never as HTML.
import init, * as rowbatch from './pkg/rowbatch.js';

const $ = (id) => document.getElementById(id);

function parseTsv(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').filter((l) => l.length > 0);
  return lines.map((l) => l.split('\t'));
}

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function showDuplicates() {
  const out = $('result');
  out.replaceChildren();
  const [header, ...rows] = parseTsv($('rows').value);
  if (!header) {
    out.append(cell('p', 'Paste a header line and at least one row.'));
    return;
  }
  const columns = $('columns').value.split(',').map((c) => c.trim()).filter(Boolean);
  try {
    const started = performance.now();
    const report = rowbatch.signRows({ header, rows, columns: columns.length ? columns : undefined });
    const ms = (performance.now() - started).toFixed(1);
    out.append(cell('p', `${rows.length} rows signed in ${ms} ms: ` +
      `${report.duplicateGroups.length} duplicate groups, ${report.blankRows.length} blank rows.`));
    if (report.duplicateGroups.length) {
      const table = document.createElement('table');
      const head = document.createElement('tr');
      head.append(cell('th', 'Sheet rows'), cell('th', 'Signature'));
      table.append(head);
      for (const g of report.duplicateGroups) {
        const tr = document.createElement('tr');
        tr.append(cell('td', g.sheetRows.join(', ')), cell('td', g.signature));
        table.append(tr);
      }
      out.append(table);
    }
  } catch (e) {
    const p = cell('p', `${e.message}`);
    p.className = 'error';
    out.append(p);
  }
}

const started = performance.now();
await init();
window.rowbatch = rowbatch;
const v = rowbatch.version();
$('status').textContent =
  `rowbatch core ${v.core} loaded in ${(performance.now() - started).toFixed(0)} ms (signatures v${v.signatureVersion}).`;
$('check').disabled = false;
$('check').addEventListener('click', showDuplicates);
document.documentElement.dataset.ready = 'true';
