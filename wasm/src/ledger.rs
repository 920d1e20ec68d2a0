use crate::codec::{call, encode};
use rowbatch_core::{keys, ledger, plan, reconcile, report, run_record};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
export interface LedgerColumns { output: string[]; progress: string[]; batches: string[] }

export interface KeyRowsInput { spec: JobSpec; header: string[]; rows: Cell[][]; firstRow?: number }
export interface Exclusion {
  sheetRow: number;
  reason: "blank" | "invalid" | "no_key" | "repeated_key" | "duplicate";
  cells: string[];
  message: string;
}
export interface DuplicateRows { signature: string; sheetRows: number[]; keys: string[]; cells: string[] }
export interface KeyedRows {
  firstRow: number;
  /** One per row; "" for rows that stand for no key. */
  keys: string[];
  signatures: string[];
  excluded: Exclusion[];
  duplicateGroups: DuplicateRows[];
}

/** A block of sheet rows and the sheet row of its first row (default 2). */
export interface Block { firstRow?: number; rows?: Cell[][] }
export interface RowWrite { row: number; values: Cell[] }

export interface PlanInput {
  spec: JobSpec;
  inputs: KeyedRows;
  /** The output sheet's first five columns (LedgerColumns.output). */
  outputs?: Block;
  progress?: Block;
  execution: string;
  /** ms since the epoch */
  now: number;
  /** ms by which this execution must have written its last wave */
  deadline: number;
  /** From capacity(): with the fetchAll lanes and their pace, a wave never outlasts its slice. */
  timing?: Timing;
  capacity?: { requests?: number; tokens?: number; usd?: number };
  reserve?: { tokens?: number; usd?: number };
  /** A Batch API submission: every due row the budget allows, leased for 26 hours. */
  batch?: boolean;
  /** At most this many rows. */
  maxRows?: number;
  /** Only these sheet rows, first to last ("Run selected rows"). */
  rows?: [number, number];
  /** Only the rows with these keys. */
  keys?: string[];
}
export interface SendRow {
  index: number; sheetRow: number; key: string; signature: string; attempt: number; replaceRow: number | null;
}
export interface PlanCounts {
  rows: number; done: number; stale: number; failed: number; duplicates: number; excluded: number;
  waiting: number; inFlight: number; due: number; sent: number; olderSpec: number;
  orphanOutputs: number; duplicateOutputs: number; unreadableOutputs: number;
}
export interface Plan {
  send: SendRow[];
  progressWrites: RowWrite[];
  marks: { row: number; status: "done" | "stale" }[];
  done: number[];
  stale: { sheetRow: number; key: string; outputRow: number }[];
  duplicates: { sheetRow: number; key: string; of: string }[];
  waiting: { sheetRow: number; key: string; until: number; attempts: number }[];
  inFlight: { sheetRow: number; key: string; by: string; until: number }[];
  failed: { sheetRow: number; key: string; reason: string }[];
  excluded: number[];
  counts: PlanCounts;
  reserved: { requests: number; tokens: number; usd: number };
  stop: "drained" | "waveSize" | "requests" | "tokens" | "budget" | "time";
  finished: boolean;
  nextAt: number | null;
}

export interface Outcome {
  key: string; signature: string; status: "done" | "retry" | "failed" | "released"; note?: string; notBefore?: number;
  /** What this attempt cost (its answer and re-asks); the progress row carries it to the next. */
  costUsd?: number;
}
export interface ReconcileInput {
  spec: JobSpec; results: Outcome[]; outputs?: Block; progress?: Block; execution: string; now: number;
}
export interface Reconciled {
  /** `costUsd`: the row's `_costUsd`, this attempt and the key's earlier ones. */
  outputWrites: { result: number; row: number; replaces: boolean; ledger: string[]; costUsd: number }[];
  progressWrites: RowWrite[];
  dropped: { result: number; key: string; reason: string }[];
  counts: { written: number; replaced: number; failed: number; retries: number; released: number; dropped: number };
}

export interface BatchInput {
  spec: JobSpec; id: string; startedAt: number; now: number; costUsd: number;
  counts: Partial<PlanCounts>; finished: boolean; stopped?: string | null;
}
export interface BatchRecord {
  header: string[]; cells: Cell[];
  status: "running" | "completed" | "completed_with_failures" | "stopped"; pending: number;
}

export interface ReportInput {
  spec: JobSpec;
  inputs: KeyedRows;
  /** The whole output sheet under its header, every column. */
  outputs?: Block;
  progress?: Block;
  run?: {
    id?: string; startedAt?: number; costUsd?: number; budgetUsd?: number | null; stopped?: string | null;
    /** The latest waits for daily quotas; earlier ones as a count and a total. */
    pauses?: Pause[]; earlierPauses?: number; earlierPausedMs?: number;
  } | null;
  now: number;
}
/** A wait for Apps Script's daily quotas. */
export interface Pause { at: number; until: number; reason: string }
export interface ReportReason { reason: string; rows: number; sheetRows: number[] }
export interface ReportSummary {
  job: string; spec: string; provider: string; model: string; run: string | null;
  status: "running" | "completed" | "completed_with_failures" | "stopped"; stopped: string | null;
  startedAt: string | null; generatedAt: string; elapsedS: number | null;
  counts: PlanCounts; pending: number;
  rowsCostUsd: number; runCostUsd: number | null; budgetUsd: number | null; costPerDoneRowUsd: number | null;
  quality: { scored: number; mean: number | null; min: number | null; bands: [number, number, number, number]; withWarnings: number };
  /** Answered rows by the attempt that answered them, first attempt first. */
  attempts: { attempt: number; rows: number }[];
  failures: ReportReason[]; excluded: ReportReason[]; duplicateGroups: number;
  pauses: Pause[]; pauseCount: number; pausedS: number;
}
export interface Report {
  summary: ReportSummary;
  markdown: string;
  /** One line per input row: sheet_row,key,status,quality,attempt,cost_usd,answered_at,note */
  csv: string;
  /** The Report sheet's rows: what, value, sheet rows. */
  table: [Cell, Cell, Cell][];
}
"##;

/// The header rows of the ledger columns, the progress sheet and the Batches sheet.
#[wasm_bindgen(js_name = ledgerColumns, unchecked_return_type = "LedgerColumns")]
pub fn ledger_columns() -> Result<JsValue, JsValue> {
    Ok(encode(&ledger::columns())?)
}

/// Keys, signatures, exclusions and duplicate groups of the input block (once per execution).
#[wasm_bindgen(js_name = keyRows, unchecked_return_type = "KeyedRows")]
pub fn key_rows(
    #[wasm_bindgen(unchecked_param_type = "KeyRowsInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, keys::key_rows)
}

/// The next wave: what to send and lease, and where every other row stands.
#[wasm_bindgen(js_name = planWave, unchecked_return_type = "Plan")]
pub fn plan_wave(
    #[wasm_bindgen(unchecked_param_type = "PlanInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, plan::plan_wave)
}

/// The writes for a wave's results against the ledger as it is now; duplicates dropped.
#[wasm_bindgen(js_name = reconcile, unchecked_return_type = "Reconciled")]
pub fn reconcile(
    #[wasm_bindgen(unchecked_param_type = "ReconcileInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, reconcile::reconcile)
}

/// The run's row in the Batches sheet.
#[wasm_bindgen(js_name = batchRecord, unchecked_return_type = "BatchRecord")]
pub fn batch_record(
    #[wasm_bindgen(unchecked_param_type = "BatchInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, run_record::batch_record)
}

/// The run report (JSON summary, Markdown, CSV and the Report sheet) from the sheets.
#[wasm_bindgen(js_name = report, unchecked_return_type = "Report")]
pub fn run_report(
    #[wasm_bindgen(unchecked_param_type = "ReportInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, report::report)
}
