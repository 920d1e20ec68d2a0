// The browser build behind the web demo page, used the way a person would: keyboard, paste, look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openHost } from './hosts.mjs';

const skip = process.env.ROWBATCH_HOST !== 'browser' && 'runs with ROWBATCH_HOST=browser';
let host;

before(async () => {
  if (!skip) host = await openHost('browser');
});
after(async () => {
  await host?.close();
});

test('the page loads the module and reports it', { skip }, async () => {
  const status = await host.page.textContent('#status');
  assert.match(status, /rowbatch core \d+\.\d+\.\d+ loaded in \d+ ms \(signatures v1\)/);
  assert.deepEqual(host.pageErrors, []);
});
