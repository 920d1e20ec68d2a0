use crate::codec::call;
use rowbatch_core::signature;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
export interface SignRowInput {
  /** The row's values in spec order. */
  values: Cell[];
  /** Text that counts as empty (ASCII case ignored); default ["n/a", "na", "#n/a", "null"]. */
  nullTokens?: string[];
}
export interface SignedRow {
  /** The canonical form that was hashed: `["rowbatch.sig.v1", ...values]`. */
  canonical: string;
  /** `SIG_v1_` and 32 hex digits. */
  signature: string;
}
export interface SignRowsInput {
  /** The header row. */
  header: string[];
  /** The data rows under it, as `getValues()` returns them. */
  rows: Cell[][];
  /** The columns that make up a row's identity, in spec order; default: the whole header. */
  columns?: string[];
  nullTokens?: string[];
  /** Sheet row number of rows[0]; default 2. */
  firstRow?: number;
}
export interface DuplicateGroup {
  signature: string;
  /** Indices into `rows`; the first is the row that will be processed. */
  indices: number[];
  sheetRows: number[];
}
export interface SignRowsReport {
  signatures: string[];
  /** Rows whose identity columns are all empty. */
  blankRows: number[];
  duplicateGroups: DuplicateGroup[];
}
"##;

/// The canonical form and signature of one row.
#[wasm_bindgen(js_name = signRow, unchecked_return_type = "SignedRow")]
pub fn sign_row(
    #[wasm_bindgen(unchecked_param_type = "SignRowInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, signature::sign_row)
}

/// Signatures of a block of rows, with blank rows and duplicate groups.
#[wasm_bindgen(js_name = signRows, unchecked_return_type = "SignRowsReport")]
pub fn sign_rows(
    #[wasm_bindgen(unchecked_param_type = "SignRowsInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, signature::sign_rows)
}

/// Text as it must be written to a cell to stay this text (`core::cell::sheet_text`): every cell
/// the run writes goes through it in the core; exported for hosts that write cells of their own.
#[wasm_bindgen(js_name = sheetText)]
pub fn sheet_text(text: &str) -> String {
    rowbatch_core::cell::sheet_text(text)
}
