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

/** Instances made in this execution: 1, plus one for each trap recovered from. */
var ROWBATCH_INSTANCES_ = 0;

async function rowbatchAsync_() {
  if (ROWBATCH_ === null) {
    const started = Date.now();
    const module = await WebAssembly.compile(rowbatchBytes_());
    await wasm_bindgen({ module_or_path: module });
    ROWBATCH_STARTUP_MS_ = Date.now() - started;
    ROWBATCH_ = rowbatchApi_(module);
  }
  return ROWBATCH_;
}

function rowbatchSync_() {
  if (ROWBATCH_ === null) {
    const started = Date.now();
    const module = new WebAssembly.Module(rowbatchBytes_());
    wasm_bindgen.initSync({ module: module });
    ROWBATCH_STARTUP_MS_ = Date.now() - started;
    ROWBATCH_ = rowbatchApi_(module);
  }
  return ROWBATCH_;
}

/**
 * The API object: every export, forwarded to the current instance. When a call traps
 * (WebAssembly.RuntimeError: a panic in the core, which aborts), that call throws and the
 * instance is replaced by a fresh one from the same compiled module before the next call, so
 * one bad row cannot poison the rest of the execution.
 */
function rowbatchApi_(module) {
  ROWBATCH_INSTANCES_ = 1;
  ROWBATCH_MODULE_ = module;
  var api = {};
  Object.keys(wasm_bindgen).forEach(function (name) {
    if (typeof wasm_bindgen[name] !== 'function' || name === 'initSync') return;
    // A class (the run's Driver): made on the current instance; a trap in one of its methods
    // is the caller's to recover from (rowbatchRecover_), as it holds the object.
    if (/^[A-Z]/.test(name)) {
      api[name] = function (arg) { return new wasm_bindgen[name](arg); };
      return;
    }
    api[name] = function () {
      try {
        return wasm_bindgen[name].apply(null, arguments);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          rowbatchRecover_(e, name);
          var err = new Error('rowbatch: ' + name + ' failed inside the module (' + e.message + '); the module was restarted');
          err.code = 'trapped';
          throw err;
        }
        throw e;
      }
    };
  });
  return api;
}

var ROWBATCH_MODULE_ = null;

/** Replaces a trapped instance with a fresh one from the same compiled module. */
function rowbatchRecover_(e, where) {
  wasm_bindgen = rowbatchGlue_();
  wasm_bindgen.initSync({ module: ROWBATCH_MODULE_ });
  ROWBATCH_INSTANCES_ += 1;
  console.log('rowbatch: the module trapped in ' + where + ' (' + e.message + '); a fresh instance replaces it');
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
