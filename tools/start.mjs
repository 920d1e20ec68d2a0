#!/usr/bin/env node
// `npm start`: the main job on the bundled example, as far as rowbatch can run it today.
// For now that is the signature pass: every row of the example sheet is signed by the core
// (the Node build) and the duplicate groups are printed; duplicates are never sent to a model.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// Until the job spec exists, the example's key and identity columns are named here.
const EXAMPLE = {
  sheet: path.join(root, 'examples', 'clinical', 'scenarios.csv'),
  key: 'Case_ID',
  columns: ['Title', 'Age', 'Presentation'],
};

/** Reads a CSV: header row, then rows of text (the core reads numbers written as text). */
export function readSheet(file) {
  const [header, ...rows] = parse(fs.readFileSync(file, 'utf8'), { relax_column_count: true });
  return { header, rows };
}

function main() {
  const rowbatch = require(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const { header, rows } = readSheet(EXAMPLE.sheet);
  const started = performance.now();
  const report = rowbatch.signRows({ header, rows, columns: EXAMPLE.columns });
  const ms = performance.now() - started;
  const keyAt = header.indexOf(EXAMPLE.key);
  const name = path.relative(root, EXAMPLE.sheet);

  console.log(`${name}: ${rows.length} rows signed in ${ms.toFixed(1)} ms ` +
    `(identity: ${EXAMPLE.columns.join(', ')})`);
  for (const r of report.blankRows) console.log(`  sheet row ${r + 2}: blank, skipped`);
  if (report.duplicateGroups.length === 0) console.log('  no duplicate rows');
  for (const g of report.duplicateGroups) {
    const who = g.indices.map((i, k) => `row ${g.sheetRows[k]} (${rows[i][keyAt]})`);
    console.log(`  duplicates ${g.signature}: ${who.join(', ')} — only the first will be sent`);
  }
  const unique = rows.length - report.blankRows.length -
    report.duplicateGroups.reduce((n, g) => n + g.indices.length - 1, 0);
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  const outFile = path.join(root, 'out', 'signatures.json');
  fs.writeFileSync(outFile, JSON.stringify({ sheet: name, versions: rowbatch.version(), ...report }, null, 2) + '\n');
  console.log(`${unique} rows to process; signatures written to ${path.relative(root, outFile)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
