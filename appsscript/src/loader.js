/*
 * Loads the rowbatch module. Every execution (menu click, trigger, web request) starts from
 * scratch, so this runs once per execution and the instance is kept in ROWBATCH_ for the rest
 * of it. Two paths, because Apps Script documents only one of them:
 *   rowbatchAsync_() - WebAssembly.instantiate (what Google's own wasm sample uses);
 *   rowbatchSync_()  - initSync / new WebAssembly.Module, for entry points that cannot await.
 * Both return the API object: rowbatchAsync_().then(function (rb) { rb.signRows(...) }).
 */
var ROWBATCH_ = null;
var ROWBATCH_STARTUP_MS_ = null;

/** The embedded module as bytes (Utilities.base64Decode gives signed bytes; Uint8Array wraps them). */
function rowbatchBytes_() {
  if (typeof Utilities !== 'undefined' && Utilities.base64Decode) {
    return new Uint8Array(Utilities.base64Decode(ROWBATCH_WASM_BASE64_));
  }
  throw new Error('rowbatch: Utilities.base64Decode is not available to decode the module');
}

async function rowbatchAsync_() {
  if (ROWBATCH_ === null) {
    const started = Date.now();
    await wasm_bindgen({ module_or_path: rowbatchBytes_() });
    ROWBATCH_STARTUP_MS_ = Date.now() - started;
    ROWBATCH_ = wasm_bindgen;
  }
  return ROWBATCH_;
}

function rowbatchSync_() {
  if (ROWBATCH_ === null) {
    const started = Date.now();
    wasm_bindgen.initSync({ module: rowbatchBytes_() });
    ROWBATCH_STARTUP_MS_ = Date.now() - started;
    ROWBATCH_ = wasm_bindgen;
  }
  return ROWBATCH_;
}

/**
 * Run this once from the Apps Script editor after a push: it loads the module the async way and
 * signs two rows that differ only in spacing and in how the number is typed, which must come out
 * as one duplicate group. Logs and returns the summary.
 */
async function rowbatchSelfTest() {
  const rb = await rowbatchAsync_();
  const report = rb.signRows({
    header: ['Title', 'Age'],
    rows: [['Chest pain', 54], ['  Chest   pain ', '54']],
  });
  const summary = {
    versions: rb.version(),
    startupMs: ROWBATCH_STARTUP_MS_,
    duplicatesFound: report.duplicateGroups.length,
    ok: report.duplicateGroups.length === 1,
  };
  console.log(JSON.stringify(summary));
  return summary;
}
