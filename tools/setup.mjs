#!/usr/bin/env node
// Installs what a fresh machine lacks, using Node built-ins only (it runs before `npm ci`).
// Idempotent and quick when everything is present. `--browser` also makes sure Chromium is there.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** cargo-fuzz runs the fuzz targets (fuzz/); libFuzzer builds on this stable toolchain with
 * RUSTC_BOOTSTRAP=1 and no sanitizer. */
const CARGO_FUZZ_VERSION = '0.13.2';
const WASM_PACK_VERSION = '0.15.1';

function say(msg) {
  console.log(`setup: ${msg}`);
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(cmd, args, env) {
  say(`${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
}

function lockedVersion(crate) {
  const lock = fs.readFileSync(path.join(root, 'Cargo.lock'), 'utf8');
  const m = lock.match(new RegExp(`name = "${crate}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`setup: ${crate} is not in Cargo.lock`);
  return m[1];
}

function ensureRust() {
  if (!(output('rustup', ['target', 'list', '--installed']) || '').split('\n').includes('wasm32-unknown-unknown')) {
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
  }
  // The module's build recompiles std for size (tools/build.mjs): it needs std's sources.
  if (!(output('rustup', ['component', 'list', '--installed']) || '').split('\n').some((c) => c.startsWith('rust-src'))) {
    run('rustup', ['component', 'add', 'rust-src']);
  }
  // The CLI must be exactly the crate's version. `--locked` fails here: a version pinned in the
  // CLI's own lock file is missing from the registry (PLATFORM.md).
  const want = lockedVersion('wasm-bindgen');
  if (output('wasm-bindgen', ['--version']) !== `wasm-bindgen ${want}`) {
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', want, '--force']);
  }
  if (!(output('wasm-pack', ['--version']) || '').includes(WASM_PACK_VERSION)) {
    run('cargo', ['install', 'wasm-pack', '--version', WASM_PACK_VERSION, '--force']);
  }
  if (!(output('cargo', ['fuzz', '--version']) || '').includes(CARGO_FUZZ_VERSION)) {
    run('cargo', ['install', 'cargo-fuzz', '--version', CARGO_FUZZ_VERSION, '--force']);
  }
}

function ensureNpm() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (!fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < fs.statSync(lock).mtimeMs) {
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
}

export function chromiumPath() {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

function ensureChromium() {
  if (chromiumPath()) return;
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('setup: Chromium is missing; install the Debian package: sudo apt-get install chromium');
  }
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { DEBIAN_FRONTEND: 'noninteractive' });
}

// The official JSON-Schema-Test-Suite, for core/tests/schema_suite.rs. It is not committed: the
// python-jsonschema source release on PyPI carries a copy under json/tests/.
const SUITE_RELEASE = 'jsonschema==4.26.0';
export const SUITE_DIR = path.join(root, 'target', 'json-schema-test-suite');

function ensureSchemaSuite() {
  if (fs.existsSync(path.join(SUITE_DIR, 'draft2020-12', 'type.json'))) return;
  const dl = path.join(SUITE_DIR, 'download');
  fs.mkdirSync(dl, { recursive: true });
  run('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--no-binary', ':all:', '-d', dl, SUITE_RELEASE]);
  const archive = fs.readdirSync(dl).find((f) => f.endsWith('.tar.gz'));
  const top = archive.replace(/\.tar\.gz$/, '');
  run('tar', ['-xzf', path.join(dl, archive), '-C', SUITE_DIR, '--strip-components=3', `${top}/json/tests/draft2020-12`]);
}

function main() {
  ensureNpm();
  ensureRust();
  ensureSchemaSuite();
  if (process.argv.includes('--browser')) ensureChromium();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
