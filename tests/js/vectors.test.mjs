// The golden vectors (signatures, validation) and the error contract, in whichever host
// ROWBATCH_HOST names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openHost, HOST } from './hosts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (name) => JSON.parse(fs.readFileSync(path.join(root, 'tests', 'vectors', name), 'utf8'));
const vectors = load('signature.json');
const FILES = ['signature.json', 'validation.json', 'ledger.json', 'provider.json', 'run.json'];
let host;

before(async () => {
  host = await openHost();
});
after(async () => {
  await host?.close();
});

for (const file of FILES) {
  test(`${HOST}: every vector in ${file} gives exactly the recorded output or error`, async () => {
    const cases = load(file).cases;
    const failures = [];
    for (const c of cases) {
      try {
        const out = await host.call(c.fn, c.input);
        if (c.error) failures.push(`${c.name}: expected error ${c.error.code}, got a result`);
        else {
          try {
            assert.deepStrictEqual(JSON.parse(JSON.stringify(out)), c.output);
          } catch {
            failures.push(`${c.name}: got ${JSON.stringify(out).slice(0, 300)}`);
          }
        }
      } catch (e) {
        if (!c.error) failures.push(`${c.name}: unexpected ${e.code}: ${e.message}`);
        else {
          const paths = (e.data || []).map((p) => p.path);
          if (e.code !== c.error.code || JSON.stringify(paths) !== JSON.stringify(c.error.paths)) {
            failures.push(`${c.name}: got ${e.code} ${JSON.stringify(paths)} (${e.message})`);
          }
          for (const p of paths) if (!e.message.includes(p)) failures.push(`${c.name}: message does not name ${p}`);
        }
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(cases.length >= 15, `${file}: too few vectors`);
  });
}

test(`${HOST}: a signature is SHA-256 of the canonical form the host returns`, async () => {
  for (const c of vectors.cases.filter((v) => v.fn === 'signRow' && !v.error)) {
    const out = await host.call('signRow', c.input);
    const digest = crypto.createHash('sha256').update(out.canonical, 'utf8').digest('hex').slice(0, 32);
    assert.equal(out.signature, `SIG_v1_${digest}`, c.name);
    const parsed = JSON.parse(out.canonical);
    assert.equal(parsed[0], 'rowbatch.sig.v1');
    assert.equal(parsed.length, c.input.values.length + 1, c.name);
  }
});

test(`${HOST}: a bad call throws a RowbatchError with a code and a message naming the field`, async () => {
  const bad = [
    [{ header: ['A'], rows: [['x'], 'not a row'] }, 'rows[1]'],
    [{ header: ['A'] }, 'rows'],
    [{ header: 'A', rows: [] }, 'header'],
    [{ header: ['A'], rows: [[{ when: 'today' }]] }, 'rows[0][0]'],
    [{ header: ['A'], rows: [], colums: ['A'] }, 'colums'],
    [{ header: ['Title'], rows: [], columns: ['Titel'] }, 'columns[0]'],
  ];
  for (const [input, field] of bad) {
    await assert.rejects(host.call('signRows', input), (e) => {
      assert.equal(e.name, 'RowbatchError');
      assert.equal(e.code, 'invalid_input');
      assert.ok(e.message.startsWith(`${field}: expected `), `${field} in: ${e.message}`);
      assert.equal(e.data[0].path, field);
      assert.ok(e.data[0].expected.length > 0);
      return true;
    });
  }
  await assert.rejects(host.call('signRows', null), (e) => e.code === 'invalid_input' && /\(input\)/.test(e.message));
});

test(`${HOST}: the message says what was found and what was expected`, async () => {
  await assert.rejects(host.call('signRows', { header: ['Title', 'Age'], rows: [], columns: ['Agee'] }), (e) => {
    assert.match(e.message, /columns\[0\]: expected a column of the header \(Title, Age\), found "Agee"/);
    return true;
  });
});

test(`${HOST}: version reports the core and the signature version`, async () => {
  const v = await host.call('version');
  const cargo = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  assert.equal(v.core, cargo.match(/^version = "(.+)"/m)[1]);
  assert.equal(v.signatureVersion, 1);
});

test(`${HOST}: newSeed gives fresh random bits (the random source fills memory in place)`, async () => {
  const seeds = [];
  for (let i = 0; i < 8; i += 1) seeds.push(await host.call('newSeed'));
  for (const s of seeds) {
    assert.match(s, /^[0-9a-f]{32}$/);
    assert.notEqual(s, '0'.repeat(32));
  }
  assert.equal(new Set(seeds).size, seeds.length);
});

// Random text through this host's string boundary (the sandbox's polyfilled TextEncoder and
// TextDecoder, the browser's own) must sign exactly as the Node build does.
test(`${HOST}: random Unicode rows sign as they do in the Node build`, { skip: HOST === 'node' && 'the reference itself' }, async () => {
  const reference = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  let seed = 20261122;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pieces = ['a', 'Z', ' ', '\t', '\n', '\u00a0', 'é', 'e\u0301', '\u1112\u1161', '😀', '👩‍👧', '\u05d0',
    '\u0627', '\u200f', '\u200b', '42', '-0.5', 'N/A', 'TRUE', '"', '\\', '\u0001', '\ud83d', '\uffff', '𝔘'];
  const rows = [];
  for (let r = 0; r < 300; r += 1) {
    const values = [];
    for (let c = 0; c < 1 + Math.floor(next() * 4); c += 1) {
      let s = '';
      for (let k = Math.floor(next() * 12); k > 0; k -= 1) s += pieces[Math.floor(next() * pieces.length)];
      values.push(next() < 0.1 ? Math.round(next() * 1e6) / 100 : s);
    }
    rows.push(values);
  }
  for (const values of rows) {
    const want = reference.signRow({ values });
    assert.deepStrictEqual(await host.call('signRow', { values }), { ...want }, JSON.stringify(values));
  }
});

test(`${HOST}: NaN and Infinity arrive as empty cells, as JSON.stringify has them`, { skip: HOST !== 'node' && 'JSON cannot carry NaN into this host' }, async () => {
  const report = await host.call('signRows', { header: ['A', 'B'], rows: [['x', NaN], ['x', Infinity], ['x', null]] });
  assert.deepEqual(report.duplicateGroups.map((g) => g.indices), [[0, 1, 2]]);
});
