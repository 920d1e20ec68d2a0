// The core, off the main thread: checking 10,000 rows, keying them and estimating the job take
// a few hundred milliseconds, and the page stays responsive meanwhile.
import init, * as rowbatch from './pkg/rowbatch.js';

const ready = init();

const ops = {
  /** Everything the results need: the spec's report, findings and fixes, keys, the estimate. */
  check({ spec, header, rows }) {
    const job = rowbatch.checkSpec({ spec });
    const started = performance.now();
    const fixed = rowbatch.fixRows({ spec, header, rows });
    const validateMs = performance.now() - started;
    const keyed = rowbatch.keyRows({ spec, header, rows });
    const estimate = rowbatch.estimateJob({ spec, header, rows });
    return { job, fixed, keyed, estimate, validateMs, totalMs: performance.now() - started };
  },
  /** The request one row makes, and where its cached prefix ends. */
  prompt({ spec, header, row }) {
    const built = rowbatch.buildRequests({ spec, header, items: [{ key: 'preview', signature: '', row }] });
    return { body: JSON.parse(built.requests[0].body), prefix: built.prefix, promptTokens: built.requests[0].promptTokens };
  },
  batchFiles({ spec, header, items }) {
    return rowbatch.batchFiles({ spec, header, items });
  },
};

self.onmessage = async ({ data }) => {
  await ready;
  try {
    self.postMessage({ id: data.id, ok: ops[data.op](data.input) });
  } catch (e) {
    self.postMessage({ id: data.id, error: { message: e.message, code: e.code, data: e.data } });
  }
};
