// Compiled with `tsc --noEmit` by the test run: the typings of every export must describe real
// use, and must reject the mistakes below (a typing of `any` would accept them).
import type * as node from '../../wasm/pkg/nodejs/rowbatch.js';
import type * as web from '../../web-demo/pkg/rowbatch.js';

declare const api: typeof node;
declare const browser: typeof web;

const report: node.SignRowsReport = api.signRows({
  header: ['Case_ID', 'Title'],
  rows: [['SIM-1', 'Chest pain'], ['SIM-2', null], [3, true]],
  columns: ['Title'],
  nullTokens: ['n/a'],
  firstRow: 2,
});
const firstSheetRow: number = report.duplicateGroups[0].sheetRows[0];
const blank: number[] = report.blankRows;
const signed: node.SignedRow = api.signRow({ values: ['x', 1, false, null] });
const canonical: string = signed.canonical;
const seed: string = api.newSeed();
const versions: node.VersionInfo = api.version();
const sigVersion: number = versions.signatureVersion;

function describe(e: unknown): string {
  const err = e as node.RowbatchError;
  const where = (err.data ?? []).map((p: node.Problem) => `${p.path}: ${p.expected}`);
  return `${err.code}: ${err.message} ${where.join('; ')}`;
}

async function inBrowser(): Promise<web.SignRowsReport> {
  await browser.default();
  return browser.signRows({ header: ['A'], rows: [] });
}

// @ts-expect-error rows must be a list of rows
api.signRows({ header: ['A'], rows: 'x' });
// @ts-expect-error a cell cannot be an object
api.signRow({ values: [{ a: 1 }] });
// @ts-expect-error header is required
api.signRows({ rows: [] });
// @ts-expect-error the report has no such field
report.duplicates;

export { firstSheetRow, blank, canonical, seed, sigVersion, describe, inBrowser };

declare const spec: node.JobSpec;
const rows: node.RowsReport = api.validateRows({ spec, header: ['Case_ID'], rows: [['SIM-001']] });
const firstCell: string | undefined = rows.rows[0].findings[0].cell;
const answer: node.AnswerReport = api.validateAnswer({ spec, answer: { initialVitals: null } });
const fixed: node.FixedAnswer = api.fixAnswer({ spec, answer: '{"a":1}' });
const fixedRows: node.FixedRows = api.fixRows({ spec, header: [], rows: [] });
const checked: node.SpecReport = api.checkSpec({ spec });
const q: node.Quality = api.score({ expected: 1, filled: 1, errors: 0, warnings: 0 });
// @ts-expect-error the tally needs all four counts
api.score({ expected: 1 });
export { firstCell, answer, fixed, fixedRows, checked, q };

const columns: node.LedgerColumns = api.ledgerColumns();
const keyed: node.KeyedRows = api.keyRows({ spec, header: columns.output, rows: [['SIM-001']], firstRow: 2 });
const plan: node.Plan = api.planWave({
  spec, inputs: keyed, outputs: { rows: [] }, progress: { firstRow: 2, rows: [] },
  execution: 'exec-1', now: Date.now(), deadline: Date.now() + 270_000,
  capacity: { usd: 1.5 }, reserve: { tokens: 2000, usd: 0.001 },
});
const replaceRow: number | null = plan.send[0].replaceRow;
const stop: 'drained' | 'waveSize' | 'requests' | 'tokens' | 'budget' | 'time' = plan.stop;
const rec: node.Reconciled = api.reconcile({
  spec, execution: 'exec-1', now: Date.now(),
  results: [{ key: 'SIM-001', signature: plan.send[0].signature, status: 'retry', notBefore: Date.now() + 2000 }],
});
const batch: node.BatchRecord = api.batchRecord({
  spec, id: api.newSeed(), startedAt: 0, now: 1, costUsd: 0, counts: plan.counts, finished: plan.finished,
});
// @ts-expect-error an outcome is done, retry or failed
api.reconcile({ spec, execution: 'x', now: 0, results: [{ key: 'a', signature: 's', status: 'ok' }] });
// @ts-expect-error a plan needs the clock
api.planWave({ spec, inputs: keyed, execution: 'x' });
export { replaceRow, stop, rec, batch };

const built: node.Built = api.buildRequests({ spec, header: ['Case_ID'], items: [{ key: 'SIM-001', signature: 'SIG_x', row: ['SIM-001'] }] });
const auth: 'bearer' | 'x-api-key' = built.endpoint.auth;
const ingested: node.Ingested = api.ingest({
  spec, now: Date.now(), seed: api.newSeed(),
  sent: built.requests.map((r) => ({ key: r.key, signature: r.signature, reserveUsd: r.reserveUsd })),
  responses: [{ status: 200, headers: { 'x-request-id': 'r' }, body: '{}' }],
  budget: { maxUsd: 2 },
});
const firstStatus: 'done' | 'reask' | 'retry' | 'failed' | 'released' = ingested.results[0].status;
const fatal: string | undefined = ingested.fatal?.message;
const cap: node.CapacityReport = api.capacity({ spec, now: Date.now(), limiter: ingested.limiter, budget: ingested.budget });
const est: node.Estimate = api.estimateJob({ spec, header: ['Case_ID'], rows: [['SIM-001']], observed: { rows: 10, ms: 60_000 } });
// @ts-expect-error a response status is a number
api.ingest({ spec, now: 0, seed: 's', sent: [], responses: [{ status: '200' }] });
export { auth, firstStatus, fatal, cap, est };

// The run driver: a host makes one per execution and feeds it what each command returned.
const driver: node.Driver = new api.Driver({ flow: 'continue', now: Date.now(), seed: api.newSeed(), trigger: true });
const first: node.Command[] = driver.begin();
const next: node.Command[] = driver.step({ now: Date.now(), results: first.map(() => null) });
const op: string = next[0].op;
const replayed: node.Command[][] = api.replayRun({ start: { flow: 'status', now: 0, seed: api.newSeed() }, events: [] });
// @ts-expect-error a flow is one of the driver's entry points
new api.Driver({ flow: 'sprint', now: 0, seed: 's' });
// @ts-expect-error an event carries the clock
driver.step({ results: [] });
driver.free();
export { op, replayed };
