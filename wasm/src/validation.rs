use crate::codec::call;
use rowbatch_core::{form, quality, validate};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
/** A job spec as JSON (see the examples folder and core/src/spec.schema.json). */
export type JobSpec = Record<string, unknown>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Fix { from: Json; to: Json; reason: string }
export interface Finding {
  row?: number;
  /** `Age`, `initialVitals.HR`, `states[1].vitals.BP`; "" for the whole value. */
  path: string;
  /** A1 name of the input cell. */
  cell?: string;
  code: string;
  severity: "error" | "warning";
  message: string;
  fix?: Fix;
}
export interface Quality {
  score: number; completeness: number; filled: number; expected: number;
  errors: number; warnings: number; penalty: number;
}
export interface Tally { expected: number; filled: number; errors: number; warnings: number }

export interface SpecInput { spec: JobSpec }
export interface SpecReport {
  name: string; columns: string[]; key: string | null; identity: string[];
  /** `SPEC_` and 16 hex digits: changes with anything that shapes an answer. */
  version: string;
  /** The strict form answers are validated against. */
  outputSchema: Json;
  /** What the provider is sent, in its own strict subset; null when the prompt alone asks for JSON. */
  providerSchema: Json | null;
  /** The constraints the provider's subset cannot carry, in words (enforced locally, said in the prompt). */
  leftToValidation: string[];
  /** The output sheet's header: _key, _signature, _spec, _status, _note, the answer's fields, _quality, _warnings, _attempt, _costUsd, _answeredAt. */
  outputColumns: string[];
  prompt: PrefixReport;
  /** limits.timeSliceSeconds with its default (300) applied, in ms. */
  timeSliceMs: number;
  /** Rows a sheet grows by when a write would pass its last row. */
  gridStepRows: number;
}
export interface PrefixReport {
  chars: number; tokens: number; cacheMinTokens: number | null; cacheable: boolean; warning: string | null;
}

export interface RowsInput { spec: JobSpec; header: string[]; rows: Cell[][]; firstRow?: number }
export interface RowReport { index: number; sheetRow: number; findings: Finding[]; quality: Quality }
export interface RowsSummary {
  rows: number; blank: number; valid: number; withErrors: number; errors: number; warnings: number; fixable: number;
}
export interface RowsReport { header: Finding[]; rows: RowReport[]; blankRows: number[]; summary: RowsSummary }

export interface AnswerInput { spec: JobSpec; answer: Json }
export interface AnswerReport { valid: boolean; findings: Finding[]; quality: Quality }

export interface AppliedFix extends Fix { row?: number; cell?: string; path: string; code: string }
export interface FixedRows { rows: Cell[][]; applied: AppliedFix[]; report: RowsReport }
/** A field of the new-job form; `min`/`max` bound the value (numbers), the length (text) or the count (lists). */
export interface FormField {
  name: string;
  type: "text" | "number" | "wholeNumber" | "yesNo" | "oneOf" | "listOf" | "object" | "shared";
  required?: boolean; nullable?: boolean; description?: string;
  min?: number; max?: number; pattern?: string;
  options?: Json[]; item?: FormField; fields?: FormField[]; closed?: boolean; shared?: string;
}
/** The new-job form: the spec without its two schemas, the input columns and the answer's fields. */
export interface JobForm {
  spec: JobSpec; columns: FormField[]; fields: FormField[];
  types?: { name: string; fields: FormField[]; closed?: boolean }[]; closed?: boolean;
}
export interface ReviewInput { form?: JobForm; spec?: JobSpec; header: string[]; row?: Cell[]; rows?: number }
export interface JobReview {
  spec: JobSpec; problems: Problem[]; request: Json | null;
  cost: { row: number; rows: number; batch: number } | null; note: string | null;
}
export interface FixedAnswer { answer: Json; applied: AppliedFix[]; report: AnswerReport }
"##;

/// Checks a job spec; throws one `invalid_input` error listing every problem.
#[wasm_bindgen(js_name = checkSpec, unchecked_return_type = "SpecReport")]
pub fn check_spec(
    #[wasm_bindgen(unchecked_param_type = "SpecInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, validate::check_spec)
}

/// Validates input rows against the spec: findings per row with their A1 cells, and scores.
#[wasm_bindgen(js_name = validateRows, unchecked_return_type = "RowsReport")]
pub fn validate_rows(
    #[wasm_bindgen(unchecked_param_type = "RowsInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, validate::validate_rows)
}

/// Validates one model answer (parsed, or its text) against the spec's output schema and rules.
#[wasm_bindgen(js_name = validateAnswer, unchecked_return_type = "AnswerReport")]
pub fn validate_answer(
    #[wasm_bindgen(unchecked_param_type = "AnswerInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, validate::validate_answer)
}

/// Applies every proposed fix to the rows; returns them, each fix applied, and what is left.
#[wasm_bindgen(js_name = fixRows, unchecked_return_type = "FixedRows")]
pub fn fix_rows(
    #[wasm_bindgen(unchecked_param_type = "RowsInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, validate::fix_rows)
}

/// Applies every proposed fix to an answer; returns it, each fix applied, and what is left.
#[wasm_bindgen(js_name = fixAnswer, unchecked_return_type = "FixedAnswer")]
pub fn fix_answer(
    #[wasm_bindgen(unchecked_param_type = "AnswerInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, validate::fix_answer)
}

/// The quality score for a tally of fields and findings (the formula in core/src/quality.rs).
#[wasm_bindgen(js_name = score, unchecked_return_type = "Quality")]
pub fn score(#[wasm_bindgen(unchecked_param_type = "Tally")] input: JsValue) -> Result<JsValue, JsValue> {
    call(input, |t| Ok(quality::score(t)))
}

/// The new-job form for a spec; throws `invalid_input` naming every place the form cannot show.
#[wasm_bindgen(js_name = formFromSpec, unchecked_return_type = "JobForm")]
pub fn form_from_spec(
    #[wasm_bindgen(unchecked_param_type = "SpecInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, form::form_of)
}

/// The form's spec checked, with the selected row's request and cost: one call per edit.
#[wasm_bindgen(js_name = reviewJob, unchecked_return_type = "JobReview")]
pub fn review_job(
    #[wasm_bindgen(unchecked_param_type = "ReviewInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    call(input, form::review)
}
