use crate::codec::call;
use rowbatch_core::{estimate, ingest, provider};
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
}
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
}
export interface Verdict { class: "transient" | "permanent" | "fatal"; code: string; message: string }
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
  usage: Usage; costUsd: number; limiter: Limiter; budget: Budget | null;
  counts: { done: number; reask: number; retry: number; failed: number; released: number };
}

export interface CapacityInput {
  spec: JobSpec; now: number; limiter?: Limiter | null; budget?: Budget | null; rowBytes?: number;
  /** For a Batch API submission: no rate limits, the reservation at the batch price. */
  batch?: boolean;
}
export interface CapacityReport {
  capacity: { requests: number | null; tokens: number | null; usd: number | null };
  reserve: { tokens: number; usd: number };
  limiter: Limiter;
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

/// The whole job before it starts: rows, tokens, cost (realtime/batch, cached or not), ETA.
#[wasm_bindgen(js_name = estimateJob, unchecked_return_type = "Estimate")]
pub fn estimate_job(
    #[wasm_bindgen(unchecked_param_type = "EstimateInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, estimate::estimate_job)
}
