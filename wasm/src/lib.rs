//! rowbatch-wasm: the core, callable from JavaScript.
//!
//! Every export is one line: decode the argument, call the core, encode the result — through
//! [`codec::call`], the one shared (de)serializer. Nothing is decided here.

mod batch;
mod codec;
mod error;
mod ledger;
mod provider;
mod run;
mod signature;
mod validation;

use wasm_bindgen::prelude::*;

pub use error::ApiError;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const TS_COMMON: &'static str = r##"
/** A spreadsheet cell as `getValues()` yields it (dates already turned into ISO text). */
export type Cell = string | number | boolean | null;

/** One thing wrong with an input, located by its JSON path. */
export interface Problem { path: string; expected: string; found?: string }

/** Every function throws this: branch on `code`, show `message`, point at `data`. */
export interface RowbatchError extends Error {
  name: "RowbatchError";
  /** Stable machine code: "invalid_input", "encode_failed", "random_unavailable". */
  code: string;
  /** For "invalid_input": every problem found. */
  data?: Problem[];
}

export interface VersionInfo { core: string; signatureVersion: number }
"##;

/// Versions of the core and of the canonical form, for run reports.
#[wasm_bindgen(js_name = version, unchecked_return_type = "VersionInfo")]
pub fn version() -> Result<JsValue, JsValue> {
    Ok(codec::encode(&rowbatch_core::Versions::current())?)
}

/// 128 fresh random bits as 32 hex digits: the seed hosts pass to the core (jitter, ids), since
/// the core itself holds no randomness.
#[wasm_bindgen(js_name = newSeed)]
pub fn new_seed() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
