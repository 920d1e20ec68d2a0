#!/usr/bin/env node
// `npm run deploy`: build, then `clasp push -f` the Apps Script project (appsscript/build) to the
// script in appsscript/.clasp.json. Needs `npx @google/clasp login` once, and the internet.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clasp = path.join(root, 'appsscript', '.clasp.json');
if (!fs.existsSync(clasp)) {
  console.error('deploy: copy appsscript/.clasp.json.example to appsscript/.clasp.json and put your Script ID in it (see the README)');
  process.exit(2);
}
const run = (cmd, args, cwd = root) => {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('node', ['tools/build.mjs']);
run('npx', ['--yes', '@google/clasp@3', 'push', '-f'], path.join(root, 'appsscript'));
console.log('deploy: pushed; in the editor run rowbatchSelfTest once, then reload the spreadsheet for the menu');
