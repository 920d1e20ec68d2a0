#!/usr/bin/env node
// rowbatch: the orchestrator of the seed notes, done right. It drives a job through its web app
// (the deployed `/exec` URL, or the local runtime's: `npm run serve-webapp`): status, estimate,
// runs of the whole sheet or of a row range with several workers at once, dry runs, retries, the
// report and the provider batches. The secret comes from ROWBATCH_SECRET or a file, never from an
// argument (arguments land in shell history). Run it again and it resumes: the sheets are the
// ledger. Exit codes: 0 done, 1 an error (bad input, the web app refused), 2 finished with
// failed rows, 3 stopped or paused before the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';

export const EXIT = { done: 0, error: 1, failed: 2, stopped: 3 };

class CliError extends Error {
  constructor(message, code = null, data = null) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** The web app client: one POST per call, the 302 followed with a GET, JSON back. */
export function client({ url, secret, fetchImpl = fetch }) {
  return async function call(action, extra = {}) {
    let res;
    try {
      res = await fetchImpl(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ secret, action, ...extra }), redirect: 'follow' });
    } catch (e) {
      throw new CliError(`no answer from ${url} (${e.cause?.code ?? e.message}): check --web-app`);
    }
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      const shown = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
      throw new CliError(`the web app answered ${res.status} with a page, not JSON: ${shown}`);
    }
    if (!body.ok) throw new CliError(`${action}: ${body.error?.message ?? 'refused'} (${body.error?.code ?? 'error'})`, body.error?.code, body.error?.data);
    return body;
  };
}

function rowsOption(v) {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 2 || Number(m[2]) < Number(m[1])) {
    throw new InvalidArgumentError('expected FIRST:LAST sheet rows, first at least 2 and not past last (3:500)');
  }
  return [Number(m[1]), Number(m[2])];
}

function idsOption(v) {
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('expected keys, comma separated (SIM-001,SIM-007)');
  return ids;
}

function count(v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of rows, 1 or more');
  return n;
}

function positive(v) {
  if (v === 'auto') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 30) throw new InvalidArgumentError('expected a whole number from 1 to 30');
  return n;
}

/** The secret: ROWBATCH_SECRET, else the file named, else ~/.config/rowbatch/secret. */
export function readSecret(file, env = process.env) {
  if (env.ROWBATCH_SECRET) return env.ROWBATCH_SECRET.trim();
  const where = file ?? path.join(os.homedir(), '.config', 'rowbatch', 'secret');
  try {
    return fs.readFileSync(where, 'utf8').trim();
  } catch {
    throw new CliError(`no secret: set ROWBATCH_SECRET or put it in ${where} (never on the command line)`);
  }
}

function summary(s) {
  const c = s.counts ?? {};
  return `${c.done ?? 0} done, ${c.failed ?? 0} failed, ${c.due ?? 0} due, ${c.inFlight ?? 0} in flight of ${c.rows ?? 0} rows (${c.duplicates ?? 0} duplicates, ${c.excluded ?? 0} excluded)`;
}

/** An orchestrator's claim id: this machine and process, so that a restart can tell it died. */
function claimId() {
  return `cli-${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * Claims the job. A claim left by a CLI of this machine whose process is gone (killed, or the
 * machine restarted) is taken over at once rather than waited out; any other is refused.
 */
export async function claim(call, id, err) {
  try {
    await call('claim', { id, ttlMs: 10 * 60_000 });
  } catch (e) {
    const holder = e.code === 'busy' ? String(e.data?.holder ?? '') : '';
    const prefix = `cli-${os.hostname()}-`;
    const pid = holder.startsWith(prefix) ? Number(holder.slice(prefix.length).split('-')[0]) : NaN;
    if (!Number.isInteger(pid) || alive(pid)) throw e;
    err.write(`rowbatch: taking over from a rowbatch CLI that is no longer running (process ${pid})\n`);
    await call('claim', { id, ttlMs: 10 * 60_000, takeOver: holder });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Runs slices until the job is finished or stopped: `workers` process-chunk calls at once, each
 * an execution of its own that leases its own rows; a progress bar with ETA and spend.
 */
async function drive(call, { workers, json, verbose, out, id }) {
  const bar = json || !out.isTTY ? null : new cliProgress.SingleBar({
    format: 'rowbatch {bar} {value}/{total} rows | ETA {eta_formatted} | ${spend}',
    stream: out, hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  let status = (await call('status')).status;
  const total = () => Math.max(1, (status.counts.rows ?? 0) - (status.counts.duplicates ?? 0) - (status.counts.excluded ?? 0));
  const finished = () => (status.counts.done ?? 0) + (status.counts.failed ?? 0);
  bar?.start(total(), finished(), { spend: '0.0000' });
  let chunks = 0;
  let last = null;
  for (;;) {
    await call('claim', { id, ttlMs: 10 * 60_000 });
    const results = await Promise.all(Array.from({ length: workers }, () => call('process-chunk').then((r) => r.result, (e) => ({ error: e.message }))));
    chunks += results.length;
    const errors = results.filter((r) => r.error);
    if (errors.length === results.length) throw new CliError(errors[0].error);
    last = results.find((r) => !r.error) ?? last;
    if (verbose && !json) for (const r of results) out.write(`${JSON.stringify(r)}\n`);
    status = (await call('status')).status;
    bar?.setTotal(total());
    bar?.update(finished(), { spend: (last?.summary?.costUsd ?? 0).toFixed(4) });
    if (results.some((r) => r.finished) || status.finished) break;
    const stopped = results.find((r) => r.stop || r.paused);
    if (stopped) {
      bar?.stop();
      return { status, chunks, stopped: stopped.stop ?? stopped.paused?.message ?? 'paused' };
    }
    if ((status.counts.due ?? 0) === 0 && (status.counts.inFlight ?? 0) === 0 && (status.counts.waiting ?? 0) === 0) break;
    if ((status.counts.due ?? 0) === 0) await new Promise((r) => setTimeout(r, 1000));
  }
  bar?.stop();
  return { status, chunks };
}

export function program({ out = process.stdout, err = process.stderr, env = process.env, fetchImpl = fetch } = {}) {
  const prog = new Command();
  prog.name('rowbatch').description('Run rowbatch jobs through their web app (deployed, or the local runtime\'s).')
    .option('--web-app <url>', 'the web app\'s /exec URL (or ROWBATCH_WEB_APP)', env.ROWBATCH_WEB_APP)
    .option('--secret-file <path>', 'a file holding the secret (or ROWBATCH_SECRET; default ~/.config/rowbatch/secret)')
    .option('--json', 'print one JSON object: for scripts')
    .option('--verbose', 'print each slice\'s result')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const state = { code: EXIT.done };
  const connect = () => {
    const o = prog.opts();
    if (!o.webApp) throw new CliError('no web app: give --web-app URL or set ROWBATCH_WEB_APP');
    return client({ url: o.webApp, secret: readSecret(o.secretFile, env), fetchImpl });
  };
  const print = (value, text) => out.write(prog.opts().json ? `${JSON.stringify(value)}\n` : `${text}\n`);

  prog.command('status').description('where the job stands, from the sheets').action(async () => {
    const s = (await connect()('status')).status;
    print(s, summary(s));
  });
  prog.command('estimate').description('rows, cost (realtime, cached, batch) and time, before anything is sent').action(async () => {
    const e = (await connect()('plan')).estimate;
    const cost = e.cost ? `$${e.cost.realtime.toFixed(4)} realtime, $${e.cost.batch.toFixed(4)} with the Batch API` : 'no price for this model';
    print(e, `${e.rows} rows to send: ${cost}; about ${e.eta.minutes} minutes in one execution; ${e.workers.count} worker(s) worth running (bound by ${e.workers.limitedBy})`);
  });
  prog.command('run').description('run the job (or resume it) to the end')
    .option('--workers <n>', 'executions at once, each leasing its own rows (1–30, or auto: what the core finds the provider\'s limits and the platform worth)', positive, 'auto')
    .option('--rows <first:last>', 'only these sheet rows', rowsOption)
    .option('--ids <keys>', 'only the rows with these keys, comma separated (SIM-001,SIM-007)', idsOption)
    .option('--limit <n>', 'at most this many rows, the first that are due (one worker)', count)
    .option('--dry-run', 'say what would be sent and what it would cost; send nothing')
    .action(async (o) => {
      if (o.limit !== undefined && o.workers !== 'auto' && o.workers > 1) {
        throw new CliError('--limit counts the rows one run starts: use it with one worker (drop --workers)');
      }
      const call = connect();
      if (o.workers === 'auto') o.workers = o.limit !== undefined ? 1 : (await call('plan')).estimate.workers.count;
      const chosen = { ...(o.rows && { rows: o.rows }), ...(o.ids && { keys: o.ids }), ...(o.limit !== undefined && { limit: o.limit }) };
      if (o.dryRun) {
        const d = (await call('dry-run', chosen)).result.dryRun;
        print(d, d.lines.join('\n'));
        return;
      }
      const id = claimId();
      await claim(call, id, err);
      try {
        // A new run plans from the sheets: what is done is not sent again, so running again
        // resumes, and a run still going elsewhere shares the ledger rather than doubling rows.
        await call('run', chosen);
        const r = await drive(call, { workers: o.workers, json: prog.opts().json, verbose: prog.opts().verbose, out, id });
        state.code = r.stopped ? EXIT.stopped : (r.status.counts.failed ?? 0) > 0 ? EXIT.failed : EXIT.done;
        print({ ...r.status, chunks: r.chunks, stopped: r.stopped ?? null }, `${r.stopped ? `stopped: ${r.stopped}\n` : ''}${summary(r.status)}`);
      } finally {
        await call('claim', { id, release: true }).catch(() => {});
      }
    });
  prog.command('retry-failed').description('re-open the failed rows and run them again')
    .option('--workers <n>', 'executions at once (or auto)', positive, 'auto')
    .action(async (o) => {
      const call = connect();
      if (o.workers === 'auto') o.workers = (await call('plan')).estimate.workers.count;
      const id = claimId();
      await claim(call, id, err);
      try {
        await call('retry-failed');
        const r = await drive(call, { workers: o.workers, json: prog.opts().json, verbose: prog.opts().verbose, out, id });
        state.code = r.stopped ? EXIT.stopped : (r.status.counts.failed ?? 0) > 0 ? EXIT.failed : EXIT.done;
        print(r.status, summary(r.status));
      } finally {
        await call('claim', { id, release: true }).catch(() => {});
      }
    });
  prog.command('report').description('the run report (Markdown; --json for the summary)').action(async () => {
    const r = (await connect()('report')).report;
    print(r.summary, r.markdown);
  });
  const batches = prog.command('batches').description('provider Batch API jobs');
  batches.command('list').description('the batches not yet ingested').action(async () => {
    const list = (await connect()('batches')).batches;
    print(list, list.length ? list.map((b) => `${b.id} ${b.state} ${b.lines} lines (part ${b.part})`).join('\n') : 'no batch pending');
  });
  batches.command('submit').description('submit the due rows as provider batches').action(async () => {
    const r = (await connect()('submit-batch')).result;
    print(r, `${r.submitted} rows submitted in ${r.batches.length} batch(es)${r.note ? `\n${r.note}` : ''}`);
  });
  batches.command('status').description('poll the pending batches now; ingest those that ended').action(async () => {
    const r = (await connect()('poll-batches')).result;
    print(r, `${r.ingested} ingested; pending: ${r.pending.map((b) => `${b.id} ${b.state}`).join(', ') || 'none'}`);
  });
  batches.command('download').description("a batch's result files as the provider keeps them (written to --out)")
    .argument('<id>', "the provider's batch id (rowbatch batches list, or the Batches sheet)")
    .option('--out <dir>', 'the folder to write the files to', '.')
    .action(async (id, o) => {
      const r = (await connect()('batch-file', { id })).result;
      if (!r.batch.isFinal) {
        state.code = EXIT.stopped;
        return print(r, `${id} has not ended (${r.batch.providerStatus}): no file yet`);
      }
      fs.mkdirSync(o.out, { recursive: true });
      const files = r.files.map((f, i) => ({ ...f, path: f.text === null ? null : path.join(o.out, `${id.replace(/[^\w.-]/g, '_')}-${i + 1}.jsonl`) }));
      const lines = files.map((f) => {
        if (f.path === null) {
          state.code = EXIT.error;
          return `${f.file}: the provider answered ${f.status}: ${f.error}`;
        }
        fs.writeFileSync(f.path, f.text);
        return `${f.path}: ${f.text.split('\n').filter(Boolean).length} lines (${f.file})`;
      });
      print({ batch: r.batch, files: files.map(({ file, status, path: at }) => ({ file, status, path: at })) },
        `${id} ${r.batch.providerStatus}: ${r.batch.succeeded} answered, ${r.batch.failed} failed\n${lines.join('\n') || 'no result file'}`);
    });
  batches.command('cancel').description('cancel the pending batches').action(async () => {
    const r = (await connect()('cancel-batches')).result;
    print(r, r.map((b) => `${b.id} ${b.state}`).join('\n') || 'nothing to cancel');
  });
  return { prog, state };
}

/** Runs the CLI; resolves to its exit code. */
export async function main(argv, io = {}) {
  const { prog, state } = program(io);
  const err = io.err ?? process.stderr;
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (e) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.done;
    if (e.code?.startsWith?.('commander.')) return EXIT.error; // commander has printed why
    err.write(`rowbatch: ${e instanceof CliError ? e.message : e.stack ?? e}\n`);
    return EXIT.error;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/rowbatch')) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
