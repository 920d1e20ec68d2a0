use crate::codec::call;
use rowbatch_core::batchapi;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
export interface BatchFilesInput {
  spec: JobSpec;
  header: string[];
  items: { key: string; signature: string; attempt?: number; row: Cell[] }[];
  maxLines?: number;
  maxBytes?: number;
}
export interface BatchPart {
  /** OpenAI: the JSONL file to upload. Anthropic: the JSON body of the batch request. */
  body: string;
  lines: number; bytes: number; resultBytes: number; reserveUsd: number; keys: string[];
}
export interface BatchFiles { parts: BatchPart[]; maxLines: number; maxBytes: number; maxResultLineBytes: number }

export interface BatchCallInput {
  spec: JobSpec;
  op: "upload" | "create" | "status" | "cancel" | "download";
  id?: string; file?: string; body?: string; label?: string;
}
export interface BatchCall {
  method: "GET" | "POST";
  url: string;
  auth: "bearer" | "x-api-key";
  headers: [string, string][];
  body: string | null;
  /** Upload: multipart text fields; the part's body goes in the file field `file`. */
  form: [string, string][] | null;
  fileName: string | null;
}

export type BatchStateName = "submitted" | "validating" | "in_progress" | "finalizing" | "completed" | "failed" |
  "expired" | "cancelling" | "cancelled";
export interface BatchState {
  id: string; state: BatchStateName; providerStatus: string; isFinal: boolean;
  /** OpenAI: output and error file ids; Anthropic: the results URL. */
  results: string[];
  total: number; succeeded: number; failed: number; message: string;
}

export interface BatchResultsInput {
  spec: JobSpec;
  /** Result lines (JSONL), a whole file or a slice, in any order. */
  text: string;
  inputs: KeyedRows;
  now: number;
  seed: string;
  /** On the last slice: the batch's rows without a line are released. */
  last?: { holder: string; progress?: Block; reason?: string } | null;
  /** The batch's lease holder and this slice's progress block: lines for rows the batch no
   * longer holds are not ingested again. */
  lease?: { holder: string; progress?: Block } | null;
  budget?: Budget | null;
}
export interface BatchResults {
  results: RowResult[];
  attempts: number[];
  lines: number;
  unmatched: { line: number; customId: string; reason: string }[];
  costUsd: number;
  budget: Budget | null;
}
"##;

/// A Batch API submission's files, split under the provider's limits and UrlFetch's 50 MB.
#[wasm_bindgen(js_name = batchFiles, unchecked_return_type = "BatchFiles")]
pub fn batch_files(
    #[wasm_bindgen(unchecked_param_type = "BatchFilesInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, batchapi::files)
}

/// One HTTP call of the batch protocol (the host adds the key).
#[wasm_bindgen(js_name = batchCall, unchecked_return_type = "BatchCall")]
pub fn batch_call(
    #[wasm_bindgen(unchecked_param_type = "BatchCallInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, batchapi::call)
}

/// A provider's batch object in one state vocabulary.
#[wasm_bindgen(js_name = batchState, unchecked_return_type = "BatchState")]
pub fn batch_state(
    #[wasm_bindgen(unchecked_param_type = "{ spec: JobSpec; body: string }")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, batchapi::state)
}

/// Result lines as the realtime path's results, matched to rows by custom_id.
#[wasm_bindgen(js_name = batchResults, unchecked_return_type = "BatchResults")]
pub fn batch_results(
    #[wasm_bindgen(unchecked_param_type = "BatchResultsInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, batchapi::results)
}
