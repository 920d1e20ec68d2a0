#!/usr/bin/env node
// `npm start`: the main job on the bundled example, as far as rowbatch can run it today: the
// spec is checked, every row is validated (findings at their cells, proposed fixes, scores) and
// signed, and the duplicate groups are printed; invalid rows and duplicates are never sent.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const EXAMPLE = {
  sheet: path.join(root, 'examples', 'clinical', 'scenarios.csv'),
  spec: path.join(root, 'examples', 'clinical', 'job.json'),
};

/**
 * Reads a CSV as Sheets imports one: numbers become numbers (but not "007", which Sheets
 * would also keep only as text if the column were formatted so), everything else is text.
 */
export function readSheet(file) {
  const [header, ...rows] = parse(fs.readFileSync(file, 'utf8'), { relax_column_count: true });
  const typed = rows.map((r) => r.map((v) => (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(v) ? Number(v) : v)));
  return { header, rows: typed };
}

function main() {
  const rowbatch = require(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const { header, rows } = readSheet(EXAMPLE.sheet);
  const spec = JSON.parse(fs.readFileSync(EXAMPLE.spec, 'utf8'));
  const job = rowbatch.checkSpec({ spec });
  const name = path.relative(root, EXAMPLE.sheet);
  console.log(`${job.name}: spec ok (key ${job.key}; identity ${job.identity.join(', ')})`);

  let started = performance.now();
  const checked = rowbatch.validateRows({ spec, header, rows });
  const s = checked.summary;
  console.log(`${name}: ${s.rows} rows validated in ${(performance.now() - started).toFixed(1)} ms: ` +
    `${s.valid} valid, ${s.withErrors} with errors, ${s.blank} blank; ${s.errors} errors, ${s.warnings} warnings, ${s.fixable} fixable`);
  for (const f of checked.header) console.log(`  header: ${f.message}`);
  for (const row of checked.rows) {
    for (const f of row.findings) {
      const fix = f.fix ? ` (fix: ${JSON.stringify(f.fix.from)} → ${JSON.stringify(f.fix.to)})` : '';
      console.log(`  ${f.cell} ${f.severity} ${f.code}: ${f.message}${fix}`);
    }
  }

  started = performance.now();
  const report = rowbatch.signRows({ header, rows, columns: job.identity });
  const ms = performance.now() - started;
  const keyAt = header.indexOf(job.key);
  console.log(`${name}: ${rows.length} rows signed in ${ms.toFixed(1)} ms`);
  for (const r of report.blankRows) console.log(`  sheet row ${r + 2}: blank, skipped`);
  if (report.duplicateGroups.length === 0) console.log('  no duplicate rows');
  for (const g of report.duplicateGroups) {
    const who = g.indices.map((i, k) => `row ${g.sheetRows[k]} (${rows[i][keyAt]})`);
    console.log(`  duplicates ${g.signature}: ${who.join(', ')} — only the first will be sent`);
  }
  const invalid = new Set(checked.rows.filter((r) => r.findings.some((f) => f.severity === 'error')).map((r) => r.index));
  const duplicates = new Set(report.duplicateGroups.flatMap((g) => g.indices.slice(1)));
  const blank = new Set(report.blankRows);
  const unique = rows.filter((_, i) => !invalid.has(i) && !duplicates.has(i) && !blank.has(i)).length;
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  const outFile = path.join(root, 'out', 'signatures.json');
  fs.writeFileSync(outFile, JSON.stringify({ sheet: name, versions: rowbatch.version(), validation: checked, ...report }, null, 2) + '\n');
  console.log(`${unique} rows to process; validation and signatures written to ${path.relative(root, outFile)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
