use crate::codec::call;
use rowbatch_core::{estimate, ingest, price, provider, quota};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
export interface Reask { answer: string; problems: string[]; count: number }
export interface BuildInput {
  spec: JobSpec;
  /** The input block's header. */
  header: string[];
  items: { key: string; signature: string; row: Cell[]; reask?: Reask | null }[];
}
export interface Endpoint {
  url: string;
  /** How the host adds the key from Properties: "bearer" (Authorization: Bearer) or "x-api-key". */
  auth: "bearer" | "x-api-key";
  headers: [string, string][];
}
export interface ProviderRequest {
  key: string; signature: string;
  /** The exact JSON text to POST. */
  body: string;
  promptTokens: number; reserveTokens: number; reserveUsd: number; reasks: number;
}
export interface Built { endpoint: Endpoint; requests: ProviderRequest[]; prefix: PrefixReport }

export interface Usage { input: number; cachedInput: number; cacheWrite: number; output: number }
export interface Bucket { limit: number; available: number }
export interface Limiter {
  requests: Bucket; tokens: Bucket; outputTokens: Bucket | null; factor: number; at: number; lastSuccess: number;
  /** Prompt tokens per answered request as the provider counted them (moving average). */
  promptTokens?: number | null;
  /** What one place in a fetchAll lane takes (moving average). */
  laneMs?: number | null;
}
/** USD per million tokens; `model` is a prefix (it covers the dated snapshots). */
export interface Price {
  model: string; provider?: "openai" | "anthropic"; input: number; cachedInput: number; cacheWrite?: number | null;
  output: number; cacheMinTokens?: number | null; structuredOutputs?: boolean | null; date: string;
}
export interface PriceTable { batchDiscount: number; models: Price[] }
export interface Budget { maxUsd: number; spentUsd?: number; reservedUsd?: number }
export interface ProviderResponse {
  /** 0 when there was no HTTP response (network failure, timeout). */
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}
export interface IngestInput {
  spec: JobSpec;
  sent: { key: string; signature: string; attempt?: number; reasks?: number; reserveUsd?: number }[];
  responses: ProviderResponse[];
  now: number;
  /** From newSeed(): retry jitter is drawn from it. */
  seed: string;
  limiter?: Limiter | null;
  budget?: Budget | null;
  /** Answers from a provider Batch API: priced at the batch rate. */
  batch?: boolean;
  /** The day's quota use: the wave's requests are counted, or a refusal recorded. */
  day?: QuotaDay | null;
  /** How long the wave's fetchAll took: the limiter learns the lanes' pace. */
  waveMs?: number;
}
export interface Verdict { class: "transient" | "permanent" | "fatal" | "quota"; code: string; message: string }
export interface RowResult {
  key: string; signature: string;
  status: "done" | "reask" | "retry" | "failed" | "released";
  note: string; notBefore: number;
  cells: Cell[]; answer: Json | null; quality: Quality | null; findings: Finding[]; fixes: number;
  reask: Reask | null; httpStatus: number; code: string; usage: Usage; costUsd: number;
}
export interface Ingested {
  results: RowResult[];
  fatal: Verdict | null;
  /** Apps Script refused the wave for today: the rows are released; wait (see capacity().quota). */
  pause: Verdict | null;
  day: QuotaDay | null;
  usage: Usage; costUsd: number; limiter: Limiter; budget: Budget | null;
  counts: { done: number; reask: number; retry: number; failed: number; released: number };
}

export interface CapacityInput {
  spec: JobSpec; now: number; limiter?: Limiter | null; budget?: Budget | null; rowBytes?: number;
  /** For a Batch API submission: no rate limits, the reservation at the batch price. */
  batch?: boolean;
  /** The day's quota use: a wave never asks for more UrlFetch calls than are left today. */
  day?: QuotaDay | null;
}
export interface CapacityReport {
  capacity: { requests: number | null; tokens: number | null; usd: number | null };
  reserve: { tokens: number; usd: number };
  limiter: Limiter;
  quota: QuotaReport | null;
  /** For planWave. */
  timing: Timing;
}
export interface Timing {
  slowestRequestMs?: number; writeMs?: number; marginMs?: number; leaseMs?: number;
  /** Requests one fetchAll runs at once (0: all). */
  lanes?: number;
  /** What one place in a lane takes, as observed. */
  laneMs?: number;
}

/** What this script spent of Apps Script's daily quotas, by hour (kept in Script Properties). */
export interface QuotaDay {
  hours: { at: number; fetches?: number; triggerMs?: number }[];
  blockedUntil?: number;
}
export interface QuotaInput {
  spec: JobSpec; day?: QuotaDay | null; now: number;
  fetches?: number; triggerMs?: number;
  /** Started by a trigger: its runtime counts, and the slice ends before the day's runtime does. */
  trigger?: boolean;
}
export interface QuotaReport {
  day: QuotaDay; account: "consumer" | "workspace";
  quotas: { urlfetch: number; triggerRuntimeMs: number };
  fetchesLeft: number; triggerMsLeft: number;
  /** When this slice must end. */
  deadline: number;
  /** Set when the run must wait; `message` says why and until about when. */
  pauseUntil: number | null; message: string | null;
}

export interface EstimateInput {
  spec: JobSpec; header: string[]; rows: Cell[][];
  observed?: { rows: number; ms: number } | null;
  parallel?: number;
}
export interface Estimate {
  rows: number; prefix: PrefixReport; promptTokensPerRow: number; outputTokensPerRow: number;
  cost: { realtime: number; realtimeCached: number; batch: number; batchCached: number; priceDate: string } | null;
  eta: { rowsPerMinute: number; limitedBy: string; minutes: number; executions: number };
  /** Days of the account's daily quotas the job needs realtime (1 when it fits in one). */
  quotaDays: number;
  /** Executions worth running at once: bound by the provider's rate ("requests", "tokens"), the account's simultaneous executions ("platform") or the work ("rows"). */
  workers: { count: number; limitedBy: "requests" | "tokens" | "platform" | "rows" };
  warnings: string[];
}
"##;

/// Request bodies for a wave (and re-asks), with each one's token and dollar reservation.
#[wasm_bindgen(js_name = buildRequests, unchecked_return_type = "Built")]
pub fn build_requests(
    #[wasm_bindgen(unchecked_param_type = "BuildInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, provider::build_requests)
}

/// A wave's responses: results, re-asks, retries, failures, a fatal stop, usage, cost, limiter.
#[wasm_bindgen(js_name = ingest, unchecked_return_type = "Ingested")]
pub fn ingest(
    #[wasm_bindgen(unchecked_param_type = "IngestInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, ingest::ingest)
}

/// What the next wave may use: requests, tokens and budget headroom, and one row's worst case.
#[wasm_bindgen(js_name = capacity, unchecked_return_type = "CapacityReport")]
pub fn capacity(
    #[wasm_bindgen(unchecked_param_type = "CapacityInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, estimate::capacity)
}

/// Apps Script's daily quotas as this job spends them: what is left, when a slice must end,
/// and when a paused run may go on.
#[wasm_bindgen(js_name = quotaDay, unchecked_return_type = "QuotaReport")]
pub fn quota_day(
    #[wasm_bindgen(unchecked_param_type = "QuotaInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, quota::day)
}

/// The whole job before it starts: rows, tokens, cost (realtime/batch, cached or not), ETA.
#[wasm_bindgen(js_name = estimateJob, unchecked_return_type = "Estimate")]
pub fn estimate_job(
    #[wasm_bindgen(unchecked_param_type = "EstimateInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, estimate::estimate_job)
}

/// The built-in price table (the new-job form's model list).
#[wasm_bindgen(js_name = priceTable, unchecked_return_type = "PriceTable")]
pub fn price_table() -> Result<JsValue, JsValue> {
    call(JsValue::NULL, price::table_of)
}
