use crate::codec::{decode, encode};
use crate::error::ApiError;
use rowbatch_core::run::{Event, Run, Start, replay};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = r##"
export interface Start {
  flow: "run" | "continue" | "resume" | "heartbeat" | "stop" | "retryFailed" | "status" | "report" | "submitBatch" | "pollBatches" | "cancelBatches" | "checkKey" | "dryRun" | "work" | "batchFile";
  /** ms since the epoch */
  now: number;
  /** newSeed(): the run's ids and retry jitter come from it. */
  seed: string;
  /** Started by a trigger (its runtime counts against the day's quota). */
  trigger?: boolean;
  /** `run`, `dryRun`: only these sheet rows, first to last. */
  rows?: [number, number];
  /** `run`, `dryRun`: only the rows with these keys. */
  keys?: string[];
  /** `run`, `dryRun`: at most this many rows, the first that are due. */
  limit?: number;
  /** The script is deployed as a web app: the run's slices may start workers (`work`). */
  fanOut?: boolean;
  /** `batchFile`: the provider's batch id. */
  batch?: string;
}
/** One command for the host; see core/src/run/protocol.rs for each op's fields and result. */
export interface Command { op: string; [field: string]: unknown }
/** The clock after the last command, and one result per command (null when it returns nothing). */
export interface Event { now: number; results: unknown[] }
export interface Recorded { start: Start; events: Event[] }
"##;

/// Replays a recorded execution: the commands of every step (golden vectors, bug reports).
#[wasm_bindgen(js_name = replayRun, unchecked_return_type = "Command[][]")]
pub fn replay_run(
    #[wasm_bindgen(unchecked_param_type = "Recorded")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let steps = replay(decode(input)?).map_err(ApiError::from)?;
    Ok(encode(&steps)?)
}

/// One execution's run: the host performs its commands and reports what they returned. The
/// compiled job and the keyed rows stay inside for the whole execution.
#[wasm_bindgen]
pub struct Driver {
    run: Run,
}

#[wasm_bindgen]
impl Driver {
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "Start")] start: JsValue) -> Result<Driver, JsValue> {
        let start: Start = decode(start)?;
        Ok(Driver { run: Run::new(start).map_err(ApiError::from)? })
    }

    /// The first commands.
    #[wasm_bindgen(unchecked_return_type = "Command[]")]
    pub fn begin(&mut self) -> Result<JsValue, JsValue> {
        Ok(encode(&self.run.begin())?)
    }

    /// The next commands, from what the last ones returned.
    #[wasm_bindgen(unchecked_return_type = "Command[]")]
    pub fn step(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Event")] event: JsValue,
    ) -> Result<JsValue, JsValue> {
        let event: Event = decode(event)?;
        Ok(encode(&self.run.step(event).map_err(ApiError::from)?)?)
    }
}
